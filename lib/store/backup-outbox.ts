/**
 * The owner of the `backup_outbox` table: the persistent outbox that drives S3 uploads, one entry per object of
 * a recording (video, thumbnail, manifest), with claim leases, retries with backoff, and the backlog figures.
 * A recording's `backup_state` follows its entries: set through the events table's owner.
 */
import type { Transaction } from './database';
import type { Events } from './events';
import {
  checkId,
  errorForRow,
  type BackupFailureOptions,
  type BackupObject,
  type BackupState,
  type OutboxItem,
  type OutboxKind,
  type OutboxState,
  type StoreContext,
} from './records';
import { InputError } from '../errors';

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

export interface Backlog {
  /** Objects not confirmed yet (pending or in flight). */
  pendingCount: number;
  /** Their bytes (media files; a manifest counts 0 until written). */
  pendingBytes: number;
  /** Objects that failed for good (an operator must look: missing or changed file). */
  failedCount: number;
}

const OUTBOX_SELECT = `SELECT o.*, e.video_size, e.video_sha256, e.thumb_size, e.thumb_sha256, e.file_name,
  c.serial_number
  FROM backup_outbox o JOIN events e ON e.id = o.event_id JOIN cameras c ON c.id = e.camera_id`;

const iso = (ms: number): string => new Date(ms).toISOString();

/** An object already in the bucket (an index rebuilt from S3): recorded as done. */
export interface ConfirmedObject {
  kind: OutboxKind;
  key: string;
  size: number;
}

export class BackupOutbox {
  constructor(
    private readonly ctx: StoreContext,
    private readonly events: Events,
  ) {}

  private get db(): StoreContext['db'] {
    return this.ctx.db;
  }

  private now(): string {
    return this.ctx.now();
  }

  /**
   * Queues objects to upload for a recording (idempotent per (event, kind): a pending, inflight or done entry is
   * kept; a failed one, or one whose key changed, is queued again). Sets the recording's backup state to
   * `pending` when something is left to do.
   */
  async enqueue(eventId: number, objects: readonly BackupObject[]): Promise<void> {
    checkId(eventId);
    for (const o of objects) {
      if (!['video', 'thumbnail', 'manifest'].includes(o.kind))
        throw new InputError(`unknown object kind: ${o.kind}`);
      if (typeof o.key !== 'string' || o.key.length === 0 || o.key.length > 1024) {
        throw new InputError('an object key must have 1 to 1024 characters', { key: 'errors.badInput' });
      }
      if (o.path) this.ctx.media.resolve(o.path);
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
  async claim(options: { limit?: number; leaseMs?: number } = {}): Promise<OutboxItem[]> {
    const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
    const leaseMs = Math.max(1000, options.leaseMs ?? 15 * 60_000);
    const now = this.now();
    const until = new Date(this.ctx.clock() + leaseMs).toISOString();
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
  async markDone(
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
  async markFailed(
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
        next = new Date(this.ctx.clock() + jittered).toISOString();
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
  async retryFailed(eventId?: number): Promise<number> {
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
  async list(eventId: number): Promise<OutboxItem[]> {
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
    await this.events.setBackupState(tx, eventId, state, now);
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
      file: r.path ? this.ctx.media.resolve(r.path) : null,
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

  // ---------------------------------------------------------------- steps of other owners' transactions

  /** A retired recording's entries not done yet fail for good (inside the retirement's transaction). */
  async abandon(tx: Transaction, eventId: number): Promise<void> {
    await tx.run(
      "UPDATE backup_outbox SET state = 'failed', last_error = 'retired' WHERE event_id = ? AND state != 'done'",
      [eventId],
    );
  }

  /** Records objects already confirmed in the bucket as done (inside the caller's transaction). */
  async insertConfirmed(
    tx: Transaction,
    eventId: number,
    objects: readonly ConfirmedObject[],
    now: string,
  ): Promise<void> {
    for (const o of objects) {
      await tx.run(
        `INSERT OR IGNORE INTO backup_outbox (event_id, kind, key, state, attempts, next_attempt_at, size, created_at,
           done_at) VALUES (?, ?, ?, 'done', 0, ?, ?, ?, ?)`,
        [eventId, o.kind, o.key, now, o.size, now, now],
      );
    }
  }

  // ---------------------------------------------------------------- timing and figures

  /** Entries by state. */
  async countByState(): Promise<Record<OutboxState, number>> {
    const outbox: Record<OutboxState, number> = { pending: 0, inflight: 0, done: 0, failed: 0 };
    for (const r of await this.db.all<{ state: OutboxState; n: number }>(
      'SELECT state, count(*) AS n FROM backup_outbox GROUP BY state',
    )) {
      outbox[r.state] = r.n;
    }
    return outbox;
  }

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

  /** Makes one pending entry due now (a manifest whose recording's media are all confirmed). */
  async makeDueNow(outboxId: number, now: number): Promise<void> {
    await this.db.run("UPDATE backup_outbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'", [
      iso(now),
      outboxId,
    ]);
  }
}
