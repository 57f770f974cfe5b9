/**
 * Discovery of new recordings on one camera: the camera's SSE feed for speed, plus a `GET /api/events`
 * reconciliation at an interval and after every (re)connect, for completeness (SSE may drop or be missing; the
 * list is the truth). Every recording seen goes through the store's `INSERT OR IGNORE`; only a recording whose
 * row was just created is announced, so the store's rows are the cursor: a restart, a redeploy or a second
 * watcher never announces a recording twice and never skips one. Identity is (camera serial number, file name).
 */
import { EventEmitter } from 'node:events';
import type { CameraApi, RejectedEntry, ValidCameraEvent } from '../camera/camera-api';
import type { SystemInfo } from '../camera/types';
import { errorText } from '../errors';
import { metrics as processMetrics, type Metrics } from '../metrics/metrics';
import { firstPeriodMs } from '../time/periodic-spread';
import type { NewRecordingPayload } from './messages';
import type { EventStore } from '../store/event-store';
import type { WatchOptions } from './options';

/** What the watcher needs of the event store (`EventStore` has it). */
export type DiscoveryStore = Pick<EventStore, 'recordDiscovered' | 'recordDiscoveredMany' | 'upsertCamera'>;

/** The camera as the watcher identified it. */
export interface DiscoveredCamera {
  serialNumber: string;
  name: string;
  /** The camera's IANA time zone (for trigger times without an offset). */
  timezone: string | undefined;
  baseUrl: string;
  info: SystemInfo | undefined;
}

export type WatcherState =
  /** Not identified yet (the camera did not answer). */
  | 'connecting'
  /** Identified; the SSE feed is connected. */
  | 'live'
  /** Identified; polling only (no SSE feed, SSE switched off, or the feed is down). */
  | 'polling'
  /** The last identification or reconciliation failed. */
  | 'offline'
  | 'stopped';

export interface WatcherStatus {
  state: WatcherState;
  serialNumber: string | undefined;
  /** Recordings announced since start. */
  announced: number;
  lastError: string | undefined;
  /** When the list was last reconciled successfully (ISO). */
  lastReconciled: string | undefined;
}

export interface WatcherEvents {
  /** A recording seen for the first time by the store. */
  recording: [NewRecordingPayload];
  status: [WatcherStatus];
  /** A failure worth reporting (the watcher carries on by itself). */
  error: [Error];
  /** A camera entry refused by the client (hostile or malformed). */
  rejected: [RejectedEntry];
  /**
   * A reconciliation ended (successfully or not). `unchanged`: the camera's list was byte for byte the one of
   * the previous reconciliation, so it was neither parsed nor given to the store.
   */
  reconciled: [{ ok: boolean; listed: number; announced: number; unchanged?: boolean }];
  /**
   * The camera's list (or its identity) could not be read: malformed, stalled, refused. Rate-limited for the
   * log: the first failure of an outage at once, then at most one per `problemIntervalMs`, with the count of
   * failures not reported since.
   */
  listProblem: [{ error: string; suppressed: number }];
}

export interface WatcherDeps {
  client: CameraApi;
  store: DiscoveryStore;
  options: WatchOptions;
  /** The display name (node name) to use instead of the camera's own name. */
  displayName?: () => string | undefined;
  /** How many file names the watcher remembers as held by the store (default `KNOWN_LIMIT`). */
  knownLimit?: number;
  /** The least time between two `listProblem` reports (default `PROBLEM_INTERVAL_MS`). */
  problemIntervalMs?: number;
  /** Where discovery latencies go (default: the process's metrics). */
  metrics?: Pick<Metrics, 'recordingDiscovered'>;
  /** Random numbers in [0, 1) for the spread of the first period (default Math.random). */
  random?: () => number;
}

/** At most one report of a failing list per camera in this time. */
export const PROBLEM_INTERVAL_MS = 5 * 60 * 1000;

/**
 * File names remembered as already in the store, newest last: a cache in front of the store (which is the
 * truth), so bounded. The recordings a camera lists again and again are its newest; older ones that fell out
 * cost one batched lookup in the store when the list changes.
 */
export const KNOWN_LIMIT = 5000;

