/**
 * The event store: the archive's index of recordings, in SQLite (WAL), next to the media files.
 *
 * A facade over the modules that own the store's tables, each the only one writing its table's SQL:
 * cameras.ts (`cameras`), events.ts (`events`: discovery, fetch state, announcements, marks), tags.ts
 * (`event_tags`), backup-outbox.ts (`backup_outbox`), audit-log.ts (`audit`). The facade keeps the API the
 * nodes, the archive and the dashboard use, and composes the steps that span tables into one transaction
 * (retiring and deleting a recording, replacing its tags, recording one known from the bucket).
 */
import { appendAudit, listAudit } from './audit-log';
import { BackupOutbox, type ConfirmedObject } from './backup-outbox';
import { cameraTotals, getCamera, listCameras, storedBytes, upsertCamera } from './cameras';
import { Database } from './database';
import { Events, type RemoteRecording } from './events';
import { MediaFiles, type MediaIo, type MediaLog, type MediaPaths } from './media-files';
import { checkId, type StoreContext } from './records';
import type {
  AuditRecord,
  BackupFailureOptions,
  BackupObject,
  CameraRecord,
  CameraUpdate,
  EventRecord,
  FetchResult,
  FetchTarget,
  OutboxItem,
  OutboxState,
  RecoveryReport,
  RetryBackoff,
  StoredMedia,
  StoreStats,
} from './records';
import { STORE_MIGRATIONS, STORE_NAMESPACE } from './schema';
import { normaliseTags, replaceTags } from './tags';
import type { CameraEvent } from '../camera/types';

export * from './records';
export { normaliseTags } from './tags';
export { DISCOVER_BATCH, FETCH_RETRY_BASE_MS, FETCH_RETRY_MAX_MS, THUMB_MAX_ATTEMPTS } from './events';
export type { RemoteRecording, RestoredMedia } from './events';
export type { Backlog, ConfirmedObject } from './backup-outbox';

export interface EventStoreOptions {
  databaseFile: string;
  mediaDir: string;
  /** Milliseconds since the epoch; tests may fix it. */
  clock?: () => number;
  /** File operations of the media folder (tests inject faults). */
  io?: Partial<MediaIo>;
  /** Where a camera-supplied name that had to be sanitised is reported (once per name). */
  log?: MediaLog;
}

export class EventStore {
  /** The media folder. */
  readonly media: MediaFiles;
  /** The `events` table's owner. */
  readonly events: Events;
  /** The `backup_outbox` table's owner. */
  readonly outbox: BackupOutbox;
  private readonly clock: () => number;
  private closed = false;

  private constructor(
    /** The underlying database (other modules may add their own namespaces to it). */
    readonly db: Database,
    media: MediaFiles,
    private readonly ownsDb: boolean,
    clock: (() => number) | undefined,
  ) {
    this.media = media;
    this.clock = clock ?? Date.now;
    const ctx: StoreContext = { db, media, clock: this.clock, now: () => this.now() };
    this.events = new Events(ctx);
    this.outbox = new BackupOutbox(ctx, this.events);
  }

