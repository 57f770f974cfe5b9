/**
 * Retention's SQL: the owner of the `retention_journal` table (retirements in progress, namespace `retention`),
 * and the reads retention makes over the store's tables (candidates, recordings due for deletion on their
 * camera). The rows themselves are retired through the store (`EventStore.retire`), which owns them.
 */
import type { Database, Migration, SqlValue } from './database';
import type { RetentionCandidate } from '../retention/retention-plan';

export const RETENTION_NAMESPACE = 'retention';

export const RETENTION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'journal of retirements in progress',
    up: `CREATE TABLE retention_journal (
           event_id   INTEGER PRIMARY KEY,
           video_path TEXT,
           thumb_path TEXT,
           reason     TEXT NOT NULL,
           started_at TEXT NOT NULL
         )`,
  },
];

/** One retirement in progress: the recording and the paths its files had. */
export interface JournalRow {
  event_id: number;
  video_path: string | null;
  thumb_path: string | null;
  reason: string;
}

/** What a recording must still be, when its retirement starts, to be retired. */
export interface RetirementProtections {
  keepFlagged: boolean;
  requireBackup: boolean;
}

/** Where a camera's walk through its recordings due for deletion stands: the last one seen. */
export interface DueCursor {
  at: string;
  id: number;
}

interface CandidateRow {
  id: number;
  serial_number: string;
  file_name: string;
  triggered_at_utc: string;
  bytes: number;
  flagged: number;
  backup_state: string;
}

export class RetentionQueries {
  private migrated: Promise<void> | undefined;

  constructor(private readonly db: Database) {}

  /** Applies the journal's migration (once). */
  init(): Promise<void> {
    this.migrated ??= this.db.migrate(RETENTION_NAMESPACE, RETENTION_MIGRATIONS).then(() => undefined);
    return this.migrated;
  }

  /** The retirements a crash interrupted, by recording. */
  journal(): Promise<JournalRow[]> {
    return this.db.all<JournalRow>('SELECT * FROM retention_journal ORDER BY event_id');
  }

  /**
   * Journals the retirement of a recording, re-checking its protections in the same transaction (so a recording
   * flagged or re-queued for backup since the plan is kept). Resolves with the journal row, or undefined when
   * the recording is kept or already retired.
   */
  async beginRetirement(
    id: number,
    reason: string,
    startedAt: string,
    protections: RetirementProtections,
  ): Promise<JournalRow | undefined> {
    return this.db.transaction(async (tx) => {
      const row = await tx.get<{
        video_path: string | null;
        thumb_path: string | null;
        retired_at: string | null;
        flagged: number;
        backup_state: string;
      }>('SELECT video_path, thumb_path, retired_at, flagged, backup_state FROM events WHERE id = ?', [id]);
      if (!row || row.retired_at !== null) return undefined;
      if (protections.keepFlagged && row.flagged === 1) return undefined;
      if (protections.requireBackup && row.backup_state !== 'done') return undefined;
      const entry: JournalRow = {
        event_id: id,
        video_path: row.video_path,
        thumb_path: row.thumb_path,
        reason,
      };
      await tx.run(
        `INSERT OR REPLACE INTO retention_journal (event_id, video_path, thumb_path, reason, started_at)
         VALUES (?, ?, ?, ?, ?)`,
        [id, entry.video_path, entry.thumb_path, reason, startedAt],
      );
      return entry;
    });
  }

  /** The retirement of this recording is finished (or given up: the recording is kept). */
  async endRetirement(eventId: number): Promise<void> {
    await this.db.run('DELETE FROM retention_journal WHERE event_id = ?', [eventId]);
  }

  /** Local recordings retention may consider, oldest first, with what the planner needs. */
  async candidates(): Promise<RetentionCandidate[]> {
    const out: RetentionCandidate[] = [];
    await this.db.each<CandidateRow>(
      `SELECT e.id, c.serial_number, e.file_name, e.triggered_at_utc,
         coalesce(e.video_size, 0) + coalesce(e.thumb_size, 0) AS bytes, e.flagged, e.backup_state
       FROM events e JOIN cameras c ON c.id = e.camera_id
       WHERE e.state = 'stored' AND e.retired_at IS NULL AND e.video_path IS NOT NULL
       ORDER BY e.triggered_at_utc, e.id`,
      [],
      (r) =>
        out.push({
          id: r.id,
          cameraSerial: r.serial_number,
          fileName: r.file_name,
          triggeredAt: r.triggered_at_utc,
          bytes: r.bytes,
          flagged: r.flagged === 1,
          backedUp: r.backup_state === 'done',
        }),
    );
    return out;
  }

  /** Every camera of the store, in the order they were first seen. */
  cameras(): Promise<{ id: number; serial_number: string }[]> {
    return this.db.all<{ id: number; serial_number: string }>(
      'SELECT id, serial_number FROM cameras ORDER BY id',
    );
  }

  /** How many of a camera's recordings are due for deletion on it, after `cursor` when given. */
  async countDueOnCamera(cameraId: number, requireBackup: boolean, cursor?: DueCursor): Promise<number> {
    const where = dueOnCamera(cameraId, requireBackup, cursor);
    const left = await this.db.get<{ n: number }>(`SELECT count(*) AS n ${where.sql}`, where.params);
    return left?.n ?? 0;
  }

  /**
   * A camera's next recordings due for deletion on it (stored here, backed up when `requireBackup`, not deleted
   * there yet), oldest first, after `cursor` when given.
   */
  duePageOnCamera(
    cameraId: number,
    requireBackup: boolean,
    cursor: DueCursor | undefined,
    limit: number,
  ): Promise<{ id: number; file_name: string; triggered_at_utc: string }[]> {
    const where = dueOnCamera(cameraId, requireBackup, cursor);
    return this.db.all<{ id: number; file_name: string; triggered_at_utc: string }>(
      `SELECT e.id, e.file_name, e.triggered_at_utc ${where.sql} ORDER BY e.triggered_at_utc, e.id LIMIT ?`,
      [...where.params, limit],
    );
  }
}

function dueOnCamera(
  cameraId: number,
  requireBackup: boolean,
  cursor: DueCursor | undefined,
): { sql: string; params: SqlValue[] } {
  return {
    sql: `FROM events e WHERE e.camera_id = ? AND e.state = 'stored' AND e.stored_at IS NOT NULL
            AND e.deleted_on_camera_at IS NULL
            ${requireBackup ? "AND e.backup_state = 'done'" : ''}
            ${cursor ? 'AND (e.triggered_at_utc > ? OR (e.triggered_at_utc = ? AND e.id > ?))' : ''}`,
    params: cursor ? [cameraId, cursor.at, cursor.at, cursor.id] : [cameraId],
  };
}
