import { EventEmitter } from 'node:events';
import { errorText } from '../errors';
import { firstPeriodMs } from '../time/periodic-spread';
import type { SystemInfo } from './types';

/**
 * What the package knows of a camera's reachability:
 * - `unknown`: not probed yet;
 * - `online`: the last probe answered;
 * - `restarting`: we know it is restarting (a settings write or a reboot was sent) and wait for it;
 * - `offline`: probes fail (and no restart is expected, or the expected restart took too long).
 */
export type CameraState = 'unknown' | 'online' | 'offline' | 'restarting';

export interface HealthSnapshot {
  readonly state: CameraState;
  /** When the state last changed (ISO). */
  readonly since: string;
  readonly serialNumber?: string;
  readonly name?: string;
  readonly softwareVersion?: string;
  readonly uptime?: number;
  /** Last successful probe (ISO). */
  readonly lastSeen?: string;
  readonly lastError?: string;
  /** The last system info read (secrets never appear there). */
  readonly info?: SystemInfo;
}

/** One change, as told to subscribers. `rebooted` is set when the uptime went down (with or without an offline gap). */
export interface HealthChange {
  readonly state: CameraState;
  readonly previous: CameraState;
  readonly rebooted: boolean;
  readonly at: string;
  readonly snapshot: HealthSnapshot;
}

export interface CameraHealthOptions {
  /** Probe interval (ms). */
  intervalMs: number;
  /** Failed probes in a row before the camera counts as offline (default 1: offline within two intervals). */
  failuresBeforeOffline?: number;
  /** How long an announced restart may take before the camera counts as offline (ms, default 120 000). */
  restartGraceMs?: number;
  /**
   * After an announced restart, a camera that answers without having gone away and without a lower uptime is
   * taken as back (it did not restart) once this long has passed (ms, default 15 000).
   */
  restartSettleMs?: number;
  now?: () => Date;
  /** Random numbers in [0, 1) for the spread of the first period (default Math.random). */
  random?: () => number;
}

/**
 * Probes a camera on an interval and keeps its state. It never throws into the caller: probe failures become
 * state. Emits `change` (HealthChange) on every state change and on a reboot.
 */
export class CameraHealth extends EventEmitter<{ change: [HealthChange] }> {
  private current: HealthSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<HealthSnapshot> | undefined;
  private failures = 0;
  private restartDeadline: number | undefined;
  private restartAnnouncedAt: number | undefined;
  private wentAwaySinceAnnounce = false;
  private stateBeforeRestart: CameraState = 'unknown';
  private stopped = true;
  /** The next regular wait is the first since start (spread over the period's second half). */
  private firstPeriod = true;
  private readonly now: () => Date;

  constructor(
    private readonly probe: (signal: AbortSignal) => Promise<SystemInfo>,
    private readonly options: CameraHealthOptions,
  ) {
    super();
    this.now = options.now ?? (() => new Date());
    this.current = { state: 'unknown', since: this.now().toISOString() };
  }

  get snapshot(): HealthSnapshot {
    return this.current;
  }

  get state(): CameraState {
    return this.current.state;
  }

