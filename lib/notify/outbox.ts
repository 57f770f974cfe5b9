/**
 * The persistent outbox: every notification x channel x recipient is a row with a unique idempotency key; a
 * drain loop delivers due rows with bounded concurrency, retries failures with exponential backoff, and marks
 * a row sent only after the receiving server accepted it.
 *
 * Guarantees: nothing is lost (a row stays until it is sent, refused for good, or too old) and nothing is sent
 * twice by the outbox itself. The one window left is at-least-once: if the process dies after the server
 * accepted a delivery and before the row was marked sent, the row is delivered again at start. Email carries
 * the idempotency key as its Message-ID and webhooks as `X-PFCAM-Delivery`, so receivers can drop the repeat.
 */
import { createHash } from 'node:crypto';
import { PfcamError, errorText } from '../errors';
import { metrics as processMetrics, type Metrics } from '../metrics/metrics';
import type { Database } from '../store/database';
import type { Sql } from './schema';

export const CHANNELS = ['email', 'webhook', 'dashboard'] as const;
export type Channel = (typeof CHANNELS)[number];

export type DeliveryState = 'pending' | 'sending' | 'sent' | 'failed' | 'suppressed';

/** A delivery failure; `retryable` decides between another attempt later and giving up now. */
export class DeliveryError extends PfcamError {
  constructor(
    key: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown; retryAfterMs?: number; params?: Readonly<Record<string, string | number>> },
  ) {
    super(key, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }

  readonly retryAfterMs: number | undefined;
}

export interface OutboxRow<P = unknown> {
  id: number;
  idemKey: string;
  notificationId: string;
  channel: Channel;
  recipient: string;
  payload: P;
  state: DeliveryState;
  attempts: number;
  maxAttempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  lastErrorKey: string | null;
  createdAt: number;
  sentAt: number | null;
}

interface RawRow {
  id: number;
  idem_key: string;
  notification_id: string;
  channel: Channel;
  recipient: string;
  payload: string;
  state: DeliveryState;
  attempts: number;
  max_attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_error_key: string | null;
  created_at: number;
  sent_at: number | null;
}

function fromRaw(r: RawRow): OutboxRow {
  return {
    id: r.id,
    idemKey: r.idem_key,
    notificationId: r.notification_id,
    channel: r.channel,
    recipient: r.recipient,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastErrorKey: r.last_error_key,
    createdAt: r.created_at,
    sentAt: r.sent_at,
  };
}

/** The idempotency key of one delivery: stable for (owner, notification, channel, recipient). */
export function idempotencyKey(
  owner: string,
  notificationId: string,
  channel: Channel,
  recipient: string,
): string {
  return createHash('sha256')
    .update(`${owner}\n${notificationId}\n${channel}\n${recipient.toLowerCase()}`)
    .digest('hex')
    .slice(0, 40);
}

/** One delivery to add. */
export interface NewDelivery {
  channel: Channel;
  recipient: string;
  payload: unknown;
  maxAttempts: number;
  /** `suppressed`: recorded (for the report) but never sent, e.g. quiet hours. */
  state?: 'pending' | 'suppressed';
  note?: string;
}

