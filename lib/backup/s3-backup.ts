/**
 * The S3 backup: drains the store's persistent outbox to a bucket.
 *
 * - Bounded concurrency (default 2). Each object is streamed from its file (multipart from 5 MiB), carries its
 *   SHA-256 as `x-amz-meta-sha256` and the configured encryption, and counts as backed up only after a HEAD
 *   shows the expected size and SHA-256. The bytes really sent are hashed on the way: a local file that no
 *   longer matches its recorded SHA-256 fails for good (the object is removed again) instead of being archived.
 * - The manifest of a recording is written once its media objects are confirmed; then the recording is done.
 * - Failures are retried with exponential backoff and jitter: the time of the next attempt is in the row (it
 *   survives restarts), and after a failure the whole drain pauses for the same kind of delay, so an outage
 *   costs one request per delay instead of one per object.
 * - Idempotent: when an earlier attempt may have reached the bucket (the row was tried before), a HEAD comes
 *   first and a matching object is not uploaded again.
 */
import { extname } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { errorText, PfcamError } from '../errors';
import type { Backlog, BackupOutbox } from '../store/backup-outbox';
import { metrics as processMetrics, type Metrics } from '../metrics/metrics';
import type { EventRecord, EventStore, OutboxItem } from '../store/event-store';
import { backoffDelay, ThroughputMeter, type BackoffOptions } from './backoff';
import { buildManifest, manifestKey, objectKey, type ManifestObject } from './manifest';
import { contentTypeFor, hashFile, S3Objects } from './s3-objects';
import type { S3Options } from './s3-options';

export interface S3BackupOptions {
  /** Objects uploaded at the same time. Default 2. */
  concurrency: number;
  /** Retry delays of one object, and the pause of the whole drain after failures. Default 2 s doubling to 5 min. */
  backoff: BackoffOptions;
  /** How long a claim stays ours without renewal (a crashed claim is retried after it). Default 60 s. */
  leaseMs: number;
  /** How often to look for work besides being woken (rows queued by others, stored recordings). Default 30 s. */
  pollMs: number;
  /** Queue every stored recording that was never queued, on each poll. Default true. */
  backupAllStored: boolean;
  /** Consecutive failures from which the backup counts as failing (status red). Default 3. */
  failureThreshold: number;
}

export const DEFAULT_BACKUP_OPTIONS: S3BackupOptions = {
  concurrency: 2,
  backoff: { baseMs: 2_000, maxMs: 300_000 },
  leaseMs: 60_000,
  pollMs: 30_000,
  backupAllStored: true,
  failureThreshold: 3,
};

/** What the backup reports about itself. */
export interface BackupStats extends Backlog {
  /** Objects being uploaded now. */
  inFlight: number;
  /** Bytes sent per second, over the last minute. */
  throughputBytesPerSecond: number;
  consecutiveFailures: number;
  /** The last failure's text and time (ISO-8601), until the next success. */
  lastError: { message: string; at: string } | null;
  /** `consecutiveFailures` reached the threshold. */
  failing: boolean;
  /** After failures no new upload starts before this time (ISO-8601); null when not paused. */
  pausedUntil: string | null;
  /** Objects confirmed since start. */
  confirmedObjects: number;
  running: boolean;
}

/** One object confirmed in the bucket. */
export interface ObjectConfirmed {
  eventId: number;
  kind: OutboxItem['kind'];
  key: string;
  bytes: number;
  /** It was already in the bucket (found by HEAD): nothing was sent. */
  skipped: boolean;
}

/** A recording fully backed up (its manifest confirmed). */
export interface RecordingBackedUp {
  eventId: number;
  cameraSerial: string;
  fileName: string;
  /** Keys of the media objects. */
  keys: string[];
  manifestKey: string;
  /** Bytes of the media objects. */
  bytes: number;
}

export interface BackupListener {
  onObject?(object: ObjectConfirmed): void;
  onRecording?(recording: RecordingBackedUp): void;
  onStats?(stats: BackupStats): void;
}

