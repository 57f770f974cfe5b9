/**
 * The owner of the `events` table: one row per recording, the archive's cursor and every step's state in it.
 *
 * - Identity of a recording is (camera serial number, `fileName`); never across cameras.
 * - The row is the cursor: discovery is an `INSERT OR IGNORE`, so `isNew` is true exactly once per recording,
 *   across restarts. Rows of retired recordings stay (as tombstones without files) so that a recording still on
 *   the camera is not discovered again.
 * - Each step's state lives in the row (`state`, `thumb_state`, `backup_state`, `announce_pending`,
 *   `deleted_on_camera_at`, `retired_at`), every transition is one guarded UPDATE (or a step of the caller's
 *   transaction), and every call is idempotent: a step interrupted by a crash is simply done again.
 *
 * Other tables' owners call in here for the columns of `events` their work changes (the backup outbox for
 * `backup_state`, the store for retiring and deleting rows, the index rebuild for recordings known from the
 * bucket); none of them writes this table's SQL.
 */
import type { SqlValue, Transaction } from './database';
import { ensureCamera, type CameraKey } from './cameras';
import { mediaError, type MediaPaths } from './media-files';
import {
  checkId,
  checkSerial,
  errorForRow,
  EVENT_SELECT,
  EVENT_STATES,
  toEventRecord,
  BACKUP_STATES,
  type BackupState,
  type EventRecord,
  type EventRow,
  type EventState,
  type FetchResult,
  type FetchTarget,
  type RecoveryReport,
  type RetryBackoff,
  type StoreContext,
  type StoredMedia,
  type ThumbState,
} from './records';
import { toUtcIso } from '../time/zoned-time';
import { InputError, PfcamError } from '../errors';
import type { CameraEvent } from '../camera/types';

/** The columns a discovered recording sets, and one row of their placeholders. */
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

