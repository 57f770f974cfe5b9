/**
 * Fetching recordings' media into the store: each download streamed to a `.part` file next to its final
 * place, resumed with `Range`, length and SHA-256 checked, fsynced and renamed by the camera client, then the
 * row marked stored (the store's `fetchMedia` step). Bounded concurrency per camera and overall; a recording
 * asked for twice while it downloads is downloaded once, and a stored one is never downloaded again.
 *
 * The store's rows are the work list: at start (after the store's recovery sweep) and then at every retry
 * interval, every recording that is not stored (new, left `fetching` by a crash, failed) is fetched.
 */
import { EventEmitter } from 'node:events';
import type { CameraApi, MediaKind } from '../camera/camera-api';
import { CameraError, CameraHttpError, CameraTimeoutError } from '../camera/errors';
import { PfcamError, errorText } from '../errors';
import { metrics as processMetrics, type Metrics } from '../metrics/metrics';
import {
  FETCH_RETRY_MAX_MS,
  type EventRecord,
  type EventStore,
  type FetchResult,
} from '../store/event-store';
import { FetchQueue, QueueClosedError } from './fetch-queue';
import type { ArchiveRequest, StoredRecordingPayload } from './messages';
import type { ArchiveOptions } from './options';

/** What the archiver needs of the event store (`EventStore` has it). */
export type ArchiveStore = Pick<
  EventStore,
  | 'get'
  | 'getByFile'
  | 'getCamera'
  | 'listCameras'
  | 'listPending'
  | 'listThumbnailsDue'
  | 'listAnnouncePending'
  | 'markAnnounced'
  | 'fetchMedia'
  | 'fetchThumbnail'
  | 'markGone'
  | 'recover'
  | 'db'
>;

export interface ArchiverDeps {
  store: ArchiveStore;
  /** The camera client of a serial number; undefined when no configured camera has it (yet). */
  resolveCamera(serialNumber: string, signal: AbortSignal): Promise<CameraApi | undefined>;
  options: ArchiveOptions;
  /**
   * Run the store's recovery sweep (`recover()`) at start, before the first scan (default true). False when the
   * store's owner already ran it when opening the store (the `pfcam-store` node does).
   */
  storeRecovery?: boolean;
  /**
   * How long after a stored recording was handed to the flow its announcement counts as delivered (ms, default
   * 5000): a crash or stop before then replays it at the next start (the alert path drops a repeat by the
   * recording's identity); in-process delivery takes milliseconds.
   */
  announceSettleMs?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
  /** Where downloads are counted (default: the process's metrics). */
  metrics?: Pick<Metrics, 'recordingArchived'>;
}

export interface FetchFailure {
  eventId: number;
  cameraSerial: string;
  fileName: string;
  error: Error;
  /** The camera no longer has the recording: it was marked gone and will not be tried again. */
  gone: boolean;
}

export interface ArchiverStats {
  /** Downloads running. */
  active: number;
  /** Recordings queued or running. */
  queued: number;
  /** Recordings stored since start. */
  stored: number;
  /** Failed attempts since start. */
  failed: number;
  /** Recordings marked gone since start. */
  gone: number;
}

export interface ArchiverEvents {
  /** A recording stored by the archiver on its own (recovery, retry), not as the answer to `archive()`. */
  stored: [StoredRecordingPayload];
  /** A failed attempt of a recording no `archive()` call waits for. */
  failed: [FetchFailure];
  /** Stats changed. */
  progress: [ArchiverStats];
  /** A scan of the store (recovery or retry) ended. */
  scanned: [{ queued: number }];
  /** A failure of the archiver itself (recovery sweep, scan). */
  error: [Error];
  /** These recordings' announcements are recorded as delivered (they are not replayed at start). */
  announced: [number[]];
}

/** Recording fetches running in this process, per database file (shared by every archiver on one store). */
const running = new Map<string, Promise<StoredRecordingPayload>>();

function runKey(store: ArchiveStore, id: number): string {
  return `${store.db.file}\0${id}`;
}

/** Rows read per page when a scan goes through one camera's pending recordings. */
const SCAN_PAGE = 500;
/** At most this many recordings of one camera are queued by one scan (the rest by later scans). */
const SCAN_PER_CAMERA = 200;

/** How many recent background deliveries are remembered (to not pass a recording on twice). */
const RECENT_LIMIT = 2000;

