/**
 * The alerting's own tables, under the migration namespace `notify` (independent of the event store's schema).
 *
 * - notify_recipients: people and their preferences (kinds, cameras, channels, quiet hours); the dashboard's
 *   user administration manages them.
 * - notify_notifications: every notification a notify node accepted (its identity makes replays harmless) and
 *   whether its delivery report was given.
 * - notify_outbox: one row per notification x channel x recipient, with a unique idempotency key; the drain
 *   loop delivers and marks them.
 * - notify_cooldown: the open cooldown window per (node, camera|kind) and what it has grouped so far.
 *
 * Rows of notifications, outbox and cooldown belong to one notify node (`owner` = the node's id), so several
 * notify nodes can share one database without delivering each other's rows.
 */
import type { Database, Migration } from '../store/database';

export const NOTIFY_NAMESPACE = 'notify';

export const NOTIFY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'recipients, notifications, outbox, cooldown',
    up: `
      CREATE TABLE notify_recipients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT,
        user_id TEXT,
        kinds TEXT,
        cameras TEXT,
        channels TEXT NOT NULL DEFAULT '["email"]',
        quiet_start TEXT,
        quiet_end TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
      );
      CREATE INDEX notify_recipients_user ON notify_recipients (user_id);

      CREATE TABLE notify_notifications (
        owner TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        camera TEXT,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        reported_at INTEGER,
        PRIMARY KEY (owner, id)
      );
      CREATE INDEX notify_notifications_age ON notify_notifications (owner, created_at);

      CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner TEXT NOT NULL,
        idem_key TEXT NOT NULL UNIQUE,
        notification_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        last_error_key TEXT,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX notify_outbox_due ON notify_outbox (owner, state, next_attempt_at);
      CREATE INDEX notify_outbox_notification ON notify_outbox (owner, notification_id);

      CREATE TABLE notify_cooldown (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0,
        first_at TEXT,
        last_at TEXT,
        items TEXT NOT NULL DEFAULT '[]',
        sample TEXT,
        recipients TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (owner, key)
      );
      CREATE INDEX notify_cooldown_due ON notify_cooldown (owner, pending, window_end);
    `,
  },
];

/** Applies the `notify` migrations (idempotent). */
export async function migrateNotify(db: Database): Promise<void> {
  await db.migrate(NOTIFY_NAMESPACE, NOTIFY_MIGRATIONS);
}

/** The statements available both on a Database and inside a transaction. */
export interface Sql {
  run(
    sql: string,
    params?: readonly (string | number | null)[],
  ): Promise<{ changes: number; lastID: number }>;
  get<T>(sql: string, params?: readonly (string | number | null)[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly (string | number | null)[]): Promise<T[]>;
}
