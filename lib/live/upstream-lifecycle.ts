/**
 * The lifecycle every live relay (MJPEG, fMP4) shares for its one upstream: opened when the first viewer comes,
 * closed `idleCloseMs` after the last one left, reopened with backoff when it drops, and the state that goes
 * with it (`connecting`, `live`, `reconnecting`, `offline`, `idle`). The relay gives the one thing that differs,
 * a session: open the upstream once and read it to its end.
 */
import type { EventEmitter } from 'node:events';
import { backoffDelay, sleepUnless, type BackoffOptions, type LiveState } from './live-state';

/**
 * One upstream connection, read to its end (or until `signal` aborts). Calls `onLive` when the first frame or
 * fragment arrives; resolves true when one did. A rejection counts as a failed attempt.
 */
export type UpstreamSession = (signal: AbortSignal, onLive: () => void) => Promise<boolean>;

export interface UpstreamLifecycleOptions {
  /** How long the upstream stays open after the last viewer left (ms). */
  idleCloseMs: number;
  reconnect: BackoffOptions;
  /** Failed attempts in a row after which the state says `offline`. */
  offlineAfterFailures: number;
}

/**
 * Where the lifecycle reports: `relay` emits `state` (each change) and `upstream-closed` (a run of sessions
 * ended: stopped after the idle time, or closed); `onState` (optional) hears each change first.
 */
export interface UpstreamLifecycleHooks {
  relay: EventEmitter;
  onState?(state: LiveState): void;
}

export class UpstreamLifecycle {
  private current: LiveState = 'idle';
  private running: AbortController | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: UpstreamLifecycleOptions,
    private readonly session: UpstreamSession,
    private readonly hooks: UpstreamLifecycleHooks,
  ) {}

  get state(): LiveState {
    return this.current;
  }

  /** A viewer is there: the idle close is cancelled and the upstream opened if it is not. */
  want(): void {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.running) this.start();
  }

  /** The last viewer left: the upstream closes after the idle time unless `stillIdle()` is false by then. */
  release(stillIdle: () => boolean): void {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (stillIdle()) this.stop();
    }, this.options.idleCloseMs);
    this.idleTimer.unref();
  }

  /** Stops for good (the upstream is aborted, the state goes back to `idle`); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.stop();
    this.setState('idle');
  }

  private stop(): void {
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.abort();
  }

  private setState(state: LiveState): void {
    if (state === this.current) return;
    this.current = state;
    this.hooks.onState?.(state);
    this.hooks.relay.emit('state', state);
  }

  private start(): void {
    const controller = new AbortController();
    this.running = controller;
    void this.run(controller.signal).finally(() => {
      if (this.running === controller) this.running = undefined;
      if (!this.closed && this.running === undefined) this.setState('idle');
      this.hooks.relay.emit('upstream-closed');
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let everLive = false;
    while (!signal.aborted) {
      this.setState(
        failures >= this.options.offlineAfterFailures
          ? 'offline'
          : everLive || failures > 0
            ? 'reconnecting'
            : 'connecting',
      );
      let delivered = false;
      try {
        delivered = await this.session(signal, () => {
          everLive = true;
          failures = 0;
          this.setState('live');
        });
      } catch {
        // the camera could not be reached, answered badly, ffmpeg failed to start: retried below
      }
      if (signal.aborted) break;
      if (!delivered) failures++;
      await sleepUnless(backoffDelay(Math.max(1, failures), this.options.reconnect), signal);
    }
  }
}
