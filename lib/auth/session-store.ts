/**
 * Sessions over SQLite (owner of `auth_sessions`), as an express-session store. A session ends after
 * `idleMs` without a request (default 30 min) or `absoluteMs` after login (default 12 h), whichever comes first.
 * Sessions are listed and revoked per user; listeners hear every revocation (to drop that session's sockets).
 *
 * This module does not import express-session: `SqliteSessionStore.extend(Store)` builds the store class from
 * the `Store` base express-session hands over.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Database } from '../store/database';

export const DEFAULT_IDLE_MS = 30 * 60 * 1000;
export const DEFAULT_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

export interface SessionInfo {
  /** A short public id of the session (a hash: never the session id itself). */
  readonly handle: string;
  readonly userId: number;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly ip: string;
  readonly userAgent: string;
}

interface Row {
  sid: string;
  user_id: number | null;
  data: string;
  created_at: number;
  last_seen_at: number;
  ip: string;
  user_agent: string;
}

export function sessionHandle(sid: string): string {
  return createHash('sha256').update(sid).digest('hex').slice(0, 16);
}

/** The session data as far as this module cares. */
export interface SessionData {
  userId?: number;
  ip?: string;
  userAgent?: string;
  [key: string]: unknown;
}

/** Storage and expiry; `SqliteSessionStore.extend` adapts it to express-session's callbacks. */
export class SessionTable extends EventEmitter {
  private constructor(
    private readonly db: Database,
    readonly idleMs: number,
    readonly absoluteMs: number,
    private readonly now: () => number,
  ) {
    super();
  }

  static async open(
    db: Database,
    options: { idleMs?: number; absoluteMs?: number; now?: () => number } = {},
  ): Promise<SessionTable> {
    await db.migrate('auth-sessions', [
      {
        version: 1,
        description: 'sessions',
        up: `CREATE TABLE auth_sessions (
               sid TEXT PRIMARY KEY,
               user_id INTEGER,
               data TEXT NOT NULL,
               created_at INTEGER NOT NULL,
               last_seen_at INTEGER NOT NULL,
               ip TEXT NOT NULL DEFAULT '',
               user_agent TEXT NOT NULL DEFAULT '');
             CREATE INDEX auth_sessions_user ON auth_sessions(user_id);`,
      },
    ]);
    return new SessionTable(
      db,
      options.idleMs ?? DEFAULT_IDLE_MS,
      options.absoluteMs ?? DEFAULT_ABSOLUTE_MS,
      options.now ?? Date.now,
    );
  }

  private expired(row: Row, at: number): boolean {
    return at - row.last_seen_at > this.idleMs || at - row.created_at > this.absoluteMs;
  }

  /** The live session data, or undefined (unknown or expired: an expired one is removed). */
  async get(sid: string): Promise<SessionData | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM auth_sessions WHERE sid = ?', [sid]);
    if (!row) return undefined;
    if (this.expired(row, this.now())) {
      await this.destroy(sid, 'expired');
      return undefined;
    }
    return JSON.parse(row.data) as SessionData;
  }

  async set(sid: string, data: SessionData): Promise<void> {
    const at = this.now();
    const clean = { ...data };
    await this.db.run(
      `INSERT INTO auth_sessions (sid, user_id, data, created_at, last_seen_at, ip, user_agent)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET user_id = excluded.user_id, data = excluded.data,
         last_seen_at = excluded.last_seen_at`,
      [
        sid,
        typeof data.userId === 'number' ? data.userId : null,
        JSON.stringify(clean),
        at,
        at,
        String(data.ip ?? '').slice(0, 64),
        String(data.userAgent ?? '').slice(0, 256),
      ],
    );
  }

  async touch(sid: string): Promise<void> {
    await this.db.run('UPDATE auth_sessions SET last_seen_at = ? WHERE sid = ?', [this.now(), sid]);
  }

  async destroy(sid: string, reason = 'logout'): Promise<void> {
    const row = await this.db.get<Row>('SELECT user_id FROM auth_sessions WHERE sid = ?', [sid]);
    await this.db.run('DELETE FROM auth_sessions WHERE sid = ?', [sid]);
    if (row) this.emit('revoke', { sid, userId: row.user_id, reason });
  }

  async listForUser(userId: number): Promise<SessionInfo[]> {
    const at = this.now();
    const rows = await this.db.all<Row>('SELECT * FROM auth_sessions WHERE user_id = ? ORDER BY created_at', [
      userId,
    ]);
    return rows
      .filter((r) => !this.expired(r, at))
      .map((r) => ({
        handle: sessionHandle(r.sid),
        userId,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        ip: r.ip,
        userAgent: r.user_agent,
      }));
  }

  /** Ends every session of the user (except `keepSid`); returns how many ended. */
  async revokeUser(userId: number, reason: string, keepSid?: string): Promise<number> {
    const rows = await this.db.all<{ sid: string }>('SELECT sid FROM auth_sessions WHERE user_id = ?', [
      userId,
    ]);
    let n = 0;
    for (const { sid } of rows) {
      if (sid === keepSid) continue;
      await this.db.run('DELETE FROM auth_sessions WHERE sid = ?', [sid]);
      this.emit('revoke', { sid, userId, reason });
      n++;
    }
    return n;
  }

  /** Ends one session of the user by its public handle. */
  async revokeHandle(userId: number, handle: string, reason = 'revoked'): Promise<boolean> {
    const rows = await this.db.all<{ sid: string }>('SELECT sid FROM auth_sessions WHERE user_id = ?', [
      userId,
    ]);
    const hit = rows.find((r) => sessionHandle(r.sid) === handle);
    if (!hit) return false;
    await this.destroy(hit.sid, reason);
    return true;
  }

  /** Removes expired sessions; returns how many. */
  async prune(): Promise<number> {
    const at = this.now();
    const r = await this.db.run('DELETE FROM auth_sessions WHERE last_seen_at < ? OR created_at < ?', [
      at - this.idleMs,
      at - this.absoluteMs,
    ]);
    return r.changes;
  }
}

export interface RevokeEvent {
  sid: string;
  userId: number | null;
  reason: string;
}

type Cb = (err?: unknown, value?: unknown) => void;

/** An express-session store class over a SessionTable. `Store` is express-session's `Store` base class. */
export function sqliteSessionStore(Store: abstract new () => object, table: SessionTable): object {
  class SqliteStore extends Store {
    get(sid: string, cb: Cb): void {
      // express-session needs the cookie's record in a session: a row written without one gets the default
      table
        .get(sid)
        .then(
          (d) =>
            cb(undefined, d ? { cookie: { originalMaxAge: null, path: '/', httpOnly: true }, ...d } : null),
          cb,
        );
    }
    set(sid: string, data: SessionData, cb: Cb = () => undefined): void {
      table.set(sid, data).then(() => cb(), cb);
    }
    touch(sid: string, _data: unknown, cb: Cb = () => undefined): void {
      table.touch(sid).then(() => cb(), cb);
    }
    destroy(sid: string, cb: Cb = () => undefined): void {
      table.destroy(sid).then(() => cb(), cb);
    }
  }
  return new SqliteStore();
}
