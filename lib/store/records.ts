/**
 * What the store's modules share: the records they return, the raw rows they read, the checks on ids and
 * serial numbers, and the context they run in. Nothing here writes a table: each table has its owner module
 * (cameras.ts, events.ts, tags.ts, backup-outbox.ts, audit-log.ts, retention-queries.ts).
 */
import type { Database } from './database';
import type { MediaFiles } from './media-files';
import { InputError, PfcamError, errorText } from '../errors';
import { viewedExpression } from './viewed-marks';

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
  /** Viewed by anyone (by the query's viewer, from a query that names one): see viewed-marks.ts. */
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

/** What every owner module of the store runs on: one database, the media folder, and the store's clock. */
export interface StoreContext {
  readonly db: Database;
  readonly media: MediaFiles;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
  /** Now, as the store writes it (ISO-8601 UTC). */
  now(): string;
}

export interface EventRow {
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
  viewed_mark: number;
  tags_json: string | null;
  metadata: string | null;
  created_at: string;
}

export interface CameraRow {
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

/** An event row joined with its camera and its tags; `e` is `events`, `c` is `cameras`. For query modules. */
/**
 * The SELECT of event rows, with `viewed_mark`: an SQL expression of `viewedExpression` (viewed-marks.ts; by
 * default viewed by anyone), whose parameters come first.
 */
export function eventSelect(viewedMark = viewedExpression().sql): string {
  return `SELECT e.*, c.serial_number,
  (SELECT json_group_array(tag) FROM event_tags t WHERE t.event_id = e.id) AS tags_json,
  ${viewedMark} AS viewed_mark
  FROM events e JOIN cameras c ON c.id = e.camera_id`;
}

export const EVENT_SELECT = eventSelect();

export function parseJsonObject(text: string | null): Record<string, unknown> | null {
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
    viewed: row.viewed_mark === 1,
    tags,
    metadata: parseJsonObject(row.metadata),
    createdAt: row.created_at,
  };
}

export function toCameraRecord(row: CameraRow): CameraRecord {
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

export function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new InputError(`not an event id: ${String(id)}`);
  return id;
}

export function checkSerial(serial: string): string {
  if (typeof serial !== 'string' || serial.trim().length === 0 || serial.length > 128) {
    throw new InputError('a camera serial number is missing or too long', { key: 'errors.badSerial' });
  }
  return serial;
}

export function truncate(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An error as a row keeps it: its i18n key (when it has one) and its text, truncated. */
export function errorForRow(err: unknown): string {
  const key = err instanceof PfcamError ? `${err.key}: ` : '';
  return truncate(key + errorText(err));
}