export class RecordingGoneError extends PfcamError {
  constructor(
    readonly cameraSerial: string,
    readonly fileName: string,
    cause?: unknown,
  ) {
    super('errors.recordingGone', `recording ${fileName} is no longer on camera ${cameraSerial}`, {
      cause,
      params: { serial: cameraSerial, fileName },
    });
  }
}

export class NoCameraError extends PfcamError {
  constructor(readonly cameraSerial: string) {
    super(
      'errors.noCameraForSerial',
      `no pfcam-camera node is connected to the camera with serial number ${cameraSerial}`,
      {
        params: { serial: cameraSerial },
      },
    );
  }
}

/** A recording the caller asked for that the store does not have. */
export class EventNotFoundError extends PfcamError {
  constructor(what: string) {
    super('errors.eventNotFound', `no recording ${what} in the store`, { params: { id: what } });
  }
}

/** The camera answered 404 for the recording's video: it is gone (recycled or deleted). */
function isGone(err: unknown): boolean {
  return err instanceof CameraHttpError && err.status === 404;
}

/** Connectivity failures (the camera, not the recording): the camera's other recordings wait a while. */
function isCameraDown(err: unknown): boolean {
  return (
    err instanceof NoCameraError ||
    (err instanceof CameraError && err.retryable && !(err instanceof CameraHttpError && err.status < 500))
  );
}

export function toStoredPayload(
  row: EventRecord,
  cameraName: string | undefined,
  fetched: boolean,
): StoredRecordingPayload {
  return {
    id: row.id,
    cameraSerial: row.cameraSerial,
    ...(cameraName ? { cameraName } : {}),
    fileName: row.fileName,
    eventName: row.eventName,
    triggeredAtUtc: row.triggeredAtUtc,
    playbackTime: row.playbackTime ?? 0,
    videoPath: row.videoPath ?? '',
    thumbPath: row.thumbPath && row.thumbSha256 ? row.thumbPath : undefined,
    videoSize: row.videoSize ?? 0,
    sha256: row.videoSha256 ?? '',
    thumbSize: row.thumbSha256 ? (row.thumbSize ?? undefined) : undefined,
    thumbSha256: row.thumbSha256 ?? undefined,
    storedAt: row.storedAt ?? '',
    fetched,
  };
}

