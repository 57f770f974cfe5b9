/**
 * The data folder's backup archive (lib/ops/data-backup.ts) on real files and real SQLite: an online snapshot of a
 * database in use, the manifest check, the refusal of a non-empty target, and of entries that would leave it.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import { backupDataFolder, MANIFEST_NAME, restoreDataFolder } from '../../lib/ops/data-backup';
import { tarEnd, tarHeader, tarPadding } from '../../lib/ops/tar-archive';
import { Database } from '../../lib/store/database';

/** Writes a .tar.gz of the given entries (name -> content) exactly as given, manifest included or not. */
async function writeRawArchive(file: string, entries: [string, Buffer][]): Promise<void> {
  const tar = new PassThrough();
  const done = pipeline(tar, createGzip(), createWriteStream(file));
  for (const [name, body] of entries) {
    tar.write(tarHeader(name, body.length, Date.now()));
    tar.write(body);
    tar.write(tarPadding(body.length));
  }
  tar.end(tarEnd());
  await done;
}

function manifestFor(entries: [string, Buffer][]): [string, Buffer] {
  const files = entries.map(([path, body]) => ({
    path,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
  }));
  const m = {
    format: 'pfcam-data-backup',
    version: 1,
    createdAt: new Date().toISOString(),
    userDirInData: null,
    databases: [],
    files,
  };
  return [MANIFEST_NAME, Buffer.from(JSON.stringify(m))];
}

