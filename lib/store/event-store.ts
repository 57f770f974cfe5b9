/**
 * The event store: the archive's index of recordings, in SQLite (WAL), next to the media files.
 *
 * - Identity of a recording is (camera serial number, `fileName`); never across cameras.
 * - The row is the cursor: `recordDiscovered` is an `INSERT OR IGNORE`, so `isNew` is true exactly once per
 *   recording, across restarts. Rows of retired recordings stay (as tombstones without files) so that a
 *   recording still on the camera is not discovered again.
 * - Each step's state lives in the row (`state`, `backup_state`, `deleted_on_camera_at`, `retired_at`), every
 *   transition is one guarded UPDATE or one transaction, and every call is idempotent: a step interrupted by a
 *   crash is simply done again.
 * - S3 uploads are driven by a persistent outbox (`backup_outbox`) with claim leases and backoff.
 */
import { Database, type SqlValue, type Transaction } from './database';
import { MediaFiles, mediaError, type MediaIo, type MediaLog, type MediaPaths } from './media-files';
import { STORE_MIGRATIONS, STORE_NAMESPACE } from './schema';
import { toUtcIso } from '../time/zoned-time';
import { InputError, PfcamError, errorText } from '../errors';
import type { CameraEvent } from '../camera/types';

export type EventState = 'new' | 'fetching' | 'stored' | 'failed' | 'gone';
export type BackupState = 'none' | 'pending' | 'done' | 'failed';
/** A thumbnail's own state: `pending` is retried at `thumbNextAttemptAt`; `missing`: the camera has none. */
export type ThumbState = 'none' | 'pending' | 'stored' | 'missing' | 'failed';
export type OutboxKind = 'video' | 'thumbnail' | 'manifest';
export type OutboxState = 'pending' | 'inflight' | 'done' | 'failed';

export const EVENT_STATES: readonly EventState[] = ['new', 'fetching', 'stored', 'failed', 'gone'];
export const BACKUP_STATES: readonly BackupState[] = ['none', 'pending', 'done', 'failed'];

/** One camera as the store knows it. */
export interface CameraRecord {
  id: number;
  serialNumber: string;
  name: string | null;
  baseUrl: string | null;
  timezone: string | null;
  /** The last system info stored (JSON object), if any. */
  info: Record<string, unknown> | null;
  firstSeen: string;
  lastSeen: string;
  /** Recordings not retired. */
  eventCount: number;
  /** Video + thumbnail bytes of recordings not retired. */
  storedBytes: number;
}

/** What `upsertCamera` may set; absent fields keep their stored value. */
export interface CameraUpdate {
  name?: string | null;
  baseUrl?: string | null;
  timezone?: string | null;
  info?: Readonly<Record<string, unknown>> | null;
}

/** One recording as the store knows it. Paths are relative to the media folder. */
export interface EventRecord {
  id: number;
  cameraId: number;
  cameraSerial: string;
  fileName: string;
  eventName: string | null;
  /** As the camera gave it. */
  triggeredAt: string;
  /** ISO-8601 UTC (`YYYY-MM-DDTHH:MM:SS.sssZ`). */
  triggeredAtUtc: string;
  playbackTime: number | null;
  vidExt: string;
  thmbExt: string;
  dir: string | null;
  state: EventState;
  attempts: number;
  lastError: string | null;
  /** A failed recording: when the next fetch is due (ISO UTC); null: at once. */
  nextAttemptAt: string | null;
  thumbState: ThumbState;
  thumbAttempts: number;
  thumbNextAttemptAt: string | null;
  discoveredAt: string;
  fetchStartedAt: string | null;
  storedAt: string | null;
  videoPath: string | null;
  videoSize: number | null;
  videoSha256: string | null;
  thumbPath: string | null;
  thumbSize: number | null;
  thumbSha256: string | null;
  backupState: BackupState;
  backedUpAt: string | null;
  deletedOnCameraAt: string | null;
  retiredAt: string | null;
  flagged: boolean;
  viewed: boolean;
  tags: string[];
  metadata: Record<string, unknown> | null;
  createdAt: string;
}

/** The verified result of storing one media file. */
export interface StoredFile {
  /** Relative to the media folder. */
  path: string;
  size: number;
  sha256: string;
}

export interface StoredMedia {
  video: StoredFile;
  thumbnail?: StoredFile | null;
  /**
   * Without a thumbnail: `pending` when it failed and is to be retried, `missing` when the camera has none,
   * `none` when none was asked for (default: `none`).
   */
  thumbnailState?: 'pending' | 'missing' | 'none';
  /** The recording is to be announced to the flow: kept in the row until `markAnnounced` (default false). */
  announce?: boolean;
}

/** Retry delays kept in the row: `baseDelayMs` doubled per attempt, at most `maxDelayMs`. */
export interface RetryBackoff {
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** What `fetchMedia` hands to the download: where to write (absolute) and the row. */
export interface FetchTarget {
  event: EventRecord;
  videoPath: string;
  thumbPath: string;
  /** Absolute path to write the video to (folders exist). Write through `<file>.part` + rename. */
  videoFile: string;
  thumbFile: string;
}

/** What the download reports back to `fetchMedia`. A missing thumbnail is allowed (`null`). */
export interface FetchResult {
  video: { bytes: number; sha256: string };
  thumbnail?: { bytes: number; sha256: string } | null;
  /** The thumbnail download failed (the video is stored all the same; the thumbnail is retried on its own). */
  thumbnailError?: unknown;
  /** The camera has no thumbnail for this recording (404). */
  thumbnailMissing?: boolean;
}

/** One object to upload. `path` (relative to the media folder) is absent for a manifest. */
export interface BackupObject {
  kind: OutboxKind;
  key: string;
  path?: string | null;
}

/** A claimed outbox entry. */
export interface OutboxItem {
  id: number;
  eventId: number;
  kind: OutboxKind;
  key: string;
  path: string | null;
  /** Absolute local file, when `path` is set. */
  file: string | null;
  state: OutboxState;
  /** Attempts including the current one. */
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  etag: string | null;
  size: number | null;
  /** Size and SHA-256 the store recorded for the file (to check the upload against). */
  expectedSize: number | null;
  expectedSha256: string | null;
  cameraSerial: string;
  fileName: string;
}

export interface BackupFailureOptions {
  /** False for errors that will not heal (bad credentials, missing file): fail at once. Default true. */
  retryable?: boolean;
  /** Attempts after which the entry fails for good. Default 10. */
  maxAttempts?: number;
  /** First retry delay, doubled each attempt (±20 % jitter). Default 30 s. */
  baseDelayMs?: number;
  /** Upper bound of the delay. Default 6 h. */
  maxDelayMs?: number;
}

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
}

export interface RecoveryReport {
  /** `.part` files removed (relative paths). */
  removedTemp: string[];
  /** Stored recordings whose file was missing: set back to `new` to be fetched again. */
  resetMissing: number[];
}

export interface StoreStats {
  cameras: number;
  events: number;
  retired: number;
  byState: Record<EventState, number>;
  byBackupState: Record<BackupState, number>;
  outbox: Record<OutboxState, number>;
  storedBytes: number;
}

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