/** Watches one camera. `start()` begins; `stop()` ends (idempotent). */
export class CameraWatcher extends EventEmitter<WatcherEvents> {
  private camera: DiscoveredCamera | undefined;
  /**
   * File names the store already holds for the current serial (saves a store lookup per listed recording), in
   * the order they were last seen, at most `knownLimit`.
   */
  private known = new Set<string>();
  private readonly knownLimit: number;
  /** The digest and size of the last list fully recorded in the store (for the current serial). */
  private lastList: { digest: string; listed: number } | undefined;
  /** Entries already reported as refused. */
  private readonly refused = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private feed: { connected: boolean; close(): void } | undefined;
  private sseUnsupported = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private started = false;
  private reconcilePending = false;
  /**
   * No timed reconciliation has run yet: the waits scheduled until then are spread over the period's second
   * half, so that cameras started by one deploy do not all list at the same moments ever after.
   */
  private firstPeriod = true;
  /**
   * The next reconciliation identifies the camera first: asked for by one of the requests it merges, or the
   * connection was lost since (the camera behind the URL may have been swapped).
   */
  private identifyNext = false;
  /** The list-problem reports: when the last one went out, and the failures since. */
  private problem: { reportedAt: number; suppressed: number } | undefined;
  private current: WatcherStatus = {
    state: 'connecting',
    serialNumber: undefined,
    announced: 0,
    lastError: undefined,
    lastReconciled: undefined,
  };

  constructor(private readonly deps: WatcherDeps) {
    super();
    this.knownLimit = Math.max(1, deps.knownLimit ?? KNOWN_LIMIT);
  }

  /** How many file names the watcher remembers (bounded by `knownLimit`). */
  get knownCount(): number {
    return this.known.size;
  }

  get status(): WatcherStatus {
    return this.current;
  }

  get serialNumber(): string | undefined {
    return this.camera?.serialNumber;
  }

  /** Identifies the camera, opens the SSE feed and runs the first reconciliation. Idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.deps.options.useSse) this.openFeed();
    this.requestReconcile(true);
  }

  /** Runs a reconciliation now (after the ones queued); resolves when it ended. */
  reconcileNow(): Promise<void> {
    this.requestReconcile(true);
    return this.chain;
  }