describe('data folder backup and restore (real files, real SQLite)', function () {
  this.timeout(30_000);
  let dir: string;
  let data: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-databackup-'));
    data = join(dir, 'data');
    await mkdir(join(data, 'media', 'CAM-1'), { recursive: true });
    await writeFile(join(data, 'media', 'CAM-1', 'rec.mp4'), Buffer.alloc(70_000, 7));
    await writeFile(join(data, 'media', 'CAM-1', 'half.mp4.part'), 'unfinished');
    await writeFile(join(data, 'auth-key'), 'ab'.repeat(32) + '\n', { mode: 0o600 });
    await writeFile(join(data, 'credential-secret'), 'secret\n', { mode: 0o600 });
    await mkdir(join(data, 'node-red', 'node_modules', 'x'), { recursive: true });
    await writeFile(join(data, 'node-red', 'node_modules', 'x', 'index.js'), '');
    await writeFile(join(data, 'node-red', 'flows.json'), '[{"id":"n1","type":"tab"}]');
    await writeFile(join(data, 'node-red', 'flows_cred.json'), '{"$":"sealed"}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots a database that is open and written to, with the rows still only in its WAL, and restores every file', async () => {
    const db = await Database.open(join(data, 'pfcam.sqlite'));
    try {
      await db.exec('PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT)');
      for (let i = 0; i < 50; i++) await db.run('INSERT INTO t (v) VALUES (?)', [`row ${i}`]);
      assert.ok(existsSync(join(data, 'pfcam.sqlite-wal')), 'the rows are in the WAL file');
      const archive = join(dir, 'backup.tar.gz');
      const manifest = await backupDataFolder({ dataDir: data, archiveFile: archive });
      assert.deepEqual(manifest.databases, ['data/pfcam.sqlite']);
      assert.equal(manifest.userDirInData, 'node-red');
      const names = manifest.files.map((f) => f.path).sort();
      assert.deepEqual(names, [
        'data/auth-key',
        'data/credential-secret',
        'data/media/CAM-1/rec.mp4',
        'data/pfcam.sqlite',
        'user-dir/flows.json',
        'user-dir/flows_cred.json',
      ]);

      const target = join(dir, 'restored');
      await restoreDataFolder({ archiveFile: archive, dataDir: target });
      const restored = await Database.open(join(target, 'pfcam.sqlite'));
      try {
        const count = await restored.get<{ n: number }>('SELECT count(*) AS n FROM t');
        assert.equal(count?.n, 50);
      } finally {
        await restored.close();
      }
      assert.deepEqual(await readFile(join(target, 'media', 'CAM-1', 'rec.mp4')), Buffer.alloc(70_000, 7));
      assert.equal(
        await readFile(join(target, 'node-red', 'flows.json'), 'utf8'),
        '[{"id":"n1","type":"tab"}]',
      );
      assert.equal(await readFile(join(target, 'auth-key'), 'utf8'), 'ab'.repeat(32) + '\n');
      assert.ok(!existsSync(join(target, 'node-red', 'node_modules')));
      assert.ok(!existsSync(join(target, 'media', 'CAM-1', 'half.mp4.part')));
      assert.deepEqual(
        (await readdir(dir)).sort(),
        ['backup.tar.gz', 'data', 'restored'],
        'no temp folder or file is left behind',
      );
    } finally {
      await db.close();
    }
  });

  it('refuses a non-empty target unless forced, and then replaces it whole', async () => {
    const archive = join(dir, 'b.tar.gz');
    await backupDataFolder({ dataDir: data, archiveFile: archive });
    const target = join(dir, 'busy');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'mine');
    await assert.rejects(
      restoreDataFolder({ archiveFile: archive, dataDir: target }),
      /is not empty.*--force/,
    );
    assert.equal(await readFile(join(target, 'keep.txt'), 'utf8'), 'mine');
    await restoreDataFolder({ archiveFile: archive, dataDir: target, force: true });
    assert.ok(!existsSync(join(target, 'keep.txt')));
    assert.ok(existsSync(join(target, 'auth-key')));
  });

  for (const evil of [
    'data/../../escaped.txt',
    '/tmp/escaped.txt',
    'data/media/../../../escaped.txt',
    'data\\..\\escaped.txt',
    'escaped.txt',
    'user-dir/settings.js',
  ]) {
    it(`refuses the entry "${evil}" and writes nothing outside (or inside) the target`, async () => {
      const entries: [string, Buffer][] = [
        ['data/auth-key', Buffer.from('k')],
        [evil, Buffer.from('pwned')],
      ];
      const archive = join(dir, 'evil.tar.gz');
      await writeRawArchive(archive, [...entries, manifestFor(entries)]);
      const target = join(dir, 'sub', 'target');
      await assert.rejects(restoreDataFolder({ archiveFile: archive, dataDir: target }), /refused/);
      assert.ok(!existsSync(target), 'the target was not created');
      assert.ok(!existsSync(join(dir, 'escaped.txt')));
      assert.ok(!existsSync(join(dir, 'sub', 'escaped.txt')));
      assert.ok(!existsSync('/tmp/escaped.txt'));
      assert.deepEqual(await readdir(join(dir, 'sub')), [], 'the staging folder is removed');
    });
  }

  it('refuses an archive whose file does not match its manifest, one without a manifest, and one with an unlisted file', async () => {
    const good: [string, Buffer][] = [['data/auth-key', Buffer.from('key')]];
    const cases: [string, [string, Buffer][], RegExp][] = [
      ['tampered', [['data/auth-key', Buffer.from('KEY')], manifestFor(good)], /does not match its SHA-256/],
      ['no-manifest', good, /no manifest/],
      ['extra', [...good, ['data/extra', Buffer.from('x')], manifestFor(good)], /not in its manifest/],
    ];
    for (const [name, entries, error] of cases) {
      const archive = join(dir, `${name}.tar.gz`);
      await writeRawArchive(archive, entries);
      const target = join(dir, `t-${name}`);
      await assert.rejects(restoreDataFolder({ archiveFile: archive, dataDir: target }), error, name);
      assert.ok(!existsSync(target), `${name}: nothing restored`);
    }
  });

  it('refuses a truncated archive', async () => {
    const archive = join(dir, 'b.tar.gz');
    await backupDataFolder({ dataDir: data, archiveFile: archive });
    const bytes = await readFile(archive);
    await writeFile(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const target = join(dir, 'cut');
    await assert.rejects(restoreDataFolder({ archiveFile: archive, dataDir: target }));
    assert.ok(!existsSync(target));
  });
});