  /** Starts probing (first probe at once). Idempotent. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.firstPeriod = true;
    this.schedule(0);
  }

  /** Stops probing and aborts a probe in flight. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
  }

  /** Probes now (sharing a probe already in flight) and resolves with the resulting snapshot. */
  probeNow(): Promise<HealthSnapshot> {
    this.inFlight ??= this.runProbe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Tells that the camera is about to restart (settings write, reboot, reset): failures during the next
   * `graceMs` mean `restarting`, not `offline`, and probes run faster until it is back.
   */
  expectRestart(graceMs = this.options.restartGraceMs ?? 120_000): void {
    const now = this.now().getTime();
    if (this.current.state !== 'restarting') this.stateBeforeRestart = this.current.state;
    this.restartDeadline = now + graceMs;
    this.restartAnnouncedAt = now;
    this.wentAwaySinceAnnounce = false;
    this.transition('restarting', {});
    if (!this.stopped) this.schedule(this.fastInterval());
  }

  /**
   * Withdraws an announced restart that will not happen (the camera refused the request, or it never reached
   * the camera): the state goes back to what it was before the announcement.
   */
  cancelRestart(): void {
    if (this.restartAnnouncedAt === undefined) return;
    this.restartDeadline = undefined;
    this.restartAnnouncedAt = undefined;
    if (this.current.state === 'restarting') this.transition(this.stateBeforeRestart, {});
  }

  /**
   * Resolves once the camera is in `state` (probing quickly meanwhile), or rejects after `timeoutMs`.
   * Used after a settings write or a reboot to wait for the camera's return.
   */
  waitFor(state: CameraState, timeoutMs: number, signal?: AbortSignal): Promise<HealthSnapshot> {
    if (this.current.state === state && state !== 'restarting') return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('change', onChange);
        signal?.removeEventListener('abort', onAbort);
      };
      const onChange = (change: HealthChange): void => {
        if (change.state === state) {
          cleanup();
          resolve(change.snapshot);
        }
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`the camera was not ${state} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      // Probe faster than the configured interval while someone waits.
      const poll = setInterval(() => void this.probeNow(), this.fastInterval());
      this.on('change', onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private abort: AbortController | undefined;

  private fastInterval(): number {
    return Math.max(250, Math.min(2000, this.options.intervalMs / 4));
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probeNow().finally(() => {
        if (this.stopped) return;
        const waitingForRestart = this.current.state === 'restarting';
        if (waitingForRestart) return this.schedule(this.fastInterval());
        const first = this.firstPeriod;
        this.firstPeriod = false;
        this.schedule(
          first ? firstPeriodMs(this.options.intervalMs, this.options.random) : this.options.intervalMs,
        );
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async runProbe(): Promise<HealthSnapshot> {
    const abort = new AbortController();
    this.abort = abort;
    const timeout = setTimeout(
      () => abort.abort(new Error('probe timed out')),
      Math.max(1000, this.options.intervalMs),
    );
    try {
      const info = await this.probe(abort.signal);
      this.onSuccess(info);
    } catch (err) {
      if (!this.stopped) this.onFailure(err);
    } finally {
      clearTimeout(timeout);
      if (this.abort === abort) this.abort = undefined;
    }
    return this.current;
  }

  private onSuccess(info: SystemInfo): void {
    this.failures = 0;
    const rebooted = this.uptimeWentBack(info.uptime);
    if (this.current.state === 'restarting' && this.restartAnnouncedAt !== undefined) {
      const settled =
        this.now().getTime() - this.restartAnnouncedAt >= (this.options.restartSettleMs ?? 15_000);
      if (!rebooted && !this.wentAwaySinceAnnounce && !settled) {
        // Still answering from before the restart: keep waiting for it to go away and come back.
        this.current = { ...this.current, uptime: info.uptime, lastSeen: this.now().toISOString() };
        return;
      }
    }
    this.restartDeadline = undefined;
    this.restartAnnouncedAt = undefined;
    this.transition(
      'online',
      {
        serialNumber: info.serialNumber,
        name: info.name,
        softwareVersion: info.softwareVersion,
        uptime: info.uptime,
        lastSeen: this.now().toISOString(),
        lastError: undefined,
        info,
      },
      rebooted,
    );
  }

  /**
   * Whether the camera restarted since it was last seen: its uptime is below the last one plus the time
   * since (2 s of slack for rounding), which also catches a reboot hidden in a long offline gap.
   */
  private uptimeWentBack(uptime: number): boolean {
    const { uptime: previous, lastSeen } = this.current;
    if (previous === undefined || lastSeen === undefined) return false;
    const elapsedSeconds = Math.max(0, (this.now().getTime() - Date.parse(lastSeen)) / 1000);
    return uptime < previous || uptime + 2 < previous + elapsedSeconds;
  }

  private onFailure(err: unknown): void {
    this.failures++;
    this.wentAwaySinceAnnounce = true;
    const lastError = errorText(err);
    const restarting = this.restartDeadline !== undefined && this.now().getTime() < this.restartDeadline;
    if (restarting) {
      this.transition('restarting', { lastError });
    } else if (this.failures >= (this.options.failuresBeforeOffline ?? 1)) {
      this.restartDeadline = undefined;
      this.transition('offline', { lastError });
    } else {
      this.current = { ...this.current, lastError };
    }
  }

  private transition(state: CameraState, fields: Partial<HealthSnapshot>, rebooted = false): void {
    const previous = this.current.state;
    const at = this.now().toISOString();
    const changed = previous !== state;
    this.current = { ...this.current, ...fields, state, since: changed ? at : this.current.since };
    if (changed || rebooted) {
      this.emit('change', { state, previous, rebooted, at, snapshot: this.current });
    }
  }
}