interface EventRow {
  id: number;
  camera_id: number;
  serial_number: string;
  file_name: string;
  event_name: string | null;
  triggered_at: string;
  triggered_at_utc: string;
  playback_time: number | null;
  vid_ext: string;
  thmb_ext: string;
  dir: string | null;
  state: EventState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  thumb_state: ThumbState;
  thumb_attempts: number;
  thumb_next_attempt_at: string | null;
  discovered_at: string;
  fetch_started_at: string | null;
  stored_at: string | null;
  video_path: string | null;
  video_size: number | null;
  video_sha256: string | null;
  thumb_path: string | null;
  thumb_size: number | null;
  thumb_sha256: string | null;
  backup_state: BackupState;
  backed_up_at: string | null;
  deleted_on_camera_at: string | null;
  retired_at: string | null;
  flagged: number;
  viewed: number;
  tags_json: string | null;
  metadata: string | null;
  created_at: string;
}

interface CameraRow {
  id: number;
  serial_number: string;
  name: string | null;
  base_url: string | null;
  timezone: string | null;
  info: string | null;
  first_seen: string;
  last_seen: string;
  event_count: number;
  stored_bytes: number;
}

interface OutboxRow {
  id: number;
  event_id: number;
  kind: OutboxKind;
  key: string;
  path: string | null;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  etag: string | null;
  size: number | null;
  video_size: number | null;
  video_sha256: string | null;
  thumb_size: number | null;
  thumb_sha256: string | null;
  serial_number: string;
  file_name: string;
}

/** Columns of an event row joined with its camera; `e` is `events`, `c` is `cameras`. For query modules. */
const DISCOVERED_COLUMNS = `camera_id, file_name, event_name, triggered_at, triggered_at_utc, playback_time,
  vid_ext, thmb_ext, dir, metadata, discovered_at, created_at`;
const DISCOVERED_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** Recordings per transaction in `recordDiscoveredMany` (a 50,000-entry list is 100 transactions). */
export const DISCOVER_BATCH = 500;

function checkDiscovered(event: CameraEvent): void {
  if (
    !event ||
    typeof event.fileName !== 'string' ||
    event.fileName.length === 0 ||
    event.fileName.length > 255
  ) {
    throw new InputError('a recording has no valid fileName', { key: 'errors.badEvent' });
  }
}

export const EVENT_SELECT = `SELECT e.*, c.serial_number,
  (SELECT json_group_array(tag) FROM event_tags t WHERE t.event_id = e.id) AS tags_json
  FROM events e JOIN cameras c ON c.id = e.camera_id`;

function parseJsonObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Turns a raw row (from `EVENT_SELECT`) into an EventRecord. */
export function toEventRecord(row: EventRow): EventRecord {
  let tags: string[] = [];
  if (row.tags_json) {
    const parsed: unknown = JSON.parse(row.tags_json);
    if (Array.isArray(parsed)) tags = parsed.filter((t): t is string => typeof t === 'string').sort();
  }
  return {
    id: row.id,
    cameraId: row.camera_id,
    cameraSerial: row.serial_number,
    fileName: row.file_name,
    eventName: row.event_name,
    triggeredAt: row.triggered_at,
    triggeredAtUtc: row.triggered_at_utc,
    playbackTime: row.playback_time,
    vidExt: row.vid_ext,
    thmbExt: row.thmb_ext,
    dir: row.dir,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at,
    thumbState: row.thumb_state,
    thumbAttempts: row.thumb_attempts,
    thumbNextAttemptAt: row.thumb_next_attempt_at,
    discoveredAt: row.discovered_at,
    fetchStartedAt: row.fetch_started_at,
    storedAt: row.stored_at,
    videoPath: row.video_path,
    videoSize: row.video_size,
    videoSha256: row.video_sha256,
    thumbPath: row.thumb_path,
    thumbSize: row.thumb_size,
    thumbSha256: row.thumb_sha256,
    backupState: row.backup_state,
    backedUpAt: row.backed_up_at,
    deletedOnCameraAt: row.deleted_on_camera_at,
    retiredAt: row.retired_at,
    flagged: row.flagged === 1,
    viewed: row.viewed === 1,
    tags,
    metadata: parseJsonObject(row.metadata),
    createdAt: row.created_at,
  };
}

export type { EventRow };

function toCameraRecord(row: CameraRow): CameraRecord {
  return {
    id: row.id,
    serialNumber: row.serial_number,
    name: row.name,
    baseUrl: row.base_url,
    timezone: row.timezone,
    info: parseJsonObject(row.info),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    eventCount: row.event_count,
    storedBytes: row.stored_bytes,
  };
}

function normaliseExt(ext: unknown, fallback: string): string {
  if (typeof ext !== 'string' || ext.length === 0) return fallback;
  return ext.startsWith('.') ? ext : `.${ext}`;
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new InputError(`not an event id: ${String(id)}`);
  return id;
}

function checkSerial(serial: string): string {
  if (typeof serial !== 'string' || serial.trim().length === 0 || serial.length > 128) {
    throw new InputError('a camera serial number is missing or too long', { key: 'errors.badSerial' });
  }
  return serial;
}

/** Validates and normalises tags: trimmed, 1-64 characters, at most 32, no duplicates. */
export function normaliseTags(tags: unknown): string[] {
  if (!Array.isArray(tags))
    throw new InputError('tags must be an array of strings', { key: 'errors.badTags' });
  const out = new Set<string>();
  for (const t of tags) {
    if (typeof t !== 'string') throw new InputError('tags must be strings', { key: 'errors.badTags' });
    const tag = t.trim();
    if (tag.length === 0 || tag.length > 64) {
      throw new InputError('a tag must have 1 to 64 characters', { key: 'errors.badTags' });
    }
    out.add(tag);
  }
  if (out.size > 32) throw new InputError('at most 32 tags per recording', { key: 'errors.badTags' });
  return [...out].sort();
}