  /** Opens (creating if needed) the database file and the media folder, and applies the store's migrations. */
  static async open(options: EventStoreOptions): Promise<EventStore> {
    const media = new MediaFiles(options.mediaDir, { io: options.io, log: options.log });
    await media.init();
    const db = await Database.open(options.databaseFile);
    try {
      await db.migrate(STORE_NAMESPACE, STORE_MIGRATIONS);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new EventStore(db, media, true, options.clock);
  }

  /** A store over an already open Database (not closed by `close`). */
  static async fromDatabase(
    db: Database,
    options: { mediaDir: string; clock?: () => number; io?: Partial<MediaIo>; log?: MediaLog },
  ): Promise<EventStore> {
    const media = new MediaFiles(options.mediaDir, { io: options.io, log: options.log });
    await media.init();
    await db.migrate(STORE_NAMESPACE, STORE_MIGRATIONS);
    return new EventStore(db, media, false, options.clock);
  }

  /** Closes the database when this store opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDb) await this.db.close();
  }

  get isOpen(): boolean {
    return !this.closed && this.db.isOpen;
  }

  /** Now, as the store writes it (ISO-8601 UTC). */
  now(): string {
    return new Date(this.clock()).toISOString();
  }

  // ---------------------------------------------------------------- cameras

  /** Creates or updates a camera; returns its id. Absent fields keep their value. */
  upsertCamera(serialNumber: string, update: CameraUpdate = {}): Promise<number> {
    return upsertCamera(this.db, serialNumber, update, this.now());
  }

  getCamera(serialNumber: string): Promise<CameraRecord | undefined> {
    return getCamera(this.db, serialNumber);
  }

  listCameras(): Promise<CameraRecord[]> {
    return listCameras(this.db);
  }

  // ---------------------------------------------------------------- recordings (see events.ts)

  /** See `Events.recordDiscovered`: `isNew` is true exactly once per (camera serial, fileName), ever. */
  recordDiscovered(
    cameraSerial: string,
    event: CameraEvent,
    options: { timezone?: string | null; metadata?: Readonly<Record<string, unknown>> } = {},
  ): Promise<{ event: EventRecord; isNew: boolean }> {
    return this.events.recordDiscovered(cameraSerial, event, options);
  }

  /** See `Events.recordDiscoveredMany`. */
  recordDiscoveredMany(
    cameraSerial: string,
    events: readonly CameraEvent[],
    options: { timezone?: string | null } = {},
  ): Promise<{ index: number; event: EventRecord }[]> {
    return this.events.recordDiscoveredMany(cameraSerial, events, options);
  }

  get(id: number): Promise<EventRecord | undefined> {
    return this.events.get(id);
  }

  getByFile(cameraSerial: string, fileName: string): Promise<EventRecord | undefined> {
    return this.events.getByFile(cameraSerial, fileName);
  }

  /** See `Events.listPending`. */
  listPending(options: Parameters<Events['listPending']>[0] = {}): Promise<EventRecord[]> {
    return this.events.listPending(options);
  }

  /** The relative media paths a recording is (or will be) stored under. */
  pathsFor(
    event: Pick<EventRecord, 'cameraSerial' | 'fileName' | 'vidExt' | 'thmbExt' | 'triggeredAtUtc'>,
    storing = false,
  ): MediaPaths {
    return this.events.pathsFor(event, storing);
  }

  markFetching(id: number): Promise<EventRecord | undefined> {
    return this.events.markFetching(id);
  }

  markStored(id: number, media: StoredMedia): Promise<EventRecord> {
    return this.events.markStored(id, media);
  }

  markFailed(id: number, error: unknown, backoff?: RetryBackoff): Promise<EventRecord | undefined> {
    return this.events.markFailed(id, error, backoff);
  }

  listAnnouncePending(options: { limit?: number; afterId?: number } = {}): Promise<EventRecord[]> {
    return this.events.listAnnouncePending(options);
  }

  markAnnounced(ids: readonly number[]): Promise<void> {
    return this.events.markAnnounced(ids);
  }

  listThumbnailsDue(
    options: { dueBy?: string; limit?: number; cameraSerial?: string } = {},
  ): Promise<EventRecord[]> {
    return this.events.listThumbnailsDue(options);
  }

  /** See `Events.fetchThumbnail`. */
  fetchThumbnail(
    id: number,
    download: Parameters<Events['fetchThumbnail']>[1],
    options: RetryBackoff & { maxAttempts?: number } = {},
  ): Promise<EventRecord | undefined> {
    return this.events.fetchThumbnail(id, download, options);
  }

  markGone(id: number, reason?: string): Promise<EventRecord | undefined> {
    return this.events.markGone(id, reason);
  }

  markDeletedOnCamera(id: number): Promise<void> {
    return this.events.markDeletedOnCamera(id);
  }

  /** See `Events.fetchMedia`: the whole fetch step around a download. */
  fetchMedia(
    id: number,
    download: (target: FetchTarget) => Promise<FetchResult>,
    backoff?: RetryBackoff,
    options: { announce?: boolean } = {},
  ): Promise<EventRecord | undefined> {
    return this.events.fetchMedia(id, download, backoff, options);
  }

  setFlag(id: number, flagged: boolean): Promise<EventRecord | undefined> {
    return this.events.setFlag(id, flagged);
  }

  mergeMetadata(id: number, patch: Readonly<Record<string, unknown>>): Promise<EventRecord | undefined> {
    return this.events.mergeMetadata(id, patch);
  }

  /** Replaces a recording's tags (validated by `normaliseTags`). */
  async setTags(id: number, tags: readonly string[]): Promise<EventRecord | undefined> {
    const clean = normaliseTags(tags);
    checkId(id);
    await this.db.transaction(async (tx) => {
      if (await this.events.exists(tx, id)) await replaceTags(tx, id, clean);
    });
    return this.get(id);
  }

  // ---------------------------------------------------------------- backup outbox (see backup-outbox.ts)

  enqueueBackup(eventId: number, objects: readonly BackupObject[]): Promise<void> {
    return this.outbox.enqueue(eventId, objects);
  }

  claimBackupBatch(options: { limit?: number; leaseMs?: number } = {}): Promise<OutboxItem[]> {
    return this.outbox.claim(options);
  }

  markBackupDone(
    outboxId: number,
    result: { etag?: string | null; size?: number | null } = {},
  ): Promise<void> {
    return this.outbox.markDone(outboxId, result);
  }

  markBackupFailed(
    outboxId: number,
    error: unknown,
    options: BackupFailureOptions = {},
  ): Promise<{ state: OutboxState; nextAttemptAt: string | null }> {
    return this.outbox.markFailed(outboxId, error, options);
  }

  retryFailedBackups(eventId?: number): Promise<number> {
    return this.outbox.retryFailed(eventId);
  }

  listOutbox(eventId: number): Promise<OutboxItem[]> {
    return this.outbox.list(eventId);
  }

  /**
   * Records a recording known from its manifest in the bucket, with its objects as backed up, in one
   * transaction. Resolves with its id, or undefined when the index already has it.
   */
  recordRemote(remote: RemoteRecording, objects: readonly ConfirmedObject[]): Promise<number | undefined> {
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const id = await this.events.insertRemote(tx, remote, now);
      if (id !== undefined) await this.outbox.insertConfirmed(tx, id, objects, now);
      return id;
    });
  }

  // ---------------------------------------------------------------- retiring and deleting

  /**
   * Retires a recording: the row stays as a tombstone (so a recording still on the camera is not discovered
   * again) with `retired_at` set and no file paths, its backup entries not done fail; then its files are
   * removed. A flagged recording is refused unless `force`. Idempotent; resolves false when there was nothing
   * to retire.
   */
  async retire(
    id: number,
    options: { actor?: string; reason?: string; force?: boolean } = {},
  ): Promise<boolean> {
    const now = this.now();
    const paths = await this.db.transaction(async (tx) => {
      const paths = await this.events.retireRow(tx, id, now, options.force === true);
      if (!paths) return undefined;
      await this.outbox.abandon(tx, id);
      await appendAudit(tx, {
        at: now,
        actor: options.actor ?? 'retention',
        action: 'retire',
        target: `event:${id}`,
        details: { reason: options.reason ?? null },
      });
      return paths;
    });
    if (!paths) return false;
    for (const p of paths) await this.media.remove(p);
    return true;
  }

  /**
   * Deletes a recording's row (tags and outbox entries go with it) and its files. Only for recordings no longer
   * on the camera: otherwise the next discovery records it again. Resolves false when unknown.
   */
  async deleteEvent(id: number, options: { actor?: string } = {}): Promise<boolean> {
    const paths = await this.db.transaction(async (tx) => {
      const deleted = await this.events.deleteRow(tx, id);
      if (!deleted) return undefined;
      await appendAudit(tx, {
        at: this.now(),
        actor: options.actor ?? 'system',
        action: 'delete',
        target: `event:${id}`,
        details: { fileName: deleted.fileName },
      });
      return deleted.paths;
    });
    if (!paths) return false;
    for (const p of paths) await this.media.remove(p);
    return true;
  }

  // ---------------------------------------------------------------- audit (see audit-log.ts)

  /** Appends an audit entry (who did what to what). */
  async audit(
    actor: string,
    action: string,
    target?: string | null,
    details?: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    await appendAudit(this.db, { at: this.now(), actor, action, target, details });
  }

  listAudit(options: { limit?: number; beforeId?: number } = {}): Promise<AuditRecord[]> {
    return listAudit(this.db, options);
  }

  // ---------------------------------------------------------------- recovery and stats

  /** See `Events.recover`: the start-up sweep, before any download starts. */
  recover(options: { verifyStored?: boolean } = {}): Promise<RecoveryReport> {
    return this.events.recover(options);
  }

  /** See `Events.verifyStoredFiles`. */
  verifyStoredFiles(options: { signal?: AbortSignal } = {}): Promise<number[]> {
    return this.events.verifyStoredFiles(options);
  }

  /** Counts by state, outbox counts and bytes stored. */
  async stats(): Promise<StoreStats> {
    const { byState, byBackupState, retired } = await this.events.counts();
    const outbox = await this.outbox.countByState();
    const totals = await cameraTotals(this.db);
    return {
      cameras: totals.cameras,
      events: totals.events,
      retired,
      byState,
      byBackupState,
      outbox,
      storedBytes: totals.bytes,
    };
  }

  /** Bytes of live recordings' files (video + thumbnail), all cameras or one. Kept by triggers: O(cameras). */
  storedBytes(cameraSerial?: string): Promise<number> {
    return storedBytes(this.db, cameraSerial);
  }
}
