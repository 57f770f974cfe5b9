/**
 * The few queries the backup needs beyond the EventStore's outbox API (`enqueueBackup`, `claimBackupBatch`,
 * `markBackupDone`, `markBackupFailed`, `listOutbox`): backlog figures, the next due time, handing a claim back
 * without counting it as a failure, lease renewal, "drain now", and stored recordings never queued. They run
 * over the store's own tables (`events`, `backup_outbox`) and change nothing but outbox timing fields.
 */
import type { Database } from '../store/database';

export interface Backlog {
  /** Objects not confirmed yet (pending or in flight). */
  pendingCount: number;
  /** Their bytes (media files; a manifest counts 0 until written). */
  pendingBytes: number;
  /** Objects that failed for good (an operator must look: missing or changed file). */
  failedCount: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class BackupQueries {
  constructor(private readonly db: Database) {}

  async backlog(): Promise<Backlog> {
    const row = await this.db.get<{ pending: number | null; bytes: number | null; failed: number | null }>(
      `SELECT
         sum(o.state IN ('pending', 'inflight')) AS pending,
         sum(CASE WHEN o.state IN ('pending', 'inflight') THEN
           CASE o.kind WHEN 'video' THEN coalesce(e.video_size, 0)
                       WHEN 'thumbnail' THEN coalesce(e.thumb_size, 0) ELSE 0 END
         ELSE 0 END) AS bytes,
         sum(o.state = 'failed') AS failed
       FROM backup_outbox o JOIN events e ON e.id = o.event_id
       WHERE o.state != 'done' AND e.retired_at IS NULL`,
    );
    return { pendingCount: row?.pending ?? 0, pendingBytes: row?.bytes ?? 0, failedCount: row?.failed ?? 0 };
  }

  /** When an object was last confirmed in the bucket (ISO), or null when none ever was. */
  async lastSuccessAt(): Promise<string | null> {
    const row = await this.db.get<{ at: string | null }>(
      "SELECT max(done_at) AS at FROM backup_outbox WHERE state = 'done'",
    );
    return row?.at ?? null;
  }

  /** When the next open row is due (ms; for an in-flight row: when its lease ends), or undefined. */
  async nextDueAt(): Promise<number | undefined> {
    const row = await this.db.get<{ at: string | null }>(
      `SELECT min(o.next_attempt_at) AS at FROM backup_outbox o JOIN events e ON e.id = o.event_id
       WHERE o.state IN ('pending', 'inflight') AND e.retired_at IS NULL`,
    );
    return row?.at ? Date.parse(row.at) : undefined;
  }

  /**
   * Hands a claimed row back, due at `dueAt`, without counting the attempt (the drain was stopped, or a manifest
   * was claimed before its recording's media were confirmed).
   */
  async release(outboxId: number, dueAt: number): Promise<void> {
    await this.db.run(
      `UPDATE backup_outbox SET state = 'pending', attempts = max(0, attempts - 1), next_attempt_at = ?
       WHERE id = ? AND state = 'inflight'`,
      [iso(dueAt), outboxId],
    );
  }

  /** Extends the lease (`next_attempt_at` of an in-flight row) of rows still being uploaded. */
  async renew(outboxIds: readonly number[], until: number): Promise<void> {
    if (outboxIds.length === 0) return;
    await this.db.run(
      `UPDATE backup_outbox SET next_attempt_at = ?
       WHERE state = 'inflight' AND id IN (${outboxIds.map(() => '?').join(', ')})`,
      [iso(until), ...outboxIds],
    );
  }

  /** Makes every pending row due now (an operator's "drain now"). */
  async makeDue(now: number): Promise<number> {
    const res = await this.db.run(
      "UPDATE backup_outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?",
      [iso(now), iso(now)],
    );
    return res.changes;
  }

  /** Ids of stored, live recordings never queued for backup, oldest first. */
  async unqueued(limit: number): Promise<number[]> {
    const rows = await this.db.all<{ id: number }>(
      `SELECT id FROM events
       WHERE state = 'stored' AND retired_at IS NULL AND video_path IS NOT NULL AND backup_state = 'none'
       ORDER BY id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => r.id);
  }
}