/** What to back up: a stored recording by id, or by camera serial number and file name. */
export type BackupTarget = { id: number } | { cameraSerial: string; fileName: string };

/** The keys a recording's objects go to. */
export interface RecordingKeys {
  video: string;
  thumbnail: string | undefined;
  manifest: string;
}

export interface EnqueueResult {
  eventId: number;
  /** `done`: the recording was already backed up, nothing was queued. */
  backupState: EventRecord['backupState'];
  keys: RecordingKeys;
}

export interface S3BackupDeps {
  store: EventStore;
  client: S3Client;
  s3: Pick<S3Options, 'bucket' | 'prefix' | 'sse' | 'kmsKeyId'>;
  options?: Partial<S3BackupOptions>;
  now?: () => number;
  random?: () => number;
  /** Problems of the loop itself (the database closed under it...), for a log. */
  onLoopError?: (err: unknown) => void;
  /** Where the backlog is reported (pfcam_backup_backlog; default: the process's metrics). */
  metrics?: Pick<Metrics, 'backupBacklog'>;
}

/** A failure retrying cannot fix (the local file is missing or changed). */
export class PermanentBackupError extends PfcamError {}

export class S3Backup {
  readonly options: S3BackupOptions;
  readonly objects: S3Objects;
  private readonly store: EventStore;
  private readonly queries: BackupOutbox;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly meter = new ThroughputMeter();
  private readonly listeners = new Set<BackupListener>();
  private readonly inFlight = new Map<number, Promise<void>>();
  /** Callers of whenIdle, with the drain epoch they wait for (a pass that began before it does not count). */
  private readonly idleWaiters: { epoch: number; resolve: () => void }[] = [];
  private epoch = 0;
  private abort = new AbortController();
  private running = false;
  private pumping = false;
  /** The drain's background steps running now (poll, pump, lease renewal): `stop` waits for them. */
  private readonly loops = new Set<Promise<void>>();
  private pumpAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private pausedUntil = 0;
  private consecutiveFailures = 0;
  private lastError: { message: string; at: string } | null = null;
  private confirmed = 0;
  private lastStatsJson = '';

