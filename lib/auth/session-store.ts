/**
 * Sessions over SQLite (owner of `auth_sessions`), as an express-session store. A session ends after
 * `idleMs` without a request (default 30 min) or `absoluteMs` after login (default 12 h), whichever comes first.
 * Sessions are listed and revoked per user; listeners hear every revocation (to drop that session's sockets),
 * expiries included: `sweep()` (run on a timer by the security module) ends the sessions that expired unseen.
 *
 * A session id is never stored: rows are keyed by its SHA-256 (`sessionKey`), so a copy of the database file
 * signs no one in. The last-seen time is written at most once per `touchEveryMs` per session (every request
 * would otherwise be a write competing with the archive's); the idle limit is checked against it.
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

/** The key a session is stored under: the SHA-256 of its id. */
export function sessionKey(sid: string): string {
  return createHash('sha256').update(sid).digest('hex');
}

/** A short public id of a session (the start of its key): listed to its user, never the session id. */
export function sessionHandle(sid: string): string {
  return sessionKey(sid).slice(0, 16);
}

/** At most one last-seen write per session in this time (or a tenth of the idle limit, if shorter). */
export const TOUCH_EVERY_MS = 60 * 1000;

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
      {
        version: 2,
        description:
          'sessions keyed by the hash of their id (the rows of raw ids are dropped: sign in again)',
        up: `DELETE FROM auth_sessions;`,
      },
    ]);
    return new SessionTable(
      db,
      options.idleMs ?? DEFAULT_IDLE_MS,
      options.absoluteMs ?? DEFAULT_ABSOLUTE_MS,
      options.now ?? Date.now,
    );
  }

  /** When each session's last-seen time was last written (key -> ms). */
  private readonly touched = new Map<string, number>();

  private expired(row: Row, at: number): boolean {
    return at - row.last_seen_at > this.idleMs || at - row.created_at > this.absoluteMs;
  }

  /** The live session data, or undefined (unknown or expired: an expired one is removed). */
  async get(sid: string): Promise<SessionData | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM auth_sessions WHERE sid = ?', [sessionKey(sid)]);
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
        sessionKey(sid),
        typeof data.userId === 'number' ? data.userId : null,
        JSON.stringify(clean),
        at,
        at,
        String(data.ip ?? '').slice(0, 64),
        String(data.userAgent ?? '').slice(0, 256),
      ],
    );
  }

  /** Records activity on a session (written at most once per TOUCH_EVERY_MS). */
  async touch(sid: string): Promise<void> {
    const key = sessionKey(sid);
    const at = this.now();
    if (at - (this.touched.get(key) ?? -Infinity) < Math.min(TOUCH_EVERY_MS, this.idleMs / 10)) return;
    this.touched.set(key, at);
    await this.db.run('UPDATE auth_sessions SET last_seen_at = ? WHERE sid = ?', [at, key]);
  }

  async destroy(sid: string, reason = 'logout'): Promise<void> {
    await this.end(sessionKey(sid), reason);
  }

  /** Deletes a session by its key and tells the listeners. */
  private async end(key: string, reason: string): Promise<boolean> {
    const row = await this.db.get<Row>('SELECT user_id FROM auth_sessions WHERE sid = ?', [key]);
    await this.db.run('DELETE FROM auth_sessions WHERE sid = ?', [key]);
    this.touched.delete(key);
    if (row) this.emit('revoke', { key, userId: row.user_id, reason } satisfies RevokeEvent);
    return row !== undefined;
  }

  async listForUser(userId: number): Promise<SessionInfo[]> {
    const at = this.now();
    const rows = await this.db.all<Row>('SELECT * FROM auth_sessions WHERE user_id = ? ORDER BY created_at', [
      userId,
    ]);
    return rows
      .filter((r) => !this.expired(r, at))
      .map((r) => ({
        handle: r.sid.slice(0, 16),
        userId,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        ip: r.ip,
        userAgent: r.user_agent,
      }));
  }

  /** Ends every session of the user (except `keepSid`); returns how many ended. */
  async revokeUser(userId: number, reason: string, keepSid?: string): Promise<number> {
    const keep = keepSid === undefined ? undefined : sessionKey(keepSid);
    const rows = await this.db.all<{ sid: string }>('SELECT sid FROM auth_sessions WHERE user_id = ?', [
      userId,
    ]);
    let n = 0;
    for (const { sid: key } of rows) {
      if (key === keep) continue;
      if (await this.end(key, reason)) n++;
    }
    return n;
  }

  /** Ends one session of the user by its public handle. */
  async revokeHandle(userId: number, handle: string, reason = 'revoked'): Promise<boolean> {
    if (!/^[0-9a-f]{16}$/.test(handle)) return false;
    const rows = await this.db.all<{ sid: string }>('SELECT sid FROM auth_sessions WHERE user_id = ?', [
      userId,
    ]);
    const hit = rows.find((r) => r.sid.startsWith(handle));
    return hit ? this.end(hit.sid, reason) : false;
  }

  /**
   * Ends the sessions that expired (idle or absolute) and tells the listeners, so that their open sockets drop
   * without waiting for a request; returns how many ended.
   */
  async sweep(): Promise<number> {
    const at = this.now();
    const rows = await this.db.all<{ sid: string }>(
      'SELECT sid FROM auth_sessions WHERE last_seen_at < ? OR created_at < ?',
      [at - this.idleMs, at - this.absoluteMs],
    );
    let n = 0;
    for (const { sid: key } of rows) if (await this.end(key, 'expired')) n++;
    return n;
  }
}

export interface RevokeEvent {
  /** The session's key (`sessionKey(sid)`): the id itself is never kept. */
  key: string;
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