  /** Resolves when every queued discovery and reconciliation has been processed. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Closes the feed, cancels the loop and waits for the work in progress (bounded). Idempotent. */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.feed?.close();
      this.feed = undefined;
      this.abort.abort(new Error('watcher stopped'));
      this.setState('stopped');
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }

  private openFeed(): void {
    this.feed = this.deps.client.subscribeRecordings({
      onRecording: (event) => {
        const seenAt = Date.now();
        this.enqueue(async () => {
          await this.discover(event, 'sse', seenAt);
        });
      },
      onOpen: () => {
        // Whatever happened while the feed was down is in the list: identify again (the camera behind the URL
        // may have changed) and reconcile.
        this.requestReconcile(true);
        if (this.camera) this.setState('live');
      },
      onDisconnect: (error) => {
        if (this.stopped) return;
        this.identifyNext = true;
        if (error) this.current.lastError = errorText(error);
        if (this.camera) this.setState('polling');
      },
      onUnsupported: () => {
        this.sseUnsupported = true;
        this.feed?.close();
        this.feed = undefined;
        if (this.camera) this.setState('polling');
      },
      onRejected: (entry) => this.reject(entry),
    });
  }

  /**
   * Queues one reconciliation, merging requests that arrive while one is queued: when any of them asks to
   * identify the camera, the queued one does.
   */
  private requestReconcile(identify: boolean): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (identify) this.identifyNext = true;
    if (this.reconcilePending) return;
    this.reconcilePending = true;
    this.enqueue(async () => {
      this.reconcilePending = false;
      const identifyNow = this.identifyNext || !this.camera;
      this.identifyNext = false;
      const started = Date.now();
      let ok = false;
      try {
        if (identifyNow) await this.identify();
        await this.reconcile(identifyNow);
        ok = true;
        this.problem = undefined;
      } catch (err) {
        // The camera may be another one once it answers again.
        this.identifyNext = true;
        if (this.stopped) return;
        this.current.lastError = errorText(err);
        this.reportProblem(this.current.lastError);
        this.setState('offline');
        this.emit('reconciled', { ok: false, listed: 0, announced: 0 });
      } finally {
        if (!this.stopped) {
          // At a fixed rate (start to start), so that the interval is the longest a recording waits.
          const interval = this.deps.options.reconcileIntervalMs;
          const period = !ok
            ? this.deps.options.retryMs
            : this.firstPeriod
              ? firstPeriodMs(interval, this.deps.random)
              : interval;
          this.schedule(Math.max(0, period - (Date.now() - started)), !ok);
        }
      }
    });
  }

  private reportProblem(error: string): void {
    const now = Date.now();
    const interval = this.deps.problemIntervalMs ?? PROBLEM_INTERVAL_MS;
    if (this.problem && now - this.problem.reportedAt < interval) {
      this.problem.suppressed++;
      return;
    }
    const suppressed = this.problem?.suppressed ?? 0;
    this.problem = { reportedAt: now, suppressed: 0 };
    this.emit('listProblem', { error, suppressed });
  }

  private schedule(delayMs: number, identify: boolean): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.firstPeriod = false;
      this.requestReconcile(identify);
    }, delayMs);
  }

  private enqueue(work: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await work();
      } catch (err) {
        if (!this.stopped) this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async identify(): Promise<void> {
    const info = await this.deps.client.getSystemInfo({ signal: this.abort.signal });
    const serialNumber = info.serialNumber;
    if (typeof serialNumber !== 'string' || serialNumber.trim() === '') {
      throw new Error('the camera reported no serial number');
    }
    if (this.camera?.serialNumber !== serialNumber) {
      this.known = new Set();
      this.lastList = undefined;
    }
    this.camera = {
      serialNumber,
      name: this.deps.displayName?.() || info.name || serialNumber,
      timezone: info.timezone || undefined,
      baseUrl: this.deps.client.baseUrl,
      info,
    };
    this.current.serialNumber = serialNumber;
    await this.deps.store.upsertCamera(serialNumber, {
      name: this.camera.name,
      baseUrl: this.camera.baseUrl,
      timezone: this.camera.timezone ?? null,
      info: { ...info },
    });
  }

  /** `identified`: the camera was identified just before, in this reconciliation. */
  private async reconcile(identifiedNow: boolean): Promise<void> {
    let identified = identifiedNow;
    if (!this.camera) {
      await this.identify();
      identified = true;
    }
    let camera = this.camera!;
    const { client } = this.deps;
    const options = { signal: this.abort.signal, onRejected: (entry: RejectedEntry) => this.reject(entry) };
    let events: ValidCameraEvent[];
    let digest: string | undefined;
    if (client.listEventsIfChanged) {
      // A list that did not change since the last one recorded costs no parsing and no store work.
      const listing = await client.listEventsIfChanged(this.lastList?.digest, options);
      if (this.stopped) return;
      if (!listing.events && this.lastList && this.camera === camera) {
        this.reconciled({ ok: true, listed: this.lastList.listed, announced: 0, unchanged: true });
        return;
      }
      events = listing.events ?? (await client.listEvents(options));
      digest = listing.events ? listing.digest : undefined;
    } else {
      events = await client.listEvents(options);
    }
    if (this.stopped) return;
    const listedAt = Date.now();
    // The list is newest first: record oldest first, so that announcements follow the trigger order. The
    // store takes the whole list in batched transactions (one lookup of the names it holds per batch).
    let unseen = this.unseen(events);
    if (unseen.length > 0 && !identified) {
      // Entries to file: make sure of the unit that listed them first. Polling has no feed whose drop would
      // tell that another unit answers at the same address (a swapped camera), and filed under the old serial
      // number a recording would be lost to its own unit. One small request, only when the list has news.
      await this.identify();
      if (this.stopped) return;
      if (this.camera!.serialNumber !== camera.serialNumber) {
        camera = this.camera!;
        unseen = this.unseen(events);
      }
    }
    const created = await this.deps.store.recordDiscoveredMany(camera.serialNumber, unseen, {
      timezone: camera.timezone,
    });
    // Remembered oldest first, so that the newest stay when the oldest are let go.
    for (let i = events.length - 1; i >= 0; i--) this.remember(events[i]!.fileName);
    this.indexed(
      created.map((c) => unseen[c.index]!),
      listedAt,
    );
    let announced = 0;
    for (const { index, event: row } of created) {
      if (this.stopped) return;
      this.announce(camera, unseen[index]!, row, 'list');
      announced++;
    }
    // Only a list wholly recorded is skipped next time (a failure above leaves the digest of the one before).
    if (this.camera === camera)
      this.lastList = digest === undefined ? undefined : { digest, listed: events.length };
    this.reconciled({ ok: true, listed: events.length, announced });
  }

  /** The listed entries the watcher does not know as stored, oldest first (the list is newest first). */
  private unseen(events: readonly ValidCameraEvent[]): ValidCameraEvent[] {
    const unseen: ValidCameraEvent[] = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      if (!this.known.has(event.fileName)) unseen.push(event);
    }
    return unseen;
  }

  private reconciled(result: { ok: true; listed: number; announced: number; unchanged?: boolean }): void {
    this.current.lastReconciled = new Date().toISOString();
    this.current.lastError = undefined;
    this.setState(this.feed?.connected ? 'live' : 'polling');
    this.emit('reconciled', result);
  }

  /** Records one recording; announces it when its row is new. Resolves true when announced. */
  private async discover(event: ValidCameraEvent, source: 'sse' | 'list', seenAt: number): Promise<boolean> {
    if (!this.camera) await this.identify();
    const camera = this.camera!;
    if (this.known.has(event.fileName)) return false;
    const { isNew, event: row } = await this.deps.store.recordDiscovered(camera.serialNumber, event, {
      timezone: camera.timezone,
    });
    this.remember(event.fileName);
    if (!isNew || this.stopped) return false;
    this.indexed([event], seenAt);
    this.announce(camera, event, row, source);
    return true;
  }

  /**
   * Discovery latencies of recordings whose rows were just created: the camera's `age` of each (seconds since
   * its trigger, by the camera's own clock, so no clock offset between camera and server counts) when the feed
   * or the list gave it at `seenAt`, plus the time from then to now, when the row exists.
   */
  private indexed(events: readonly ValidCameraEvent[], seenAt: number): void {
    const sink = this.deps.metrics ?? processMetrics;
    const sinceSeen = Math.max(0, Date.now() - seenAt) / 1000;
    for (const event of events) {
      const age = Number.isFinite(event.age) && event.age > 0 ? event.age : 0;
      sink.recordingDiscovered(age + sinceSeen);
    }
  }

  /** Remembers a file name as the most recently seen, letting the least recently seen go past the limit. */
  private remember(fileName: string): void {
    this.known.delete(fileName);
    this.known.add(fileName);
    while (this.known.size > this.knownLimit) {
      const oldest = this.known.values().next().value;
      if (oldest === undefined) break;
      this.known.delete(oldest);
    }
  }

  private announce(
    camera: DiscoveredCamera,
    event: ValidCameraEvent,
    row: { id: number; triggeredAtUtc: string },
    source: 'sse' | 'list',
  ): void {
    this.current.announced++;
    this.emit('recording', {
      cameraSerial: camera.serialNumber,
      cameraName: camera.name,
      eventId: row.id,
      fileName: event.fileName,
      eventName: event.eventName,
      triggeredAt: event.triggeredAt,
      triggeredAtUtc: row.triggeredAtUtc,
      playbackTime: event.playbackTime,
      vidExt: event.vidExt,
      thmbExt: event.thmbExt,
      dir: event.dir,
      source,
    });
  }

  /** Reports a refused entry once (the camera lists it again at every reconciliation). */
  private reject(entry: RejectedEntry): void {
    const key = `${entry.reason}\0${JSON.stringify((entry.raw as { fileName?: unknown } | null)?.fileName ?? entry.raw)}`;
    if (this.refused.has(key)) return;
    if (this.refused.size >= 10_000) this.refused.clear();
    this.refused.add(key);
    this.emit('rejected', entry);
  }

  private setState(state: WatcherState): void {
    if (this.stopped && state !== 'stopped') return;
    const changed = this.current.state !== state;
    this.current = { ...this.current, state };
    if (changed || state === 'offline') this.emit('status', this.current);
  }
}