  constructor(private readonly deps: S3BackupDeps) {
    this.options = { ...DEFAULT_BACKUP_OPTIONS, ...deps.options };
    this.options.concurrency = Math.max(1, Math.floor(this.options.concurrency));
    this.store = deps.store;
    this.objects = new S3Objects(deps.client, deps.s3);
    this.queries = deps.store.outbox;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  subscribe(listener: BackupListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The keys of a recording's objects under the configured prefix (extensions of the stored files). */
  keysFor(
    event: Pick<EventRecord, 'cameraSerial' | 'triggeredAtUtc' | 'fileName' | 'videoPath' | 'thumbPath'>,
  ): RecordingKeys {
    const { prefix } = this.deps.s3;
    if (event.videoPath === null) {
      throw new PermanentBackupError(
        'errors.backupNotStored',
        `recording ${event.fileName} has no stored video`,
        {
          params: { event: event.fileName },
        },
      );
    }
    const key = (ext: string): string =>
      objectKey(prefix, event.cameraSerial, event.triggeredAtUtc, event.fileName, ext);
    return {
      video: key(extname(event.videoPath)),
      thumbnail: event.thumbPath === null ? undefined : key(extname(event.thumbPath)),
      manifest: manifestKey(prefix, event.cameraSerial, event.triggeredAtUtc, event.fileName),
    };
  }

  /** Queues a stored recording (idempotent: confirmed objects stay confirmed) and wakes the drain. */
  async enqueue(target: BackupTarget): Promise<EnqueueResult> {
    const event =
      'id' in target
        ? await this.store.get(target.id)
        : await this.store.getByFile(target.cameraSerial, target.fileName);
    if (!event) {
      const name = 'id' in target ? String(target.id) : `${target.cameraSerial}/${target.fileName}`;
      throw new PfcamError('errors.eventNotFound', `no recording ${name} in the store`, {
        params: { event: name },
      });
    }
    const keys = await this.enqueueRecord(event);
    this.wake();
    await this.publishStats();
    const after = await this.store.get(event.id);
    return { eventId: event.id, backupState: after?.backupState ?? event.backupState, keys };
  }

  private async enqueueRecord(event: EventRecord): Promise<RecordingKeys> {
    if (event.state !== 'stored' || event.retiredAt !== null || event.videoPath === null) {
      throw new PermanentBackupError(
        'errors.backupNotStored',
        `recording ${event.fileName} of ${event.cameraSerial} is not stored locally (${event.retiredAt ? 'retired' : event.state})`,
        { params: { event: event.fileName } },
      );
    }
    const keys = this.keysFor(event);
    const objects: { kind: OutboxItem['kind']; key: string; path?: string | null }[] = [
      { kind: 'video', key: keys.video, path: event.videoPath },
    ];
    if (keys.thumbnail !== undefined)
      objects.push({ kind: 'thumbnail', key: keys.thumbnail, path: event.thumbPath });
    objects.push({ kind: 'manifest', key: keys.manifest });
    await this.store.enqueueBackup(event.id, objects);
    return keys;
  }

  /** Queues stored recordings that were never queued; returns how many. */
  async enqueueStored(limit = 500): Promise<number> {
    let queued = 0;
    for (const id of await this.queries.unqueued(limit)) {
      const event = await this.store.get(id);
      if (!event) continue;
      try {
        await this.enqueueRecord(event);
        queued += 1;
      } catch (err) {
        // a recording whose keys cannot be formed stays unqueued and is reported; the others go on
        this.deps.onLoopError?.(err);
      }
    }
    return queued;
  }

  /** Starts the background drain (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.pollTimer = setInterval(() => this.track(this.poll()), this.options.pollMs);
    this.leaseTimer = setInterval(
      () => this.track(this.renewLeases()),
      Math.max(500, this.options.leaseMs / 3),
    );
    this.track(this.poll());
  }

  /**
   * Stops the drain: aborts the uploads in flight and hands their rows back (due at once; the next attempt
   * starts with a HEAD). Resolves within about `timeoutMs`. Idempotent.
   */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    clearInterval(this.pollTimer);
    clearInterval(this.leaseTimer);
    this.abort.abort();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values(), ...this.loops]),
      new Promise<void>((resolve) => (timeout = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timeout);
    this.resolveIdle();
  }

  get isRunning(): boolean {
    return this.running;
  }

  /**
   * Retries now: clears the pause after failures, makes every pending row due, queues stored recordings never
   * queued (when configured), and resolves when the drain is idle again (nothing due, nothing in flight; rows
   * that failed again wait for their next attempt). Starts the drain if needed.
   */
  async drainNow(): Promise<BackupStats> {
    // uploads already under way finish first, so that their outcome does not count as this retry's
    await Promise.allSettled([...this.inFlight.values()]);
    this.pausedUntil = 0;
    await this.queries.makeDue(this.now());
    if (this.options.backupAllStored) await this.enqueueStored();
    this.epoch += 1; // a pass already under way saw the rows before they were made due
    const idle = this.whenIdle();
    if (!this.running) this.start();
    else this.wake();
    await idle;
    return this.stats();
  }

  /** Resolves when nothing is in flight and nothing is due (rows waiting for a later retry do not count). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push({ epoch: this.epoch, resolve }));
  }

  /** The backup's figures now; the backlog gauge is set from the same count. */
  async stats(): Promise<BackupStats> {
    const backlog = await this.queries.backlog();
    (this.deps.metrics ?? processMetrics).backupBacklog(backlog.pendingCount);
    const now = this.now();
    return {
      ...backlog,
      inFlight: this.inFlight.size,
      throughputBytesPerSecond: this.meter.rate(now),
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      failing: this.consecutiveFailures >= this.options.failureThreshold,
      pausedUntil: this.pausedUntil > now ? new Date(this.pausedUntil).toISOString() : null,
      confirmedObjects: this.confirmed,
      running: this.running,
    };
  }

