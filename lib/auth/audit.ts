/**
 * The audit log (owner of `auth_audit`): append-only from the application's side (no update or delete API apart
 * from the retention), queried with filters and keyset pagination (newest first).
 */
import type { Database } from '../store/database';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  /** Who: a user name, a token label, or '' when unknown. */
  readonly actor: string;
  /** What, e.g. `login`, `login.failed`, `user.create`, `GET /recordings`. */
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly ip?: string;
  readonly camera?: string;
  /** The recording, user or token concerned. */
  readonly target?: string;
  /** Extra facts; never a secret. */
  readonly detail?: string;
}

export interface AuditRecord extends Required<Omit<AuditEntry, 'camera' | 'target' | 'detail' | 'ip'>> {
  readonly id: number;
  readonly at: string;
  readonly ip: string | null;
  readonly camera: string | null;
  readonly target: string | null;
  readonly detail: string | null;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** ISO times. */
  from?: string;
  to?: string;
  /** The id of the last record of the previous page. */
  before?: number;
  limit?: number;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

export class AuditLog {
  private constructor(private readonly db: Database) {}

  static async open(db: Database): Promise<AuditLog> {
    await db.migrate('auth-audit', [
      {
        version: 1,
        description: 'audit log',
        up: `CREATE TABLE auth_audit (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               actor TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
               ip TEXT, camera TEXT, target TEXT, detail TEXT);
             CREATE INDEX auth_audit_at ON auth_audit(at);`,
      },
    ]);
    return new AuditLog(db);
  }

  async append(e: AuditEntry): Promise<number> {
    const clip = (v: string | undefined, n: number): string | null =>
      v === undefined ? null : String(v).slice(0, n);
    const r = await this.db.run(
      'INSERT INTO auth_audit (actor, action, outcome, ip, camera, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        String(e.actor).slice(0, 100),
        String(e.action).slice(0, 200),
        e.outcome,
        clip(e.ip, 64),
        clip(e.camera, 64),
        clip(e.target, 200),
        clip(e.detail, 1000),
      ],
    );
    return r.lastID;
  }

  async query(q: AuditQuery = {}): Promise<{ items: AuditRecord[]; next: number | null }> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.actor) {
      where.push('actor = ?');
      params.push(q.actor);
    }
    if (q.action) {
      where.push('action LIKE ?');
      params.push(q.action.replace(/[%_]/g, '') + '%');
    }
    if (q.outcome) {
      where.push('outcome = ?');
      params.push(q.outcome);
    }
    if (q.from) {
      where.push('at >= ?');
      params.push(q.from);
    }
    if (q.to) {
      where.push('at <= ?');
      params.push(q.to);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      params.push(q.before);
    }
    const limit = Math.min(Math.max(Math.floor(q.limit ?? 50), 1), 500);
    const rows = await this.db.all<AuditRecord>(
      `SELECT * FROM auth_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`,
      [...params, limit + 1],
    );
    const items = rows.slice(0, limit);
    return { items, next: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null };
  }

  /** Removes records older than `days`; returns how many. */
  async applyRetention(days = DEFAULT_AUDIT_RETENTION_DAYS, now = Date.now()): Promise<number> {
    const cutoff = new Date(now - days * 86_400_000).toISOString();
    return (await this.db.run('DELETE FROM auth_audit WHERE at < ?', [cutoff])).changes;
  }
}