/** Adds deliveries inside the caller's transaction; an existing idempotency key is kept as it is. */
export async function enqueue(
  sql: Sql,
  owner: string,
  notificationId: string,
  deliveries: readonly NewDelivery[],
  nowMs: number,
): Promise<number> {
  let added = 0;
  for (const d of deliveries) {
    const res = await sql.run(
      `INSERT OR IGNORE INTO notify_outbox
         (owner, idem_key, notification_id, channel, recipient, payload, state, attempts, max_attempts,
          next_attempt_at, last_error, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
      [
        owner,
        idempotencyKey(owner, notificationId, d.channel, d.recipient),
        notificationId,
        d.channel,
        d.recipient,
        JSON.stringify(d.payload),
        d.state ?? 'pending',
        Math.max(1, Math.floor(d.maxAttempts)),
        nowMs,
        d.note ?? null,
        nowMs,
      ],
    );
    added += res.changes;
  }
  return added;
}

/** Deliveries of one notification, in insertion order. */
export async function deliveriesOf(sql: Sql, owner: string, notificationId: string): Promise<OutboxRow[]> {
  const rows = await sql.all<RawRow>(
    'SELECT * FROM notify_outbox WHERE owner = ? AND notification_id = ? ORDER BY id',
    [owner, notificationId],
  );
  return rows.map(fromRaw);
}

/** Removes an owner's final deliveries (sent, failed, suppressed) created before `beforeMs`. */
export async function pruneFinal(sql: Sql, owner: string, beforeMs: number): Promise<void> {
  await sql.run(
    "DELETE FROM notify_outbox WHERE owner = ? AND created_at < ? AND state IN ('sent', 'failed', 'suppressed')",
    [owner, beforeMs],
  );
}

/** The alert outbox's backlog over every owner, for the health report; null when no alert node ever ran here. */
export interface OutboxBacklog {
  /** Deliveries not sent yet (pending or being sent). */
  pending: number;
  /** Deliveries given up. */
  failed: number;
  /** When the oldest undelivered one was queued (ms), or null. */
  oldestPendingAt: number | null;
}

export async function outboxBacklog(sql: Sql): Promise<OutboxBacklog | null> {
  const table = await sql.get<{ n: number }>(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'notify_outbox'",
  );
  if (!table?.n) return null;
  const row = await sql.get<{ pending: number | null; failed: number | null; oldest: number | null }>(
    `SELECT sum(state IN ('pending', 'sending')) AS pending, sum(state = 'failed') AS failed,
       min(CASE WHEN state IN ('pending', 'sending') THEN created_at END) AS oldest FROM notify_outbox`,
  );
  return { pending: row?.pending ?? 0, failed: row?.failed ?? 0, oldestPendingAt: row?.oldest ?? null };
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface OutboxOptions {
  /** Delay before the first retry; doubles with each attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A row older than this is given up (failed, `errors.notifyExpired`). */
  maxAgeMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = {
  baseDelayMs: 5_000,
  maxDelayMs: 10 * 60_000,
  maxAgeMs: 24 * 3600_000,
  concurrency: 4,
};

/** Delay before attempt `attempts + 1`: base x 2^(attempts-1), at most max, at least the server's Retry-After. */
export function backoffMs(attempts: number, options: OutboxOptions, retryAfterMs?: number): number {
  const exp = options.baseDelayMs * 2 ** Math.max(0, attempts - 1);
  const jittered = exp * (0.85 + Math.random() * 0.3);
  return Math.min(options.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

export type Deliver = (row: OutboxRow) => Promise<void>;

/** Events of the drain loop, for status and reports. */
export interface OutboxEvents {
  /** A row reached a final state (sent, failed). */
  onFinal?(row: OutboxRow): void;
  /** An attempt failed and the row will be tried again. */
  onRetry?(row: OutboxRow, err: DeliveryError): void;
  /** The loop itself failed (database); it retries on its own. */
  onError?(err: unknown): void;
}

/**
 * The drain loop of one owner's rows. `start()` resumes what a previous run left: rows caught mid-delivery
 * go back to pending, and every pending row is due at once (a restart or redeploy is when settings change).
 */
export class Outbox {
  private timer: unknown;
  private timerAt = Infinity;
  private draining: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly owner: string,
    private readonly deliver: Deliver,
    private readonly options: OutboxOptions = DEFAULT_OUTBOX_OPTIONS,
    private readonly events: OutboxEvents = {},
    private readonly clock: Clock = systemClock,
    /** Where attempts are counted (pfcam_alert_deliveries_total; default: the process's metrics). */
    private readonly metrics: Pick<Metrics, 'alertDelivered'> = processMetrics,
  ) {}

  async start(): Promise<void> {
    const now = this.clock.now();
    await this.db.run(
      `UPDATE notify_outbox SET state = 'pending', next_attempt_at = ? WHERE owner = ? AND state IN ('pending', 'sending')`,
      [now, this.owner],
    );
    this.kick();
  }

  /** Drains now (new rows were added). */
  kick(): void {
    if (this.closed) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.clearTimer();
    this.draining = this.drain()
      .catch((err: unknown) => {
        this.events.onError?.(err);
        this.schedule(this.clock.now() + this.options.baseDelayMs);
      })
      .finally(() => {
        this.draining = null;
        if (this.again && !this.closed) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Pending rows of this owner (for status). */
  async pendingCount(): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM notify_outbox WHERE owner = ? AND state IN ('pending', 'sending')",
      [this.owner],
    );
    return row?.n ?? 0;
  }

  /** Stops the loop and waits (at most `waitMs`) for deliveries in flight. Idempotent. */
  async close(waitMs = 5_000): Promise<void> {
    this.closed = true;
    this.clearTimer();
    const pending = [...this.inFlight];
    if (pending.length === 0 && !this.draining) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...pending, this.draining ?? Promise.resolve()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private schedule(atMs: number): void {
    if (this.closed || atMs >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = atMs;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.kick();
      },
      Math.max(0, atMs - this.clock.now()),
    );
  }

  private async drain(): Promise<void> {
    const limit = Math.max(1, this.options.concurrency);
    for (;;) {
      if (this.closed) return;
      const rows = (
        await this.db.all<RawRow>(
          `SELECT * FROM notify_outbox WHERE owner = ? AND state = 'pending' AND next_attempt_at <= ?
           ORDER BY next_attempt_at, id LIMIT ?`,
          [this.owner, this.clock.now(), limit * 4],
        )
      ).map(fromRaw);
      if (rows.length === 0) break;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < rows.length && !this.closed) {
          const row = rows[next++];
          if (row) await this.attempt(row);
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, rows.length) }, worker));
    }
    if (this.closed) return;
    const due = await this.db.get<{ t: number | null }>(
      "SELECT MIN(next_attempt_at) AS t FROM notify_outbox WHERE owner = ? AND state = 'pending'",
      [this.owner],
    );
    if (due?.t !== null && due?.t !== undefined) this.schedule(due.t);
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const claimed = await this.db.run(
      "UPDATE notify_outbox SET state = 'sending' WHERE id = ? AND state = 'pending'",
      [row.id],
    );
    if (claimed.changes === 0) return;
    const run = this.deliverOne(row);
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async deliverOne(row: OutboxRow): Promise<void> {
    const attempts = row.attempts + 1;
    try {
      await this.deliver(row);
    } catch (caught) {
      this.metrics.alertDelivered(row.channel, 'failure');
      const err =
        caught instanceof DeliveryError
          ? caught
          : new DeliveryError('errors.notifyFailed', errorText(caught), true, { cause: caught });
      const now = this.clock.now();
      const expired = now - row.createdAt >= this.options.maxAgeMs;
      const giveUp = !err.retryable || attempts >= row.maxAttempts || expired;
      const key = expired && err.retryable ? 'errors.notifyExpired' : err.key;
      const nextAt = giveUp ? now : now + backoffMs(attempts, this.options, err.retryAfterMs);
      await this.db.run(
        `UPDATE notify_outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, last_error_key = ?
         WHERE id = ?`,
        [giveUp ? 'failed' : 'pending', attempts, nextAt, err.message.slice(0, 500), key, row.id],
      );
      const updated: OutboxRow = {
        ...row,
        state: giveUp ? 'failed' : 'pending',
        attempts,
        nextAttemptAt: nextAt,
        lastError: err.message,
        lastErrorKey: key,
      };
      if (giveUp) this.events.onFinal?.(updated);
      else {
        this.events.onRetry?.(updated, err);
        this.schedule(nextAt);
      }
      return;
    }
    this.metrics.alertDelivered(row.channel, 'success');
    const sentAt = this.clock.now();
    await this.db.run(
      "UPDATE notify_outbox SET state = 'sent', attempts = ?, sent_at = ?, last_error = NULL, last_error_key = NULL WHERE id = ?",
      [attempts, sentAt, row.id],
    );
    this.events.onFinal?.({ ...row, state: 'sent', attempts, sentAt, lastError: null, lastErrorKey: null });
  }
}