export class Archiver extends EventEmitter<ArchiverEvents> {
  private readonly queue: FetchQueue<StoredRecordingPayload>;
  /** Ids an `archive()` call waits for: their result goes to the caller, not to `stored`. */
  private readonly claimed = new Map<number, number>();
  /** Ids recently delivered through `stored` (a later `archive()` for them is answered without a message). */
  private readonly recent = new Set<number>();
  private readonly cameraNames = new Map<string, string | undefined>();
  /** Cameras found unreachable: their recordings are not queued by scans before this time (ms). */
  private readonly cameraDownUntil = new Map<string, number>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;
  private readonly counts = { stored: 0, failed: 0, gone: 0 };
  /** Announcements handed to the flow whose settle time runs; cleared in their rows when it ends. */
  private readonly settling = new Set<NodeJS.Timeout>();
  private readonly settled: number[] = [];
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ArchiverDeps) {
    super();
    this.queue = new FetchQueue({ overall: deps.options.concurrency, perKey: deps.options.perCamera });
    this.now = deps.now ?? Date.now;
  }

  get stats(): ArchiverStats {
    return { active: this.queue.active, queued: this.queue.size, ...this.counts };
  }

  /**
   * Starts: when `recoverOnStart`, the store's recovery sweep (`.part` files nobody can resume removed, stored
   * recordings whose file went missing set back to new; unless `storeRecovery` is false) and a first scan; then a
   * scan at every retry interval.
   */
  start(): void {
    if (this.closed || this.timer || this.scanning) return;
    const first = async (): Promise<void> => {
      await this.replayAnnouncements();
      if (this.deps.options.recoverOnStart) {
        if (this.deps.storeRecovery !== false) {
          try {
            await this.deps.store.recover();
          } catch (err) {
            this.emit('error', err instanceof Error ? err : new Error(errorText(err)));
          }
        }
        await this.scan();
      }
    };
    this.scanning = first().finally(() => {
      this.scanning = undefined;
      this.schedule();
    });
  }

  /** Scans the store for recordings to fetch now (resolves when they are queued, not fetched). */
  scanNow(): Promise<void> {
    this.scanning ??= this.scan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  /** Resolves when no download is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Archives one recording: resolves with the stored recording once its files are stored and verified (at once,
   * with `fetched: false`, when it already was). `delivered` is true when the archiver already passed this
   * recording on through `stored` (the caller should not pass it on again).
   */
  async archive(request: ArchiveRequest): Promise<{ payload: StoredRecordingPayload; delivered: boolean }> {
    const row = await this.findRow(request);
    if (row.state === 'stored' && row.retiredAt === null) {
      return { payload: await this.payloadOf(row, false), delivered: this.recent.has(row.id) };
    }
    if (row.state === 'gone' || row.retiredAt !== null)
      throw new RecordingGoneError(row.cameraSerial, row.fileName);
    this.claimed.set(row.id, (this.claimed.get(row.id) ?? 0) + 1);
    try {
      const payload = await this.enqueue(row);
      // The caller passes it on now.
      if (payload.fetched) this.handedOver(row.id);
      return { payload, delivered: false };
    } finally {
      const left = (this.claimed.get(row.id) ?? 1) - 1;
      if (left > 0) this.claimed.set(row.id, left);
      else this.claimed.delete(row.id);
    }
  }

  /**
   * Stops scanning, aborts the downloads (their rows become failed, fetched again later) and resolves once the
   * scan under way and the downloads ended (their last writes done: the store may close after). Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Announcements still settling stay pending in their rows: replayed at the next start.
    for (const t of this.settling) clearTimeout(t);
    this.settling.clear();
    await this.queue.close(5000);
    await this.scanning?.catch(() => undefined);
    await this.flushing;
  }

  /**
   * Passes on, as `stored`, the recordings stored by an earlier run whose announcement was not handed over
   * (that run stopped or crashed after storing them).
   */
  private async replayAnnouncements(): Promise<void> {
    try {
      let afterId = 0;
      for (;;) {
        const rows = await this.deps.store.listAnnouncePending({ afterId, limit: 500 });
        for (const row of rows) {
          afterId = row.id;
          if (this.closed) return;
          if (this.claimed.has(row.id) || this.recent.has(row.id)) continue;
          // Downloaded by that earlier run, not now: `fetched` is false.
          const payload = await this.payloadOf(row, false);
          if (this.closed) return;
          this.remember(row.id);
          this.emit('stored', payload);
          this.handedOver(row.id);
        }
        if (rows.length < 500) return;
      }
    } catch (err) {
      if (!this.closed) this.emit('error', err instanceof Error ? err : new Error(errorText(err)));
    }
  }

  /** A stored recording was handed to the flow: its row stops asking for an announcement once settled. */
  private handedOver(id: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.settling.delete(timer);
      this.settled.push(id);
      this.flushSettled();
    }, this.deps.announceSettleMs ?? 5000);
    this.settling.add(timer);
  }

  private flushSettled(): void {
    this.flushing = this.flushing.then(async () => {
      const ids = this.settled.splice(0);
      if (ids.length === 0) return;
      try {
        await this.deps.store.markAnnounced(ids);
        this.emit('announced', ids);
      } catch (err) {
        // left pending: replayed at the next start (the alert path drops the repeat)
        if (!this.closed) this.emit('error', err instanceof Error ? err : new Error(errorText(err)));
      }
    });
  }

  private async findRow(request: ArchiveRequest): Promise<EventRecord> {
    let row: EventRecord | undefined;
    if (typeof request.eventId === 'number') row = await this.deps.store.get(request.eventId);
    else if (request.cameraSerial && request.fileName !== undefined) {
      row = await this.deps.store.getByFile(request.cameraSerial, request.fileName);
    }
    if (!row) {
      throw new EventNotFoundError(
        request.eventId !== undefined
          ? String(request.eventId)
          : `${request.cameraSerial}/${request.fileName}`,
      );
    }
    return row;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.scanNow().finally(() => this.schedule());
    }, this.deps.options.retryIntervalMs);
  }

  /**
   * Queues the recordings of the store that are not stored and not being fetched in this process, camera by
   * camera, each through its rows with a keyset cursor: the rows of a camera that cannot be reached (they keep
   * their state) never hide another camera's.
   */
  private async scan(): Promise<void> {
    if (this.closed) return;
    let queued = 0;
    try {
      const dueBy = new Date(this.now()).toISOString();
      const now = this.now();
      const cameras = await this.deps.store.listCameras();
      for (const { serialNumber } of cameras) {
        if (this.closed) break;
        if ((this.cameraDownUntil.get(serialNumber) ?? 0) > now) continue;
        queued += await this.scanCamera(serialNumber, dueBy);
      }
      if (this.deps.options.fetchThumbnail) {
        for (const { serialNumber } of cameras) {
          if (this.closed) break;
          if ((this.cameraDownUntil.get(serialNumber) ?? 0) > now) continue;
          const rows = await this.deps.store.listThumbnailsDue({
            dueBy,
            limit: 1000,
            cameraSerial: serialNumber,
          });
          for (const row of rows) {
            if (this.closed) break;
            this.enqueueThumbnail(row);
          }
        }
      }
    } catch (err) {
      if (!this.closed) this.emit('error', err instanceof Error ? err : new Error(errorText(err)));
    }
    this.emit('scanned', { queued });
  }

  /** Queues one camera's pending recordings (at most SCAN_PER_CAMERA); returns how many. */
  private async scanCamera(cameraSerial: string, dueBy: string): Promise<number> {
    let queued = 0;
    let afterId: number | undefined;
    for (;;) {
      const rows = await this.deps.store.listPending({
        cameraSerial,
        limit: SCAN_PAGE,
        dueBy,
        ...(afterId !== undefined ? { afterId } : {}),
        ...(this.deps.options.maxAttempts > 0 ? { maxAttempts: this.deps.options.maxAttempts } : {}),
      });
      for (const row of rows) {
        afterId = row.id;
        if (this.closed || (this.cameraDownUntil.get(cameraSerial) ?? 0) > this.now()) return queued;
        if (running.has(runKey(this.deps.store, row.id)) || this.queue.has(String(row.id))) continue;
        queued++;
        this.enqueue(row).catch(() => undefined);
        if (queued >= SCAN_PER_CAMERA) return queued;
      }
      if (rows.length < SCAN_PAGE) return queued;
    }
  }

  private enqueue(row: EventRecord): Promise<StoredRecordingPayload> {
    const key = runKey(this.deps.store, row.id);
    const other = running.get(key);
    if (other && !this.queue.has(String(row.id))) return other;
    const job = this.queue.push(String(row.id), row.cameraSerial, (signal) => this.fetch(row, signal));
    if (!other) {
      running.set(key, job);
      const forget = (): void => {
        if (running.get(key) === job) running.delete(key);
      };
      job.then(forget, forget);
    }
    this.emit('progress', this.stats);
    job.then(
      (payload) => {
        if (!this.claimed.has(row.id) && payload.fetched) {
          this.remember(row.id);
          this.emit('stored', payload);
          this.handedOver(row.id);
        }
        this.emit('progress', this.stats);
      },
      (err: unknown) => {
        if (!(err instanceof QueueClosedError) && !this.claimed.has(row.id) && !this.closed) {
          this.emit('failed', {
            eventId: row.id,
            cameraSerial: row.cameraSerial,
            fileName: row.fileName,
            error: err instanceof Error ? err : new Error(errorText(err)),
            gone: err instanceof RecordingGoneError,
          });
        }
        this.emit('progress', this.stats);
      },
    );
    return job;
  }

  private async fetch(row: EventRecord, signal: AbortSignal): Promise<StoredRecordingPayload> {
    const { store, options } = this.deps;
    let client: CameraApi | undefined;
    try {
      // A camera found unreachable meanwhile: its queued recordings wait for the next scan without a try each.
      if ((this.cameraDownUntil.get(row.cameraSerial) ?? 0) > this.now())
        throw new NoCameraError(row.cameraSerial);
      client = await this.deps.resolveCamera(row.cameraSerial, signal);
      if (!client) throw new NoCameraError(row.cameraSerial);
      const camera = client;
      let downloaded = 0;
      const started = performance.now();
      const stored = await store.fetchMedia(
        row.id,
        async (target): Promise<FetchResult> => {
          const media = {
            fileName: target.event.fileName,
            vidExt: target.event.vidExt,
            thmbExt: target.event.thmbExt,
          };
          const video = await this.download(camera, 'video', media, target.videoFile, signal);
          downloaded += video.bytes;
          const result: FetchResult = {
            video: { bytes: video.bytes, sha256: video.sha256 },
            thumbnail: null,
          };
          if (options.fetchThumbnail) {
            // The video is verified: a thumbnail failing never costs it (the thumbnail is retried on its own).
            try {
              result.thumbnail = await this.thumbnail(camera, media, target.thumbFile, signal);
              result.thumbnailMissing = result.thumbnail === null;
              downloaded += result.thumbnail?.bytes ?? 0;
            } catch (err) {
              result.thumbnailError = err;
            }
          }
          return result;
        },
        this.backoff(),
        { announce: true },
      );
      if (!stored) {
        // Not fetchable: stored meanwhile (by another node), gone or retired.
        const now = await store.get(row.id);
        if (now?.state === 'stored' && now.retiredAt === null) return await this.payloadOf(now, false);
        throw new RecordingGoneError(row.cameraSerial, row.fileName);
      }
      this.counts.stored++;
      // Downloaded, verified, renamed and marked stored: what the download histogram measures.
      (this.deps.metrics ?? processMetrics).recordingArchived(
        downloaded,
        (performance.now() - started) / 1000,
      );
      this.cameraDownUntil.delete(row.cameraSerial);
      return await this.payloadOf(stored, true);
    } catch (err) {
      if (err instanceof RecordingGoneError) throw err;
      if (isGone(err)) {
        await store.markGone(row.id, errorText(err)).catch(() => undefined);
        this.counts.gone++;
        throw new RecordingGoneError(row.cameraSerial, row.fileName, err);
      }
      if (err instanceof NoCameraError) {
        // fetchMedia never ran: the row keeps its state, and the scan finds it again.
      }
      this.counts.failed++;
      if (isCameraDown(err)) this.cameraDownUntil.set(row.cameraSerial, this.now() + options.retryIntervalMs);
      throw err;
    }
  }

  /** Retry delays of failed rows: the retry interval, doubled per attempt, capped. */
  private backoff(): { baseDelayMs: number; maxDelayMs: number } {
    const base = this.deps.options.retryIntervalMs;
    return { baseDelayMs: base, maxDelayMs: Math.max(base, FETCH_RETRY_MAX_MS) };
  }

  /** Queues the thumbnail fetch of a stored recording whose thumbnail failed before (the video is not touched). */
  private enqueueThumbnail(row: EventRecord): void {
    const id = `thumb:${row.id}`;
    const key = runKey(this.deps.store, -row.id);
    if (running.has(key) || this.queue.has(id)) return;
    const job = this.queue.push(id, row.cameraSerial, async (signal) => {
      const client = await this.deps.resolveCamera(row.cameraSerial, signal);
      if (!client) throw new NoCameraError(row.cameraSerial);
      const media = { fileName: row.fileName, vidExt: row.vidExt, thmbExt: row.thmbExt };
      await this.deps.store.fetchThumbnail(
        row.id,
        (target) => this.thumbnail(client, media, target.thumbFile, signal),
        this.backoff(),
      );
      return this.payloadOf(row, false);
    });
    running.set(key, job);
    const forget = (): void => {
      if (running.get(key) === job) running.delete(key);
      this.emit('progress', this.stats);
    };
    job.then(forget, forget);
  }

  /** The thumbnail, or null when the camera has none for this recording (404). */
  private async thumbnail(
    client: CameraApi,
    media: { fileName: string; vidExt: string; thmbExt: string },
    file: string,
    signal: AbortSignal,
  ): Promise<{ bytes: number; sha256: string } | null> {
    try {
      const result = await this.download(client, 'thumbnail', media, file, signal);
      return { bytes: result.bytes, sha256: result.sha256 };
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
  }

  /**
   * One file through the client (`.part`, Range resume, length + SHA-256, fsync, rename), abandoned when nothing
   * arrives for `stallTimeoutMs` (a stalled link otherwise holds a download slot of the camera for minutes): the
   * part stays for the next attempt to resume.
   */
  private async download(
    client: CameraApi,
    kind: MediaKind,
    media: { fileName: string; vidExt: string; thmbExt: string },
    file: string,
    signal: AbortSignal,
  ): Promise<{ bytes: number; sha256: string }> {
    const stallMs = this.deps.options.stallTimeoutMs;
    const abort = new AbortController();
    const stalled = new CameraTimeoutError('body', stallMs, { method: 'GET', path: media.fileName });
    const onAbort = (): void => abort.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(stalled), stallMs);
    };
    arm();
    try {
      return await client.downloadToFile(kind, media, file, { signal: abort.signal, onProgress: arm });
    } catch (err) {
      if (abort.signal.reason === stalled) throw stalled;
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async payloadOf(row: EventRecord, fetched: boolean): Promise<StoredRecordingPayload> {
    if (!this.cameraNames.has(row.cameraSerial)) {
      const camera = await this.deps.store.getCamera(row.cameraSerial);
      this.cameraNames.set(row.cameraSerial, camera?.name ?? undefined);
    }
    return toStoredPayload(row, this.cameraNames.get(row.cameraSerial), fetched);
  }

  private remember(id: number): void {
    this.recent.add(id);
    if (this.recent.size > RECENT_LIMIT) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