function truncate(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Default retry delays of failed fetches and thumbnails: 30 s, doubled per attempt, at most 30 min. */
export const FETCH_RETRY_BASE_MS = 30_000;
export const FETCH_RETRY_MAX_MS = 30 * 60_000;
/** Failed attempts after which a thumbnail is given up (`failed`); the video stays stored. */
export const THUMB_MAX_ATTEMPTS = 10;

function retryDelay(attempts: number, backoff: RetryBackoff = {}): number {
  const base = Math.max(1, backoff.baseDelayMs ?? FETCH_RETRY_BASE_MS);
  const cap = Math.max(base, backoff.maxDelayMs ?? FETCH_RETRY_MAX_MS);
  return Math.min(cap, base * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

function errorForRow(err: unknown): string {
  const key = err instanceof PfcamError ? `${err.key}: ` : '';
  return truncate(key + errorText(err));
}

export class EventStore {
  /** The media folder. */
  readonly media: MediaFiles;
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
  async upsertCamera(serialNumber: string, update: CameraUpdate = {}): Promise<number> {
    checkSerial(serialNumber);
    const now = this.now();
    const row = await this.db.get<{ id: number }>(
      `INSERT INTO cameras (serial_number, name, base_url, timezone, info, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (serial_number) DO UPDATE SET
         name = CASE WHEN ? THEN excluded.name ELSE name END,
         base_url = CASE WHEN ? THEN excluded.base_url ELSE base_url END,
         timezone = CASE WHEN ? THEN excluded.timezone ELSE timezone END,
         info = CASE WHEN ? THEN excluded.info ELSE info END,
         last_seen = excluded.last_seen
       RETURNING id`,
      [
        serialNumber,
        update.name ?? null,
        update.baseUrl ?? null,
        update.timezone ?? null,
        update.info ? JSON.stringify(update.info) : null,
        now,
        now,
        update.name !== undefined ? 1 : 0,
        update.baseUrl !== undefined ? 1 : 0,
        update.timezone !== undefined ? 1 : 0,
        update.info !== undefined ? 1 : 0,
      ],
    );
    if (!row) throw new Error('upsertCamera returned no id');
    return row.id;
  }

  async getCamera(serialNumber: string): Promise<CameraRecord | undefined> {
    const row = await this.db.get<CameraRow>('SELECT * FROM cameras WHERE serial_number = ?', [serialNumber]);
    return row ? toCameraRecord(row) : undefined;
  }

  async listCameras(): Promise<CameraRecord[]> {
    const rows = await this.db.all<CameraRow>('SELECT * FROM cameras ORDER BY serial_number');
    return rows.map(toCameraRecord);
  }

  // ---------------------------------------------------------------- discovery

  /**
   * Records a recording seen on a camera. `isNew` is true exactly once per (camera serial, fileName), ever:
   * the caller emits / fetches only then. A time without an offset is read in `timezone` (else the camera's
   * stored time zone, else UTC); an unreadable time is replaced by the discovery time minus `age` and noted in
   * the metadata, so that the recording is still archived.
   */
  async recordDiscovered(
    cameraSerial: string,
    event: CameraEvent,
    options: { timezone?: string | null; metadata?: Readonly<Record<string, unknown>> } = {},
  ): Promise<{ event: EventRecord; isNew: boolean }> {
    checkSerial(cameraSerial);
    checkDiscovered(event);
    const now = this.now();
    const result = await this.db.transaction(async (tx) => {
      const camera = await this.cameraInTx(tx, cameraSerial, now);
      const isNew = await this.insertDiscovered(tx, camera, event, options, now);
      const row = await tx.get<EventRow>(`${EVENT_SELECT} WHERE e.camera_id = ? AND e.file_name = ?`, [
        camera.id,
        event.fileName,
      ]);
      return { row, isNew };
    });
    if (!result.row) throw new Error('recordDiscovered: row not found after insert');
    return { event: toEventRecord(result.row), isNew: result.isNew };
  }

  /**
   * `recordDiscovered` for a whole list of one camera, in order, `DISCOVER_BATCH` recordings per transaction:
   * the names the store already holds are looked up in one query per batch and only the others are inserted.
   * Resolves with the rows created (each with its index in `events`), in the order of `events`: as for
   * `recordDiscovered`, a recording is in there exactly once, ever.
   */
  async recordDiscoveredMany(
    cameraSerial: string,
    events: readonly CameraEvent[],
    options: { timezone?: string | null } = {},
  ): Promise<{ index: number; event: EventRecord }[]> {
    checkSerial(cameraSerial);
    for (const event of events) checkDiscovered(event);
    const created: { index: number; event: EventRecord }[] = [];
    for (let from = 0; from < events.length; from += DISCOVER_BATCH) {
      const batch = events.slice(from, from + DISCOVER_BATCH);
      const now = this.now();
      const rows = await this.db.transaction(async (tx) => {
        const camera = await this.cameraInTx(tx, cameraSerial, now);
        const names = [...new Set(batch.map((e) => e.fileName))];
        const held = new Set(
          (
            await tx.all<{ file_name: string }>(
              `SELECT file_name FROM events WHERE camera_id = ? AND file_name IN (${names.map(() => '?').join(', ')})`,
              [camera.id, ...names],
            )
          ).map((r) => r.file_name),
        );
        // BEGIN IMMEDIATE holds the write lock: no other connection adds a name between the lookup and the
        // insert, so every name not held is created by the one multi-row INSERT below.
        const fresh: { index: number; fileName: string }[] = [];
        const values: SqlValue[] = [];
        for (let i = 0; i < batch.length; i++) {
          const event = batch[i]!;
          if (held.has(event.fileName)) continue;
          held.add(event.fileName);
          fresh.push({ index: from + i, fileName: event.fileName });
          values.push(...this.discoveredValues(camera, event, options, now));
        }
        if (fresh.length === 0) return [];
        const ins = await tx.run(
          `INSERT OR IGNORE INTO events (${DISCOVERED_COLUMNS}) VALUES ${fresh.map(() => DISCOVERED_ROW).join(', ')}`,
          values,
        );
        if (ins.changes !== fresh.length) throw new Error('recordDiscoveredMany: a name was taken meanwhile');
        if (fresh.length === 0) return [];
        const byName = new Map(
          (
            await tx.all<EventRow>(
              `${EVENT_SELECT} WHERE e.camera_id = ? AND e.file_name IN (${fresh.map(() => '?').join(', ')})`,
              [camera.id, ...fresh.map((f) => f.fileName)],
            )
          ).map((r) => [r.file_name, r]),
        );
        return fresh.map((f) => {
          const row = byName.get(f.fileName);
          if (!row) throw new Error('recordDiscoveredMany: row not found after insert');
          return { index: f.index, row };
        });
      });
      for (const { index, row } of rows) created.push({ index, event: toEventRecord(row) });
    }
    return created;
  }

  /** The INSERT OR IGNORE of one discovered recording; true when its row was created. */
  private async insertDiscovered(
    tx: Transaction,
    camera: { id: number; timezone: string | null },
    event: CameraEvent,
    options: { timezone?: string | null; metadata?: Readonly<Record<string, unknown>> },
    now: string,
  ): Promise<boolean> {
    const ins = await tx.run(
      `INSERT OR IGNORE INTO events (${DISCOVERED_COLUMNS}) VALUES ${DISCOVERED_ROW}`,
      this.discoveredValues(camera, event, options, now),
    );
    return ins.changes === 1;
  }

  /** The values of one discovered recording, in the order of `DISCOVERED_COLUMNS`. */
  private discoveredValues(
    camera: { id: number; timezone: string | null },
    event: CameraEvent,
    options: { timezone?: string | null; metadata?: Readonly<Record<string, unknown>> },
    now: string,
  ): SqlValue[] {
    const metadata: Record<string, unknown> = { ...options.metadata };
    let utc: string;
    try {
      utc = toUtcIso(event.triggeredAt, options.timezone ?? camera.timezone ?? undefined);
    } catch {
      const age = typeof event.age === 'number' && Number.isFinite(event.age) ? event.age : 0;
      utc = new Date(this.clock() - age * 1000).toISOString();
      metadata.timeSource = 'discovered';
    }
    return [
      camera.id,
      event.fileName,
      typeof event.eventName === 'string' ? event.eventName : null,
      typeof event.triggeredAt === 'string' ? event.triggeredAt : String(event.triggeredAt),
      utc,
      Number.isFinite(event.playbackTime) ? Math.round(event.playbackTime) : null,
      normaliseExt(event.vidExt, '.mp4'),
      normaliseExt(event.thmbExt, '.jpg'),
      typeof event.dir === 'string' ? event.dir : null,
      Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null,
      now,
      now,
    ];
  }

  private async cameraInTx(
    tx: Transaction,
    serial: string,
    now: string,
  ): Promise<{ id: number; timezone: string | null }> {
    let row = await tx.get<{ id: number; timezone: string | null }>(
      'SELECT id, timezone FROM cameras WHERE serial_number = ?',
      [serial],
    );
    if (!row) {
      row = await tx.get<{ id: number; timezone: string | null }>(
        'INSERT INTO cameras (serial_number, first_seen, last_seen) VALUES (?, ?, ?) RETURNING id, timezone',
        [serial, now, now],
      );
      if (!row) throw new Error('camera insert returned no id');
    }
    return row;
  }

  // ---------------------------------------------------------------- reading

  async get(id: number): Promise<EventRecord | undefined> {
    const row = await this.db.get<EventRow>(`${EVENT_SELECT} WHERE e.id = ?`, [checkId(id)]);
    return row ? toEventRecord(row) : undefined;
  }

  async getByFile(cameraSerial: string, fileName: string): Promise<EventRecord | undefined> {
    const row = await this.db.get<EventRow>(`${EVENT_SELECT} WHERE c.serial_number = ? AND e.file_name = ?`, [
      cameraSerial,
      fileName,
    ]);
    return row ? toEventRecord(row) : undefined;
  }

  /**
   * Recordings not yet stored (`new`, `fetching`, `failed`), not retired, oldest first: the work list after a
   * restart. `maxAttempts` leaves out those that failed that often.
   */
  async listPending(
    options: {
      cameraSerial?: string;
      limit?: number;
      maxAttempts?: number;
      states?: EventState[];
      /** Only rows due by then (ISO UTC): a failed row waits for its `nextAttemptAt`. */
      dueBy?: string;
      /** Keyset cursor: only rows whose id is greater (the last id of the previous page). */
      afterId?: number;
    } = {},
  ): Promise<EventRecord[]> {
    const states = options.states ?? ['new', 'fetching', 'failed'];
    for (const s of states) {
      if (!EVENT_STATES.includes(s)) throw new InputError(`unknown state: ${String(s)}`);
    }
    const where = [`e.state IN (${states.map(() => '?').join(', ')})`, 'e.retired_at IS NULL'];
    const params: SqlValue[] = [...states];
    if (options.cameraSerial !== undefined) {
      where.push('c.serial_number = ?');
      params.push(options.cameraSerial);
    }
    if (options.maxAttempts !== undefined) {
      where.push('e.attempts < ?');
      params.push(options.maxAttempts);
    }
    if (options.dueBy !== undefined) {
      where.push('(e.next_attempt_at IS NULL OR e.next_attempt_at <= ?)');
      params.push(options.dueBy);
    }
    if (options.afterId !== undefined) {
      where.push('e.id > ?');
      params.push(options.afterId);
    }
    params.push(Math.max(1, Math.min(options.limit ?? 1000, 100_000)));
    const rows = await this.db.all<EventRow>(
      `${EVENT_SELECT} WHERE ${where.join(' AND ')} ORDER BY e.id LIMIT ?`,
      params,
    );
    return rows.map(toEventRecord);
  }

  /** The relative media paths a recording is (or will be) stored under. */
  pathsFor(
    event: Pick<EventRecord, 'cameraSerial' | 'fileName' | 'vidExt' | 'thmbExt' | 'triggeredAtUtc'>,
    storing = false,
  ): MediaPaths {
    return this.media.pathsFor(
      {
        serialNumber: event.cameraSerial,
        fileName: event.fileName,
        vidExt: event.vidExt,
        thmbExt: event.thmbExt,
        triggeredAtUtc: event.triggeredAtUtc,
      },
      storing,
    );
  }

  // ---------------------------------------------------------------- fetch steps

  /**
   * `new` / `failed` / `fetching` -> `fetching`: counts an attempt and records the planned media paths.
   * Resolves undefined when the recording is in another state (stored, gone, retired) or unknown.
   */
  async markFetching(id: number): Promise<EventRecord | undefined> {
    const current = await this.get(id);
    if (!current || current.retiredAt !== null || !['new', 'failed', 'fetching'].includes(current.state)) {
      return undefined;
    }
    const paths = this.pathsFor(current, true);
    const res = await this.db.run(
      `UPDATE events SET state = 'fetching', attempts = attempts + 1, fetch_started_at = ?, last_error = NULL,
         next_attempt_at = NULL, video_path = ?, thumb_path = ?
       WHERE id = ? AND state IN ('new', 'failed', 'fetching') AND retired_at IS NULL`,
      [this.now(), paths.videoPath, paths.thumbPath, id],
    );
    return res.changes === 1 ? this.get(id) : undefined;
  }

  /**
   * -> `stored`, with the verified files (paths relative to the media folder, checked to be inside it).
   * Idempotent: a recording already stored keeps its row. Throws for a retired or unknown recording.
   */
  async markStored(id: number, media: StoredMedia): Promise<EventRecord> {
    checkId(id);
    this.media.resolve(media.video.path);
    if (media.thumbnail) this.media.resolve(media.thumbnail.path);
    const thumbState: ThumbState = media.thumbnail ? 'stored' : (media.thumbnailState ?? 'none');
    const res = await this.db.run(
      `UPDATE events SET state = 'stored', stored_at = ?, last_error = NULL, next_attempt_at = NULL,
         video_path = ?, video_size = ?, video_sha256 = ?, thumb_path = ?, thumb_size = ?, thumb_sha256 = ?,
         thumb_state = ?, thumb_attempts = 0, thumb_next_attempt_at = ?,
         announce_pending = CASE WHEN ? THEN 1 ELSE announce_pending END
       WHERE id = ? AND state IN ('new', 'fetching', 'failed', 'gone') AND retired_at IS NULL`,
      [
        this.now(),
        media.video.path,
        media.video.size,
        media.video.sha256,
        media.thumbnail?.path ?? null,
        media.thumbnail?.size ?? null,
        media.thumbnail?.sha256 ?? null,
        thumbState,
        thumbState === 'pending' ? this.now() : null,
        media.announce === true ? 1 : 0,
        id,
      ],
    );
    const row = await this.get(id);
    if (!row) throw new InputError(`no recording with id ${id}`, { key: 'errors.eventNotFound' });
    if (res.changes === 0 && row.state !== 'stored') {
      throw new PfcamError('errors.badTransition', `recording ${id} cannot be stored (it is ${row.state})`);
    }
    return row;
  }

  /**
   * `new` / `fetching` -> `failed`, keeping the error text (with its i18n key when it has one) and the time the
   * next attempt is due (`backoff` per attempt: doubled each time, capped).
   */
  async markFailed(id: number, error: unknown, backoff?: RetryBackoff): Promise<EventRecord | undefined> {
    checkId(id);
    const row = await this.db.get<{ attempts: number }>('SELECT attempts FROM events WHERE id = ?', [id]);
    const next = new Date(this.clock() + retryDelay(row?.attempts ?? 1, backoff)).toISOString();
    await this.db.run(
      `UPDATE events SET state = 'failed', last_error = ?, next_attempt_at = ?
       WHERE id = ? AND state IN ('new', 'fetching', 'failed')`,
      [errorForRow(error), next, id],
    );
    return this.get(id);
  }

  /**
   * Stored recordings whose announcement to the flow was not handed over (a stop or a crash came between
   * `markStored` and the hand-over), oldest first.
   */
  async listAnnouncePending(options: { limit?: number; afterId?: number } = {}): Promise<EventRecord[]> {
    const rows = await this.db.all<EventRow>(
      `${EVENT_SELECT} WHERE e.announce_pending = 1 AND e.state = 'stored' AND e.retired_at IS NULL AND e.id > ?
       ORDER BY e.id LIMIT ?`,
      [options.afterId ?? 0, Math.max(1, Math.min(options.limit ?? 1000, 100_000))],
    );
    return rows.map(toEventRecord);
  }

  /** The announcements of these recordings were handed over: they are not replayed. */
  async markAnnounced(ids: readonly number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500).map(checkId);
      await this.db.run(
        `UPDATE events SET announce_pending = 0 WHERE announce_pending = 1 AND id IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
    }
  }

  /** Stored recordings whose thumbnail is to be tried again and is due by `dueBy` (ISO UTC), oldest due first. */
  async listThumbnailsDue(
    options: { dueBy?: string; limit?: number; cameraSerial?: string } = {},
  ): Promise<EventRecord[]> {
    const camera = options.cameraSerial !== undefined ? 'AND c.serial_number = ?' : '';
    const rows = await this.db.all<EventRow>(
      `${EVENT_SELECT} WHERE e.thumb_state = 'pending' AND e.state = 'stored' AND e.retired_at IS NULL
         AND e.thumb_next_attempt_at <= ? ${camera} ORDER BY e.thumb_next_attempt_at, e.id LIMIT ?`,
      [
        options.dueBy ?? this.now(),
        ...(options.cameraSerial !== undefined ? [options.cameraSerial] : []),
        Math.max(1, Math.min(options.limit ?? 1000, 100_000)),
      ],
    );
    return rows.map(toEventRecord);
  }

  /**
   * Fetches the thumbnail of a stored recording whose thumbnail is `pending`, without touching its video:
   * `download` writes the thumbnail (through `.part` + rename) and reports it, or null when the camera has none
   * (-> `missing`). A failure counts an attempt and sets the next try (`backoff`), or `failed` after
   * `maxAttempts`; the error is rethrown. Resolves undefined when there is nothing to fetch.
   */
  async fetchThumbnail(
    id: number,
    download: (target: { event: EventRecord; thumbPath: string; thumbFile: string }) => Promise<{
      bytes: number;
      sha256: string;
    } | null>,
    options: RetryBackoff & { maxAttempts?: number } = {},
  ): Promise<EventRecord | undefined> {
    const event = await this.get(id);
    if (!event || event.state !== 'stored' || event.retiredAt !== null || event.thumbState !== 'pending') {
      return undefined;
    }
    const thumbPath = this.pathsFor(event).thumbPath;
    let result: { bytes: number; sha256: string } | null;
    try {
      const thumbFile = await this.media.prepare(thumbPath);
      result = await download({ event, thumbPath, thumbFile });
    } catch (raw) {
      const err = mediaError(raw, thumbPath);
      if (err instanceof PfcamError && err.key === 'errors.diskFull') {
        await this.media.removeTemp(thumbPath).catch(() => undefined);
      }
      const attempts = event.thumbAttempts + 1;
      const final = attempts >= (options.maxAttempts ?? THUMB_MAX_ATTEMPTS);
      const next = new Date(this.clock() + retryDelay(attempts, options)).toISOString();
      await this.db
        .run(
          `UPDATE events SET thumb_state = ?, thumb_attempts = ?, thumb_next_attempt_at = ?
           WHERE id = ? AND thumb_state = 'pending'`,
          [final ? 'failed' : 'pending', attempts, final ? null : next, id],
        )
        .catch(() => undefined);
      throw err;
    }
    const res = await this.db.run(
      `UPDATE events SET thumb_state = ?, thumb_path = ?, thumb_size = ?, thumb_sha256 = ?,
         thumb_next_attempt_at = NULL
       WHERE id = ? AND thumb_state = 'pending' AND state = 'stored' AND retired_at IS NULL`,
      result ? ['stored', thumbPath, result.bytes, result.sha256, id] : ['missing', null, null, null, id],
    );
    const row = await this.get(id);
    // Retired while the thumbnail downloaded: its file is not the row's and would stay forever.
    if (result && res.changes === 0 && row?.retiredAt !== null) await this.media.remove(thumbPath);
    return row;
  }

  /** Not stored and no longer on the camera (recycled): -> `gone`. A stored recording is left as it is. */
  async markGone(id: number, reason?: string): Promise<EventRecord | undefined> {
    await this.db.run(
      `UPDATE events SET state = 'gone', last_error = coalesce(?, last_error)
       WHERE id = ? AND state IN ('new', 'fetching', 'failed')`,
      [reason ?? null, checkId(id)],
    );
    return this.get(id);
  }

  /** The recording was deleted on the camera (or found missing there). Idempotent. */
  async markDeletedOnCamera(id: number): Promise<void> {
    await this.db.run(
      'UPDATE events SET deleted_on_camera_at = coalesce(deleted_on_camera_at, ?) WHERE id = ?',
      [this.now(), checkId(id)],
    );
  }

  /**
   * The whole fetch step around a download: marks `fetching`, creates the folders, calls `download` with the
   * absolute target files, then marks `stored` with the reported sizes and hashes. On failure the row becomes
   * `failed` with the error (disk full / permission errors carry their keys) and the error is rethrown. The
   * failure path removes only what an unfinished download left: the `.part` files when the disk is full (a
   * `.part` otherwise stays for a later `Range` resume), and a video that is shorter than the download reported
   * (never verified). A final file the download renamed after verifying it is never removed here: the row may
   * already say `stored` (a re-read failing after the commit, e.g. while the store closes). Resolves undefined
   * when the recording is not fetchable (already stored, gone, retired).
   */
  async fetchMedia(
    id: number,
    download: (target: FetchTarget) => Promise<FetchResult>,
    backoff?: RetryBackoff,
    options: { announce?: boolean } = {},
  ): Promise<EventRecord | undefined> {
    const event = await this.markFetching(id);
    if (!event) return undefined;
    const videoPath = event.videoPath!;
    const thumbPath = event.thumbPath!;
    let unverified = false;
    try {
      const videoFile = await this.media.prepare(videoPath);
      const thumbFile = await this.media.prepare(thumbPath);
      const result = await download({ event, videoPath, thumbPath, videoFile, thumbFile });
      const stored: StoredMedia = {
        video: { path: videoPath, size: result.video.bytes, sha256: result.video.sha256 },
        thumbnail: result.thumbnail
          ? { path: thumbPath, size: result.thumbnail.bytes, sha256: result.thumbnail.sha256 }
          : null,
        thumbnailState:
          result.thumbnailError !== undefined ? 'pending' : result.thumbnailMissing ? 'missing' : 'none',
        announce: options.announce === true,
      };
      const actual = await this.media.fileSize(videoPath);
      if (actual !== result.video.bytes) {
        unverified = true;
        throw new PfcamError(
          'errors.fileMissing',
          `the video of ${event.fileName} was not written completely`,
        );
      }
      return await this.markStored(id, stored);
    } catch (raw) {
      const err = mediaError(raw, videoPath);
      const diskFull = err instanceof PfcamError && err.key === 'errors.diskFull';
      if (diskFull) {
        for (const rel of [videoPath, thumbPath]) await this.media.removeTemp(rel).catch(() => undefined);
      }
      if (unverified) await this.media.remove(videoPath, { keepTemp: true }).catch(() => undefined);
      // The row only moves from new/fetching/failed: a row already stored keeps its state. When the store is
      // closing this write fails too; the row then stays `fetching` and is fetched again at the next start.
      await this.markFailed(id, err, backoff).catch(() => undefined);
      throw err;
    }
  }

  // ---------------------------------------------------------------- backup outbox

  /**
   * Queues objects to upload for a recording (idempotent per (event, kind): a pending, inflight or done entry is
   * kept; a failed one, or one whose key changed, is queued again). Sets the recording's backup state to
   * `pending` when something is left to do.
   */
  async enqueueBackup(eventId: number, objects: readonly BackupObject[]): Promise<void> {
    checkId(eventId);
    for (const o of objects) {
      if (!['video', 'thumbnail', 'manifest'].includes(o.kind))
        throw new InputError(`unknown object kind: ${o.kind}`);
      if (typeof o.key !== 'string' || o.key.length === 0 || o.key.length > 1024) {
        throw new InputError('an object key must have 1 to 1024 characters', { key: 'errors.badInput' });
      }
      if (o.path) this.media.resolve(o.path);
    }
    const now = this.now();
    await this.db.transaction(async (tx) => {
      for (const o of objects) {
        await tx.run(
          `INSERT INTO backup_outbox (event_id, kind, key, path, state, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, 'pending', ?, ?)
           ON CONFLICT (event_id, kind) DO UPDATE SET
             key = excluded.key, path = excluded.path, state = 'pending', attempts = 0,
             next_attempt_at = excluded.next_attempt_at, last_error = NULL, etag = NULL, size = NULL, done_at = NULL
           WHERE backup_outbox.state = 'failed' OR backup_outbox.key != excluded.key`,
          [eventId, o.kind, o.key, o.path ?? null, now, now],
        );
      }
      await this.refreshBackupState(tx, eventId, now);
    });
  }

  /**
   * Claims up to `limit` due entries (pending and due, or inflight whose lease lapsed after a crash), marking
   * them inflight for `leaseMs`. Each claim counts an attempt. Entries of retired recordings are not claimed.
   */
  async claimBackupBatch(options: { limit?: number; leaseMs?: number } = {}): Promise<OutboxItem[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
    const leaseMs = Math.max(1000, options.leaseMs ?? 15 * 60_000);
    const now = this.now();
    const until = new Date(this.clock() + leaseMs).toISOString();
    return this.db.transaction(async (tx) => {
      const rows = await tx.all<{ id: number }>(
        `SELECT o.id FROM backup_outbox o JOIN events e ON e.id = o.event_id
         WHERE o.state IN ('pending', 'inflight') AND o.next_attempt_at <= ? AND e.retired_at IS NULL
         ORDER BY o.next_attempt_at, o.id LIMIT ?`,
        [now, limit],
      );
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id);
      const marks = ids.map(() => '?').join(', ');
      await tx.run(
        `UPDATE backup_outbox SET state = 'inflight', attempts = attempts + 1, next_attempt_at = ?
         WHERE id IN (${marks})`,
        [until, ...ids],
      );
      const claimed = await tx.all<OutboxRow>(`${OUTBOX_SELECT} WHERE o.id IN (${marks}) ORDER BY o.id`, ids);
      return claimed.map((r) => this.toOutboxItem(r));
    });
  }

  /** An uploaded (and confirmed) object. When all of a recording's objects are done, its backup is `done`. */
  async markBackupDone(
    outboxId: number,
    result: { etag?: string | null; size?: number | null } = {},
  ): Promise<void> {
    const now = this.now();
    await this.db.transaction(async (tx) => {
      const row = await tx.get<{ event_id: number }>('SELECT event_id FROM backup_outbox WHERE id = ?', [
        checkId(outboxId),
      ]);
      if (!row) return;
      await tx.run(
        `UPDATE backup_outbox SET state = 'done', done_at = ?, etag = ?, size = ?, last_error = NULL
         WHERE id = ?`,
        [now, result.etag ?? null, result.size ?? null, outboxId],
      );
      await this.refreshBackupState(tx, row.event_id, now);
    });
  }

  /**
   * A failed upload: retried later with exponential backoff (±20 % jitter), or failed for good when not
   * retryable or out of attempts (the recording's backup state becomes `failed`).
   */
  async markBackupFailed(
    outboxId: number,
    error: unknown,
    options: BackupFailureOptions = {},
  ): Promise<{ state: OutboxState; nextAttemptAt: string | null }> {
    const maxAttempts = options.maxAttempts ?? 10;
    const base = options.baseDelayMs ?? 30_000;
    const cap = options.maxDelayMs ?? 6 * 3600_000;
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{ event_id: number; attempts: number; state: OutboxState }>(
        'SELECT event_id, attempts, state FROM backup_outbox WHERE id = ?',
        [checkId(outboxId)],
      );
      if (!row) throw new InputError(`no backup entry with id ${outboxId}`);
      if (row.state === 'done') return { state: 'done' as const, nextAttemptAt: null };
      const final = options.retryable === false || row.attempts >= maxAttempts;
      let next: string | null = null;
      if (final) {
        await tx.run(`UPDATE backup_outbox SET state = 'failed', last_error = ? WHERE id = ?`, [
          errorForRow(error),
          outboxId,
        ]);
      } else {
        const delay = Math.min(cap, base * 2 ** Math.max(0, row.attempts - 1));
        const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
        next = new Date(this.clock() + jittered).toISOString();
        await tx.run(
          `UPDATE backup_outbox SET state = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?`,
          [errorForRow(error), next, outboxId],
        );
      }
      await this.refreshBackupState(tx, row.event_id, now);
      return { state: final ? ('failed' as const) : ('pending' as const), nextAttemptAt: next };
    });
  }

  /** Queues failed entries again (all, or one recording's). Returns how many. */
  async retryFailedBackups(eventId?: number): Promise<number> {
    const now = this.now();
    return this.db.transaction(async (tx) => {
      const events = await tx.all<{ event_id: number }>(
        `SELECT DISTINCT event_id FROM backup_outbox WHERE state = 'failed' ${eventId !== undefined ? 'AND event_id = ?' : ''}`,
        eventId !== undefined ? [checkId(eventId)] : [],
      );
      const res = await tx.run(
        `UPDATE backup_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?
         WHERE state = 'failed' ${eventId !== undefined ? 'AND event_id = ?' : ''}`,
        eventId !== undefined ? [now, eventId] : [now],
      );
      for (const e of events) await this.refreshBackupState(tx, e.event_id, now);
      return res.changes;
    });
  }

  /** The outbox entries of one recording. */
  async listOutbox(eventId: number): Promise<OutboxItem[]> {
    const rows = await this.db.all<OutboxRow>(`${OUTBOX_SELECT} WHERE o.event_id = ? ORDER BY o.id`, [
      checkId(eventId),
    ]);
    return rows.map((r) => this.toOutboxItem(r));
  }

  private async refreshBackupState(tx: Transaction, eventId: number, now: string): Promise<void> {
    const counts = await tx.get<{ total: number; done: number; failed: number }>(
      `SELECT count(*) AS total, coalesce(sum(state = 'done'), 0) AS done, coalesce(sum(state = 'failed'), 0) AS failed
       FROM backup_outbox WHERE event_id = ?`,
      [eventId],
    );
    if (!counts || counts.total === 0) return;
    const state: BackupState =
      counts.failed > 0 ? 'failed' : counts.done === counts.total ? 'done' : 'pending';
    await tx.run(
      `UPDATE events SET backup_state = ?,
         backed_up_at = CASE WHEN ? = 'done' THEN coalesce(backed_up_at, ?) ELSE NULL END
       WHERE id = ?`,
      [state, state, now, eventId],
    );
  }

  private toOutboxItem(r: OutboxRow): OutboxItem {
    const expectedSize = r.kind === 'video' ? r.video_size : r.kind === 'thumbnail' ? r.thumb_size : null;
    const expectedSha256 =
      r.kind === 'video' ? r.video_sha256 : r.kind === 'thumbnail' ? r.thumb_sha256 : null;
    return {
      id: r.id,
      eventId: r.event_id,
      kind: r.kind,
      key: r.key,
      path: r.path,
      file: r.path ? this.media.resolve(r.path) : null,
      state: r.state,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      lastError: r.last_error,
      etag: r.etag,
      size: r.size,
      expectedSize,
      expectedSha256,
      cameraSerial: r.serial_number,
      fileName: r.file_name,
    };
  }

  // ---------------------------------------------------------------- retention and deletion

  /**
   * Stored recordings retention may remove, oldest first: not flagged, not retired, triggered before
   * `olderThan` (ISO UTC) when given, backed up when `requireBackup`.
   */
  async listRetirementCandidates(
    options: { olderThan?: string; requireBackup?: boolean; cameraSerial?: string; limit?: number } = {},
  ): Promise<EventRecord[]> {
    const where = ["e.state = 'stored'", 'e.retired_at IS NULL', 'e.flagged = 0'];
    const params: SqlValue[] = [];
    if (options.olderThan !== undefined) {
      where.push('e.triggered_at_utc < ?');
      params.push(toUtcIso(options.olderThan, 'UTC'));
    }
    if (options.requireBackup) where.push("e.backup_state = 'done'");
    if (options.cameraSerial !== undefined) {
      where.push('c.serial_number = ?');
      params.push(options.cameraSerial);
    }
    params.push(Math.max(1, Math.min(options.limit ?? 100, 10_000)));
    const rows = await this.db.all<EventRow>(
      `${EVENT_SELECT} WHERE ${where.join(' AND ')} ORDER BY e.triggered_at_utc, e.id LIMIT ?`,
      params,
    );
    return rows.map(toEventRecord);
  }

  /**
   * Stored recordings that may be deleted on the camera (their durable copy exists: stored, and backed up when
   * `requireBackup`), not yet deleted there, oldest first.
   */
  async listDeletableOnCamera(
    options: { cameraSerial?: string; requireBackup?: boolean; limit?: number } = {},
  ): Promise<EventRecord[]> {
    const where = ["e.state = 'stored'", 'e.deleted_on_camera_at IS NULL'];
    const params: SqlValue[] = [];
    if (options.requireBackup) where.push("e.backup_state = 'done'");
    if (options.cameraSerial !== undefined) {
      where.push('c.serial_number = ?');
      params.push(options.cameraSerial);
    }
    params.push(Math.max(1, Math.min(options.limit ?? 100, 10_000)));
    const rows = await this.db.all<EventRow>(
      `${EVENT_SELECT} WHERE ${where.join(' AND ')} ORDER BY e.triggered_at_utc, e.id LIMIT ?`,
      params,
    );
    return rows.map(toEventRecord);
  }

  /**
   * Retires a recording: the row stays as a tombstone (so a recording still on the camera is not discovered
   * again) with `retired_at` set and no file paths; then its files are removed. A flagged recording is refused
   * unless `force`. Idempotent; resolves false when there was nothing to retire.
   */
  async retire(
    id: number,
    options: { actor?: string; reason?: string; force?: boolean } = {},
  ): Promise<boolean> {
    const now = this.now();
    const paths = await this.db.transaction(async (tx) => {
      const row = await tx.get<{
        video_path: string | null;
        thumb_path: string | null;
        flagged: number;
        retired_at: string | null;
      }>('SELECT video_path, thumb_path, flagged, retired_at FROM events WHERE id = ?', [checkId(id)]);
      if (!row || row.retired_at !== null) return undefined;
      if (row.flagged === 1 && !options.force) {
        throw new PfcamError('errors.flagged', `recording ${id} is flagged and is kept`);
      }
      await tx.run(`UPDATE events SET retired_at = ?, video_path = NULL, thumb_path = NULL WHERE id = ?`, [
        now,
        id,
      ]);
      await tx.run(
        "UPDATE backup_outbox SET state = 'failed', last_error = 'retired' WHERE event_id = ? AND state != 'done'",
        [id],
      );
      await this.auditInTx(tx, options.actor ?? 'retention', 'retire', `event:${id}`, {
        reason: options.reason ?? null,
      });
      return [row.video_path, row.thumb_path].filter((p): p is string => p !== null);
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
      const row = await tx.get<{ video_path: string | null; thumb_path: string | null; file_name: string }>(
        'SELECT video_path, thumb_path, file_name FROM events WHERE id = ?',
        [checkId(id)],
      );
      if (!row) return undefined;
      await tx.run('DELETE FROM events WHERE id = ?', [id]);
      await this.auditInTx(tx, options.actor ?? 'system', 'delete', `event:${id}`, {
        fileName: row.file_name,
      });
      return [row.video_path, row.thumb_path].filter((p): p is string => p !== null);
    });
    if (!paths) return false;
    for (const p of paths) await this.media.remove(p);
    return true;
  }

  // ---------------------------------------------------------------- user marks

  async setFlag(id: number, flagged: boolean): Promise<EventRecord | undefined> {
    await this.db.run('UPDATE events SET flagged = ? WHERE id = ?', [flagged ? 1 : 0, checkId(id)]);
    return this.get(id);
  }

  async setViewed(id: number, viewed: boolean): Promise<EventRecord | undefined> {
    await this.db.run('UPDATE events SET viewed = ? WHERE id = ?', [viewed ? 1 : 0, checkId(id)]);
    return this.get(id);
  }

  /** Replaces a recording's tags (validated by `normaliseTags`). */
  async setTags(id: number, tags: readonly string[]): Promise<EventRecord | undefined> {
    const clean = normaliseTags(tags);
    checkId(id);
    await this.db.transaction(async (tx) => {
      const exists = await tx.get('SELECT 1 AS x FROM events WHERE id = ?', [id]);
      if (!exists) return;
      await tx.run('DELETE FROM event_tags WHERE event_id = ?', [id]);
      for (const tag of clean)
        await tx.run('INSERT INTO event_tags (event_id, tag) VALUES (?, ?)', [id, tag]);
    });
    return this.get(id);
  }

  /** Merges keys into a recording's metadata object (a key set to null is removed). */
  async mergeMetadata(
    id: number,
    patch: Readonly<Record<string, unknown>>,
  ): Promise<EventRecord | undefined> {
    const json = JSON.stringify(patch);
    if (json.length > 64 * 1024) throw new InputError('metadata is larger than 64 KiB');
    await this.db.run(`UPDATE events SET metadata = json_patch(coalesce(metadata, '{}'), ?) WHERE id = ?`, [
      json,
      checkId(id),
    ]);
    return this.get(id);
  }

  // ---------------------------------------------------------------- audit

  /** Appends an audit entry (who did what to what). */
  async audit(
    actor: string,
    action: string,
    target?: string | null,
    details?: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    await this.db.run('INSERT INTO audit (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)', [
      this.now(),
      truncate(actor, 200),
      truncate(action, 200),
      target ?? null,
      details ? JSON.stringify(details) : null,
    ]);
  }

  async listAudit(options: { limit?: number; beforeId?: number } = {}): Promise<AuditRecord[]> {
    const rows = await this.db.all<{
      id: number;
      at: string;
      actor: string;
      action: string;
      target: string | null;
      details: string | null;
    }>('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?', [
      options.beforeId ?? Number.MAX_SAFE_INTEGER,
      Math.max(1, Math.min(options.limit ?? 100, 10_000)),
    ]);
    return rows.map((r) => ({ ...r, details: parseJsonObject(r.details) }));
  }

  private async auditInTx(
    tx: Transaction,
    actor: string,
    action: string,
    target: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await tx.run('INSERT INTO audit (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)', [
      this.now(),
      actor,
      action,
      target,
      JSON.stringify(details),
    ]);
  }

  // ---------------------------------------------------------------- recovery and stats

  /**
   * Start-up sweep: removes `.part` files that no pending recording (new, fetching, failed) may resume, and
   * (unless `verifyStored` is false) sets stored recordings whose video file is missing back to `new`, to be
   * fetched again (see `verifyStoredFiles`). Run the sweep before any download starts.
   */
  async recover(options: { verifyStored?: boolean } = {}): Promise<RecoveryReport> {
    const keep = new Set<string>();
    await this.db.each<{ video_path: string | null; thumb_path: string | null }>(
      `SELECT video_path, thumb_path FROM events
       WHERE state IN ('new', 'fetching', 'failed') AND retired_at IS NULL AND video_path IS NOT NULL`,
      [],
      (r) => {
        if (r.video_path) keep.add(r.video_path);
        if (r.thumb_path) keep.add(r.thumb_path);
      },
    );
    const removedTemp = await this.media.sweepTemp(keep);
    const resetMissing = options.verifyStored === false ? [] : await this.verifyStoredFiles();
    return { removedTemp, resetMissing };
  }

  /**
   * Checks that every stored recording's video is on disk with its recorded size; those that are not are set back
   * to `new`, to be fetched again. Walks the table in batches (safe while other work goes on); `signal` stops it
   * between batches. Resolves with the ids reset.
   */
  async verifyStoredFiles(options: { signal?: AbortSignal } = {}): Promise<number[]> {
    const resetMissing: number[] = [];
    let lastId = 0;
    for (;;) {
      if (options.signal?.aborted) break;
      const batch = await this.db.all<{ id: number; video_path: string | null; video_size: number | null }>(
        `SELECT id, video_path, video_size FROM events
         WHERE state = 'stored' AND retired_at IS NULL AND id > ? ORDER BY id LIMIT 500`,
        [lastId],
      );
      if (batch.length === 0) break;
      lastId = batch[batch.length - 1]!.id;
      for (const r of batch) {
        const size = r.video_path ? await this.media.fileSize(r.video_path) : undefined;
        if (size !== undefined && (r.video_size === null || size === r.video_size)) continue;
        const res = await this.db.run(
          `UPDATE events SET state = 'new', stored_at = NULL, video_size = NULL, video_sha256 = NULL,
             thumb_size = NULL, thumb_sha256 = NULL, last_error = 'file missing at start-up'
           WHERE id = ? AND state = 'stored' AND retired_at IS NULL`,
          [r.id],
        );
        if (res.changes === 1) resetMissing.push(r.id);
      }
    }
    return resetMissing;
  }

  /** Counts by state, outbox counts and bytes stored. */
  async stats(): Promise<StoreStats> {
    const byState = Object.fromEntries(EVENT_STATES.map((s) => [s, 0])) as Record<EventState, number>;
    const byBackupState = Object.fromEntries(BACKUP_STATES.map((s) => [s, 0])) as Record<BackupState, number>;
    const outbox: Record<OutboxState, number> = { pending: 0, inflight: 0, done: 0, failed: 0 };
    for (const r of await this.db.all<{ state: EventState; n: number }>(
      'SELECT state, count(*) AS n FROM events WHERE retired_at IS NULL GROUP BY state',
    )) {
      byState[r.state] = r.n;
    }
    for (const r of await this.db.all<{ backup_state: BackupState; n: number }>(
      'SELECT backup_state, count(*) AS n FROM events WHERE retired_at IS NULL GROUP BY backup_state',
    )) {
      byBackupState[r.backup_state] = r.n;
    }
    for (const r of await this.db.all<{ state: OutboxState; n: number }>(
      'SELECT state, count(*) AS n FROM backup_outbox GROUP BY state',
    )) {
      outbox[r.state] = r.n;
    }
    const totals = await this.db.get<{ cameras: number; events: number; bytes: number }>(
      'SELECT count(*) AS cameras, coalesce(sum(event_count), 0) AS events, coalesce(sum(stored_bytes), 0) AS bytes FROM cameras',
    );
    const retired = await this.db.get<{ n: number }>(
      'SELECT count(*) AS n FROM events WHERE retired_at IS NOT NULL',
    );
    return {
      cameras: totals?.cameras ?? 0,
      events: totals?.events ?? 0,
      retired: retired?.n ?? 0,
      byState,
      byBackupState,
      outbox,
      storedBytes: totals?.bytes ?? 0,
    };
  }

  /** Bytes of live recordings' files (video + thumbnail), all cameras or one. Kept by triggers: O(cameras). */
  async storedBytes(cameraSerial?: string): Promise<number> {
    const row =
      cameraSerial === undefined
        ? await this.db.get<{ b: number }>('SELECT coalesce(sum(stored_bytes), 0) AS b FROM cameras')
        : await this.db.get<{ b: number }>('SELECT stored_bytes AS b FROM cameras WHERE serial_number = ?', [
            cameraSerial,
          ]);
    return row?.b ?? 0;
  }
}

const OUTBOX_SELECT = `SELECT o.*, e.video_size, e.video_sha256, e.thumb_size, e.thumb_sha256, e.file_name,
  c.serial_number
  FROM backup_outbox o JOIN events e ON e.id = o.event_id JOIN cameras c ON c.id = e.camera_id`;