  /** Wakes the drain soon (after rows were queued). */
  wake(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.track(this.pump()), 0);
  }

  /** Runs a background step, remembered until it settles (its database work must end before the store closes). */
  private track(step: Promise<void>): void {
    this.loops.add(step);
    const forget = (): void => void this.loops.delete(step);
    step.then(forget, forget);
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    try {
      if (this.options.backupAllStored) await this.enqueueStored();
    } catch (err) {
      this.deps.onLoopError?.(err);
    }
    this.wake();
  }

  private async pump(): Promise<void> {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    const epoch = this.epoch;
    try {
      do {
        this.pumpAgain = false;
        if (this.now() < this.pausedUntil) break;
        const free = this.options.concurrency - this.inFlight.size;
        if (free <= 0) break;
        const items = await this.store.claimBackupBatch({ limit: free, leaseMs: this.options.leaseMs });
        let started = 0;
        for (const item of items) {
          // a row we are still uploading, whose lease had lapsed: the claim just renewed it
          if (this.inFlight.has(item.id)) continue;
          if (!this.running) {
            await this.queries.release(item.id, this.now());
            continue;
          }
          const job = this.process(item).finally(() => {
            this.inFlight.delete(item.id);
            this.wake();
          });
          this.inFlight.set(item.id, job);
          started += 1;
        }
        if (started > 0) this.pumpAgain = true;
      } while (this.pumpAgain && this.running);
      await this.scheduleNext(epoch);
    } catch (err) {
      this.deps.onLoopError?.(err);
      if (this.running) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.track(this.pump()), Math.min(this.options.pollMs, 5_000));
      }
    } finally {
      this.pumping = false;
      // woken while finishing (after the loop's last check): go round once more
      if (this.pumpAgain && this.running) {
        this.pumpAgain = false;
        this.wake();
      }
    }
  }

  /** Sets the timer for the next due row (or the end of the pause), and tells idle waiters. */
  private async scheduleNext(epoch: number): Promise<void> {
    if (!this.running) return;
    const now = this.now();
    let at = await this.queries.nextDueAt();
    if (at !== undefined && this.pausedUntil > at) at = this.pausedUntil;
    if (this.inFlight.size === 0 && (at === undefined || at > now)) {
      await this.publishStats();
      this.resolveIdle(epoch);
    }
    if (at !== undefined && this.inFlight.size < this.options.concurrency) {
      clearTimeout(this.timer);
      this.timer = setTimeout(
        () => this.track(this.pump()),
        Math.max(0, Math.min(at - now, this.options.pollMs)) + 5,
      );
    }
  }

  /** Resolves the idle waiters of `epoch` and before (all of them without an epoch: on stop). */
  private resolveIdle(epoch = Number.POSITIVE_INFINITY): void {
    for (let i = this.idleWaiters.length - 1; i >= 0; i--) {
      const waiter = this.idleWaiters[i]!;
      if (waiter.epoch > epoch) continue;
      this.idleWaiters.splice(i, 1);
      waiter.resolve();
    }
  }

  private async renewLeases(): Promise<void> {
    try {
      await this.queries.renew([...this.inFlight.keys()], this.now() + this.options.leaseMs);
    } catch (err) {
      this.deps.onLoopError?.(err);
    }
  }

  private async process(item: OutboxItem): Promise<void> {
    const signal = this.abort.signal;
    try {
      const result =
        item.kind === 'manifest'
          ? await this.writeManifest(item, signal)
          : await this.uploadObject(item, signal);
      if (result === 'notReady') {
        // claimed before the recording's media were confirmed: due again when they are (see below)
        await this.queries.release(item.id, this.now() + this.options.leaseMs);
        await this.manifestDueIfReady(item.eventId);
        return;
      }
      await this.store.markBackupDone(item.id, { etag: result.etag ?? null, size: result.size });
      this.confirmed += 1;
      this.consecutiveFailures = 0;
      this.lastError = null;
      this.pausedUntil = 0;
      this.meter.add(result.sent, this.now());
      this.emit((l) =>
        l.onObject?.({
          eventId: item.eventId,
          kind: item.kind,
          key: item.key,
          bytes: result.size,
          skipped: result.sent === 0,
        }),
      );
      if (item.kind === 'manifest') await this.announceRecording(item.eventId);
      else await this.manifestDueIfReady(item.eventId);
    } catch (err) {
      if (signal.aborted && !this.running) {
        await this.queries.release(item.id, this.now()).catch(() => undefined);
        return;
      }
      const now = this.now();
      this.consecutiveFailures += 1;
      this.lastError = { message: errorText(err), at: new Date(now).toISOString() };
      this.pausedUntil = now + backoffDelay(this.consecutiveFailures, this.options.backoff, this.random);
      try {
        await this.store.markBackupFailed(item.id, err, {
          retryable: !(err instanceof PermanentBackupError),
          maxAttempts: Number.MAX_SAFE_INTEGER,
          baseDelayMs: this.options.backoff.baseMs,
          maxDelayMs: this.options.backoff.maxMs,
        });
      } catch (dbErr) {
        this.deps.onLoopError?.(dbErr);
      }
    } finally {
      await this.publishStats();
    }
  }

  /** When all media of a recording are confirmed, its manifest is due now. */
  private async manifestDueIfReady(eventId: number): Promise<void> {
    const rows = await this.store.listOutbox(eventId);
    if (rows.some((r) => r.kind !== 'manifest' && r.state !== 'done')) return;
    const manifest = rows.find((r) => r.kind === 'manifest' && r.state === 'pending');
    if (manifest) {
      await this.store.outbox.makeDueNow(manifest.id, this.now());
      this.wake();
    }
  }

  private async announceRecording(eventId: number): Promise<void> {
    const event = await this.store.get(eventId);
    if (!event) return;
    const rows = await this.store.listOutbox(eventId);
    const media = rows.filter((r) => r.kind !== 'manifest');
    const recording: RecordingBackedUp = {
      eventId,
      cameraSerial: event.cameraSerial,
      fileName: event.fileName,
      keys: media.map((r) => r.key),
      manifestKey: rows.find((r) => r.kind === 'manifest')?.key ?? '',
      bytes: media.reduce((sum, r) => sum + (r.size ?? 0), 0),
    };
    this.emit((l) => l.onRecording?.(recording));
  }

  /** Uploads (or finds already uploaded) one media object; returns its confirmed size and the bytes sent. */
  private async uploadObject(
    item: OutboxItem,
    signal: AbortSignal,
  ): Promise<{ etag: string | undefined; size: number; sent: number }> {
    if (item.path === null) {
      throw new PermanentBackupError('errors.backupFileMissing', `outbox entry ${item.id} has no file`, {
        params: { path: '' },
      });
    }
    let file: { path: string; size: number };
    try {
      file = await this.store.media.resolveExisting(item.path);
    } catch (err) {
      throw new PermanentBackupError(
        'errors.backupFileMissing',
        `cannot read ${item.path}: ${errorText(err)}`,
        {
          cause: err,
          params: { path: item.path },
        },
      );
    }
    if (item.expectedSize !== null && item.expectedSize !== file.size) {
      throw new PermanentBackupError(
        'errors.backupFileChanged',
        `${item.path} has ${file.size} bytes, the store recorded ${item.expectedSize}`,
        { params: { path: item.path } },
      );
    }
    const sha256 = item.expectedSha256 ?? (await hashFile(file.path)).sha256;
    if (item.attempts > 1) {
      const head = await this.objects.head(item.key, signal);
      if (head && head.size === file.size && head.sha256 === sha256)
        return { etag: head.etag, size: file.size, sent: 0 };
    }
    const sent = await this.objects.uploadFile(
      item.key,
      file.path,
      { size: file.size, sha256, contentType: contentTypeFor(extname(item.path)) },
      signal,
    );
    if (sent.sha256 !== sha256 || sent.bytes !== file.size) {
      await this.objects.delete(item.key, signal).catch(() => undefined);
      throw new PermanentBackupError(
        'errors.backupFileChanged',
        `${item.path} no longer matches its recorded SHA-256; it was not archived`,
        { params: { path: item.path } },
      );
    }
    await this.confirm(item.key, file.size, sha256, signal);
    return { etag: sent.etag, size: file.size, sent: sent.bytes };
  }

  /** HEAD: the object must be there with the expected size and SHA-256. */
  private async confirm(key: string, size: number, sha256: string, signal: AbortSignal): Promise<void> {
    const head = await this.objects.head(key, signal);
    if (!head || head.size !== size || head.sha256 !== sha256) {
      const found = head ? `${head.size} bytes, sha256 ${head.sha256 ?? 'missing'}` : 'not found';
      throw new PfcamError('errors.backupUnconfirmed', `the bucket does not confirm ${key}: ${found}`, {
        params: { key },
      });
    }
  }

  private async writeManifest(
    item: OutboxItem,
    signal: AbortSignal,
  ): Promise<{ etag: string | undefined; size: number; sent: number } | 'notReady'> {
    const event = await this.store.get(item.eventId);
    if (!event)
      throw new PermanentBackupError(
        'errors.eventNotFound',
        `the recording of outbox entry ${item.id} is gone`,
      );
    const rows = await this.store.listOutbox(item.eventId);
    const media = rows.filter((r) => r.kind !== 'manifest');
    if (media.some((r) => r.state !== 'done')) return 'notReady';
    if (item.attempts > 1) {
      const head = await this.objects.head(item.key, signal);
      if (head?.sha256 !== undefined && head.size > 0) return { etag: head.etag, size: head.size, sent: 0 };
    }
    const objects: ManifestObject[] = media.map((r) => {
      const sha256 = r.kind === 'video' ? event.videoSha256 : event.thumbSha256;
      if (r.size === null || sha256 === null) {
        throw new PermanentBackupError(
          'errors.backupFileChanged',
          `the store has no size or SHA-256 for ${r.key}`,
          {
            params: { path: r.path ?? r.key },
          },
        );
      }
      return {
        kind: r.kind === 'video' ? 'video' : 'thumbnail',
        key: r.key,
        ext: extname(r.key),
        bytes: r.size,
        sha256,
      };
    });
    const manifest = buildManifest({
      cameraSerial: event.cameraSerial,
      fileName: event.fileName,
      eventName: event.eventName,
      triggeredAt: event.triggeredAtUtc,
      playbackTime: event.playbackTime,
      flagged: event.flagged,
      objects,
      backedUpAt: new Date(this.now()),
    });
    const put = await this.objects.putJson(item.key, manifest, signal);
    await this.confirm(item.key, put.bytes, put.sha256, signal);
    return { etag: put.etag, size: put.bytes, sent: put.bytes };
  }

  private emit(call: (listener: BackupListener) => void): void {
    for (const listener of this.listeners) {
      try {
        call(listener);
      } catch (err) {
        this.deps.onLoopError?.(err);
      }
    }
  }

  /** Tells listeners the stats when they changed (throughput and pause aside, which change all the time). */
  private async publishStats(): Promise<void> {
    // measured even with no listener: stats() keeps the backlog gauge
    let stats: BackupStats;
    try {
      stats = await this.stats();
    } catch (err) {
      this.deps.onLoopError?.(err);
      return;
    }
    if (this.listeners.size === 0) return;
    const { throughputBytesPerSecond: _t, pausedUntil: _p, lastError, ...significant } = stats;
    const json = JSON.stringify({ ...significant, lastError: lastError?.message ?? null });
    if (json === this.lastStatsJson) return;
    this.lastStatsJson = json;
    this.emit((l) => l.onStats?.(stats));
  }
}