function normaliseExt(ext: unknown, fallback: string): string {
  if (typeof ext !== 'string' || ext.length === 0) return fallback;
  return ext.startsWith('.') ? ext : `.${ext}`;
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

/** A recording known only from its manifest in the bucket (an index rebuilt from S3): retired, backed up. */
export interface RemoteRecording {
  cameraSerial: string;
  fileName: string;
  eventName: string | null;
  triggeredAt: string;
  playbackTime: number | null;
  vidExt: string;
  thmbExt: string;
  videoSha256: string;
  thumbSha256: string | null;
  backedUpAt: string;
  flagged: boolean;
  metadata: Readonly<Record<string, unknown>>;
}

/** The media of a remote recording brought back into the media folder (paths relative to it). */
export interface RestoredMedia {
  videoPath: string;
  videoSize: number;
  thumbPath: string | null;
  thumbSize: number | null;
  metadata: Readonly<Record<string, unknown>>;
}

export class Events {
  constructor(private readonly ctx: StoreContext) {}

  private get db(): StoreContext['db'] {
    return this.ctx.db;
  }

  private get media(): StoreContext['media'] {
    return this.ctx.media;
  }

  private now(): string {
    return this.ctx.now();
  }

  private clock(): number {
    return this.ctx.clock();
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
      const camera = await ensureCamera(tx, cameraSerial, now);
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
        const camera = await ensureCamera(tx, cameraSerial, now);
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
    camera: CameraKey,
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
    camera: CameraKey,
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

  /**
   * The relative media paths a recording is (or will be) stored under; `storing`: about to be stored (a name
   * that had to be sanitised is then reported, once).
   */
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

  // ---------------------------------------------------------------- user marks

  async setFlag(id: number, flagged: boolean): Promise<EventRecord | undefined> {
    await this.db.run('UPDATE events SET flagged = ? WHERE id = ?', [flagged ? 1 : 0, checkId(id)]);
    return this.get(id);
  }

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

  /** True when the recording exists (inside the caller's transaction). */
  async exists(sql: Transaction, id: number): Promise<boolean> {
    return (await sql.get('SELECT 1 AS x FROM events WHERE id = ?', [checkId(id)])) !== undefined;
  }

  // ---------------------------------------------------------------- steps of other owners' transactions

  /** Sets the backup state the outbox derived from its entries (`backed_up_at` kept while done). */
  async setBackupState(tx: Transaction, eventId: number, state: BackupState, now: string): Promise<void> {
    await tx.run(
      `UPDATE events SET backup_state = ?,
         backed_up_at = CASE WHEN ? = 'done' THEN coalesce(backed_up_at, ?) ELSE NULL END
       WHERE id = ?`,
      [state, state, now, eventId],
    );
  }

  /**
   * Retires a row inside the caller's transaction: `retired_at` set, no file paths (the row stays as the
   * tombstone). A flagged recording is refused unless `force`. Resolves with the paths the files had, or
   * undefined when there was nothing to retire.
   */
  async retireRow(tx: Transaction, id: number, now: string, force: boolean): Promise<string[] | undefined> {
    const row = await tx.get<{
      video_path: string | null;
      thumb_path: string | null;
      flagged: number;
      retired_at: string | null;
    }>('SELECT video_path, thumb_path, flagged, retired_at FROM events WHERE id = ?', [checkId(id)]);
    if (!row || row.retired_at !== null) return undefined;
    if (row.flagged === 1 && !force) {
      throw new PfcamError('errors.flagged', `recording ${id} is flagged and is kept`);
    }
    await tx.run(`UPDATE events SET retired_at = ?, video_path = NULL, thumb_path = NULL WHERE id = ?`, [
      now,
      id,
    ]);
    return [row.video_path, row.thumb_path].filter((p): p is string => p !== null);
  }

  /**
   * Deletes a row inside the caller's transaction (its tags and outbox entries go with it, by cascade).
   * Resolves with its file name and the paths its files had, or undefined when unknown.
   */
  async deleteRow(tx: Transaction, id: number): Promise<{ fileName: string; paths: string[] } | undefined> {
    const row = await tx.get<{ video_path: string | null; thumb_path: string | null; file_name: string }>(
      'SELECT video_path, thumb_path, file_name FROM events WHERE id = ?',
      [checkId(id)],
    );
    if (!row) return undefined;
    await tx.run('DELETE FROM events WHERE id = ?', [id]);
    return {
      fileName: row.file_name,
      paths: [row.video_path, row.thumb_path].filter((p): p is string => p !== null),
    };
  }

  /**
   * Inserts a recording known from the bucket, inside the caller's transaction: stored, backed up and retired
   * (no local files). Resolves with its id, or undefined when the index already has it.
   */
  async insertRemote(tx: Transaction, remote: RemoteRecording, now: string): Promise<number | undefined> {
    const camera = await ensureCamera(tx, remote.cameraSerial, now);
    const ins = await tx.run(
      `INSERT OR IGNORE INTO events (camera_id, file_name, event_name, triggered_at, triggered_at_utc, playback_time,
         vid_ext, thmb_ext, state, video_sha256, thumb_sha256, backup_state, backed_up_at, retired_at, flagged,
         metadata, discovered_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'stored', ?, ?, 'done', ?, ?, ?, ?, ?, ?)`,
      [
        camera.id,
        remote.fileName,
        remote.eventName,
        remote.triggeredAt,
        new Date(remote.triggeredAt).toISOString(),
        remote.playbackTime,
        remote.vidExt,
        remote.thmbExt,
        remote.videoSha256,
        remote.thumbSha256,
        new Date(remote.backedUpAt).toISOString(),
        now,
        remote.flagged ? 1 : 0,
        JSON.stringify(remote.metadata),
        now,
        now,
      ],
    );
    if (ins.changes === 0) return undefined;
    const event = await tx.get<{ id: number }>(
      'SELECT id FROM events WHERE camera_id = ? AND file_name = ?',
      [camera.id, remote.fileName],
    );
    if (!event) throw new Error('event insert returned no id');
    return event.id;
  }

  /** The id of the recording when the index knows it only from the bucket (no local files). */
  async findRemote(cameraSerial: string, fileName: string): Promise<number | undefined> {
    const row = await this.db.get<{ id: number }>(
      `SELECT e.id FROM events e JOIN cameras c ON c.id = e.camera_id
       WHERE c.serial_number = ? AND e.file_name = ? AND e.retired_at IS NOT NULL AND e.video_path IS NULL
         AND json_extract(e.metadata, '$.archive.location') = 'remote'`,
      [cameraSerial, fileName],
    );
    return row?.id;
  }

  /** A remote recording whose media were written back into the media folder: a stored recording again. */
  async markRestored(id: number, media: RestoredMedia): Promise<void> {
    await this.db.run(
      `UPDATE events SET retired_at = NULL, stored_at = ?, video_path = ?, video_size = ?, thumb_path = ?,
         thumb_size = ?, metadata = json_patch(coalesce(metadata, '{}'), ?)
       WHERE id = ? AND retired_at IS NOT NULL AND video_path IS NULL`,
      [
        this.now(),
        media.videoPath,
        media.videoSize,
        media.thumbPath,
        media.thumbSize,
        JSON.stringify(media.metadata),
        checkId(id),
      ],
    );
  }

  // ---------------------------------------------------------------- recovery and counts

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

  /** Live (not retired) recordings by state and by backup state, and the retired ones. */
  async counts(): Promise<{
    byState: Record<EventState, number>;
    byBackupState: Record<BackupState, number>;
    retired: number;
  }> {
    const byState = Object.fromEntries(EVENT_STATES.map((s) => [s, 0])) as Record<EventState, number>;
    const byBackupState = Object.fromEntries(BACKUP_STATES.map((s) => [s, 0])) as Record<BackupState, number>;
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
    const retired = await this.db.get<{ n: number }>(
      'SELECT count(*) AS n FROM events WHERE retired_at IS NOT NULL',
    );
    return { byState, byBackupState, retired: retired?.n ?? 0 };
  }
}
