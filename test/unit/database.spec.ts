import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../lib/store/database';

describe('Database', () => {
  let dir: string;
  let db: Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-db-'));
    db = await Database.open(join(dir, 'test.sqlite'));
  });

  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the file in WAL mode', async () => {
    const row = await db.get<{ journal_mode: string }>('PRAGMA journal_mode');
    assert.equal(row?.journal_mode, 'wal');
  });

  it('syncs every commit to disk (synchronous = FULL), so a power cut keeps committed rows', async () => {
    const row = await db.get<{ synchronous: number }>('PRAGMA synchronous');
    assert.equal(row?.synchronous, 2);
  });

  it('applies each namespace migration once, in order, and records the version', async () => {
    const migrations = [
      { version: 2, description: 'add b', up: 'ALTER TABLE t ADD COLUMN b TEXT' },
      { version: 1, description: 'create t', up: 'CREATE TABLE t (a INTEGER)' },
    ];
    assert.equal(await db.migrate('demo', migrations), 2);
    assert.equal(await db.migrate('demo', migrations), 2);
    await db.run('INSERT INTO t (a, b) VALUES (?, ?)', [1, 'x']);
    assert.deepEqual(await db.all('SELECT a, b FROM t'), [{ a: 1, b: 'x' }]);
  });

  it('rolls a failed migration back and keeps the earlier version', async () => {
    await db.migrate('demo', [{ version: 1, description: 'create t', up: 'CREATE TABLE t (a INTEGER)' }]);
    await assert.rejects(
      db.migrate('demo', [
        { version: 1, description: 'create t', up: 'CREATE TABLE t (a INTEGER)' },
        { version: 2, description: 'broken', up: 'CREATE TABLE u (x); SELECT nope FROM nowhere' },
      ]),
      /no such table/,
    );
    const row = await db.get<{ v: number }>(
      "SELECT MAX(version) AS v FROM schema_migrations WHERE namespace='demo'",
    );
    assert.equal(row?.v, 1);
    assert.equal(await db.get("SELECT name FROM sqlite_master WHERE name = 'u'"), undefined);
  });

  it('migrates once when two connections open the same new file at the same time', async () => {
    const other = await Database.open(db.file);
    try {
      const migrations = [
        { version: 1, description: 'create t', up: 'CREATE TABLE t (a INTEGER)' },
        { version: 2, description: 'create u', up: 'CREATE TABLE u (a INTEGER)' },
      ];
      assert.deepEqual(
        await Promise.all([db.migrate('demo', migrations), other.migrate('demo', migrations)]),
        [2, 2],
      );
      const rows = await db.all<{ version: number }>(
        "SELECT version FROM schema_migrations WHERE namespace='demo'",
      );
      assert.deepEqual(rows.map((r) => r.version).sort(), [1, 2]);
    } finally {
      await other.close();
    }
  });

  it('refuses a schema newer than the code knows', async () => {
    await db.migrate('demo', [
      { version: 1, description: 'one', up: 'CREATE TABLE t (a)' },
      { version: 2, description: 'two', up: 'CREATE TABLE u (a)' },
    ]);
    await assert.rejects(db.migrate('demo', [{ version: 1, description: 'one', up: 'CREATE TABLE t (a)' }]), {
      code: 'SCHEMA_TOO_NEW',
    });
  });

  it('keeps other statements out of a running transaction and rolls back on error', async () => {
    await db.exec('CREATE TABLE t (a INTEGER)');
    const tx = db.transaction(async (t) => {
      await t.run('INSERT INTO t VALUES (1)');
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('boom');
    });
    const outside = db.run('INSERT INTO t VALUES (2)');
    await assert.rejects(tx, /boom/);
    await outside;
    assert.deepEqual(await db.all('SELECT a FROM t'), [{ a: 2 }]);
  });
});
