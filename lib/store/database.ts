import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sqlite3 from 'sqlite3';

/** A value SQLite can bind. */
export type SqlValue = string | number | bigint | boolean | null | Buffer;
export type SqlParams = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

/** The result of a write: the last inserted rowid and how many rows changed. */
export interface RunResult {
  lastID: number;
  changes: number;
}

/** One step of a schema: applied once, in order, inside a transaction. */
export interface Migration {
  version: number;
  description: string;
  up: string | ((db: Database) => Promise<void>);
}

export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

function toDatabaseError(err: unknown, sql: string): DatabaseError {
  const e = err as { message?: string; code?: string };
  const oneLine = sql.replace(/\s+/g, ' ').trim().slice(0, 120);
  return new DatabaseError(`${e.message ?? String(err)} (in: ${oneLine})`, e.code, { cause: err });
}

/**
 * A promise API over one sqlite3 connection, in WAL mode, with named, versioned migrations.
 *
 * Several modules own tables in one database file (the event store, the notification outbox, the dashboard's
 * users): each applies its own migration list under its own namespace, tracked in `schema_migrations`.
 *
 * sqlite3 runs the statements of one connection one at a time, so a transaction must not interleave with other
 * statements: `transaction()` queues callers, and while one runs, other statements wait for it.
 */
export class Database {
  private closed = false;
  private txQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
  ) {}

  /**
   * Opens (creating if needed) the database file, in WAL mode with foreign keys on, and `synchronous = FULL`:
   * a committed transaction survives a power cut (NORMAL may roll the last ones back).
   */
  static async open(file: string, options: { busyTimeoutMs?: number } = {}): Promise<Database> {
    if (file !== ':memory:') await mkdir(dirname(file), { recursive: true });
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const db = new sqlite3.Database(file, (err) =>
        err ? reject(toDatabaseError(err, 'open')) : resolve(db),
      );
    });
    const database = new Database(raw, file);
    raw.configure('busyTimeout', options.busyTimeoutMs ?? 5000);
    await database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
    return database;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs one statement that changes data. */
  run(sql: string, params: SqlParams = []): Promise<RunResult> {
    return this.whenFree(() => this.rawRun(sql, params));
  }

  /** The first row of a query, or undefined. */
  get<T>(sql: string, params: SqlParams = []): Promise<T | undefined> {
    return this.whenFree(() => this.rawGet<T>(sql, params));
  }

  /** All rows of a query. */
  all<T>(sql: string, params: SqlParams = []): Promise<T[]> {
    return this.whenFree(() => this.rawAll<T>(sql, params));
  }

  /** Calls `onRow` for each row without holding the result set in memory. Resolves with the row count. */
  each<T>(sql: string, params: SqlParams, onRow: (row: T) => void): Promise<number> {
    return this.whenFree(
      () =>
        new Promise<number>((resolve, reject) => {
          this.db.each(
            sql,
            params as unknown[],
            (err: Error | null, row: T) => {
              if (!err) onRow(row);
            },
            (err: Error | null, count: number) => (err ? reject(toDatabaseError(err, sql)) : resolve(count)),
          );
        }),
    );
  }

  /** Runs several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void> {
    return this.whenFree(() => this.rawExec(sql));
  }

  /**
   * Runs `work` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error). `work` receives a handle whose calls run
   * inside the transaction; calls on the Database itself wait until the transaction ends.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await this.rawExec('BEGIN IMMEDIATE');
      const tx: Transaction = {
        run: (sql, params = []) => this.rawRun(sql, params),
        get: <R>(sql: string, params: SqlParams = []) => this.rawGet<R>(sql, params),
        all: <R>(sql: string, params: SqlParams = []) => this.rawAll<R>(sql, params),
        exec: (sql) => this.rawExec(sql),
      };
      try {
        const result = await work(tx);
        await this.rawExec('COMMIT');
        return result;
      } catch (err) {
        await this.rawExec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    };
    const next = this.txQueue.then(run, run);
    this.txQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * Applies the migrations of `namespace` that are not applied yet, each in its own transaction, in version
   * order. Returns the schema version reached. Refuses a database whose version is newer than the code knows.
   */
  async migrate(namespace: string, migrations: readonly Migration[]): Promise<number> {
    await this.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         namespace TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,
         applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
         PRIMARY KEY (namespace, version))`,
    );
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    const row = await this.get<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM schema_migrations WHERE namespace = ?',
      [namespace],
    );
    let current = row?.v ?? 0;
    const known = sorted.at(-1)?.version ?? 0;
    if (current > known) {
      throw new DatabaseError(
        `the database's "${namespace}" schema is version ${current}, newer than this version of the software knows (${known})`,
        'SCHEMA_TOO_NEW',
      );
    }
    for (const migration of sorted) {
      if (migration.version <= current) continue;
      await this.transaction(async (tx) => {
        // Another connection to the same file may have applied it meanwhile: BEGIN IMMEDIATE holds the write
        // lock, so this check and the migration are atomic across processes.
        const done = await tx.get('SELECT 1 FROM schema_migrations WHERE namespace = ? AND version = ?', [
          namespace,
          migration.version,
        ]);
        if (done) return;
        if (typeof migration.up === 'string') await tx.exec(migration.up);
        else await migration.up(this.inTransaction(tx));
        await tx.run('INSERT INTO schema_migrations (namespace, version, description) VALUES (?, ?, ?)', [
          namespace,
          migration.version,
          migration.description,
        ]);
      });
      current = migration.version;
    }
    return current;
  }

  /** Closes the connection after the statements already queued. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.txQueue;
    await new Promise<void>((resolve, reject) =>
      this.db.close((err) => (err ? reject(toDatabaseError(err, 'close')) : resolve())),
    );
  }

  private whenFree<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DatabaseError('the database is closed', 'CLOSED'));
    return this.txQueue.then(op);
  }

  /** A Database-shaped view whose calls run directly (used inside a migration's own transaction). */
  private inTransaction(tx: Transaction): Database {
    const view = Object.create(this) as Database;
    Object.assign(view, {
      run: tx.run,
      get: tx.get,
      all: tx.all,
      exec: tx.exec,
      transaction: <T>(work: (inner: Transaction) => Promise<T>) => work(tx),
    });
    return view;
  }

  private rawRun(sql: string, params: SqlParams): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, params as unknown[], function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(toDatabaseError(err, sql));
        else resolve({ lastID: this.lastID, changes: this.changes });
      });
    });
  }

  private rawGet<T>(sql: string, params: SqlParams): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.db.get(sql, params as unknown[], (err: Error | null, row: T | undefined) =>
        err ? reject(toDatabaseError(err, sql)) : resolve(row),
      );
    });
  }

  private rawAll<T>(sql: string, params: SqlParams): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.db.all(sql, params as unknown[], (err: Error | null, rows: T[]) =>
        err ? reject(toDatabaseError(err, sql)) : resolve(rows),
      );
    });
  }

  private rawExec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (err: Error | null) => (err ? reject(toDatabaseError(err, sql)) : resolve()));
    });
  }
}

/** The calls available inside `Database.transaction`. */
export interface Transaction {
  run: (sql: string, params?: SqlParams) => Promise<RunResult>;
  get: <T>(sql: string, params?: SqlParams) => Promise<T | undefined>;
  all: <T>(sql: string, params?: SqlParams) => Promise<T[]>;
  exec: (sql: string) => Promise<void>;
}
