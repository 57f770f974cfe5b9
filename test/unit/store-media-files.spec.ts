import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { MediaFiles, safeExt, safeName } from '../../lib/store/media-files';

describe('MediaFiles', () => {
  let dir: string;
  let media: MediaFiles;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-media-'));
    media = new MediaFiles(join(dir, 'media'));
    await media.init();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function inside(abs: string): boolean {
    const rel = relative(media.root, abs);
    return rel !== '' && !rel.startsWith('..') && resolve(media.root, rel) === abs;
  }

  const hostile = [
    '../../etc/passwd',
    '..',
    '.',
    '.hidden',
    'a\\b',
    'a/b',
    'x\0y',
    'C:\\Windows\\system32',
    'name with spaces',
    'ünïcødé',
    'x'.repeat(500),
    'clip.part',
    '-rf',
  ];

  it('keeps names that are already safe unchanged', () => {
    assert.equal(safeName('20240501_100000'), '20240501_100000');
    assert.equal(safeName('PF-1234.A'), 'PF-1234.A');
    assert.equal(safeExt('.mp4'), '.mp4');
    assert.equal(safeExt('jpg'), '.jpg');
  });

  it('places every hostile file name and serial inside the media folder, in a safe name', () => {
    for (const name of hostile) {
      const paths = media.pathsFor({
        serialNumber: name,
        fileName: name,
        vidExt: '.mp4',
        thmbExt: '/../../x',
        triggeredAtUtc: '2024-05-01T10:00:00.000Z',
      });
      for (const rel of [paths.videoPath, paths.thumbPath]) {
        const abs = media.resolve(rel);
        assert.ok(inside(abs), `${JSON.stringify(name)} -> ${rel} stays inside`);
        for (const part of rel.split('/')) {
          assert.match(part, /^[A-Za-z0-9_-][A-Za-z0-9._~-]*$/, `segment ${part} of ${JSON.stringify(name)}`);
          assert.ok(part.length <= 160, 'bounded length');
        }
      }
    }
  });

  it('gives distinct hostile names distinct files, also when they sanitise alike', () => {
    const names = ['a b', 'a_b', 'a/b', 'a\\b', 'a?b', 'a\0b', '..a_b', `a_b~${'0'.repeat(12)}`];
    const out = names.map((n) => safeName(n));
    assert.equal(new Set(out).size, names.length, out.join(' '));
    const long1 = `${'x'.repeat(300)}1`;
    const long2 = `${'x'.repeat(300)}2`;
    assert.notEqual(safeName(long1), safeName(long2));
    assert.equal(safeName('a b'), `a_b~${createHash('sha256').update('a b').digest('hex').slice(0, 12)}`);
  });

  it('refuses an empty name', () => {
    assert.throws(() => safeName(''), { key: 'errors.unsafeName' });
  });

  it('refuses relative paths that leave the media folder or are the folder itself', () => {
    for (const bad of ['../x', '../../etc/passwd', '/etc/passwd', 'a/../../x', '', '.', 'a/..', 'x\0y']) {
      assert.throws(() => media.resolve(bad), { key: 'errors.pathOutsideMedia' }, bad);
    }
    assert.equal(media.resolve('a/b.mp4'), join(media.root, 'a', 'b.mp4'));
  });

  it('refuses a file that links outside the media folder', async () => {
    await writeFile(join(dir, 'secret'), 'secret');
    await mkdir(join(media.root, 'SN1'), { recursive: true });
    await symlink(join(dir, 'secret'), join(media.root, 'SN1', 'link.mp4'));
    await assert.rejects(media.resolveExisting('SN1/link.mp4'), { key: 'errors.pathOutsideMedia' });
    await writeFile(join(media.root, 'SN1', 'ok.mp4'), 'ok');
    assert.equal((await media.resolveExisting('SN1/ok.mp4')).size, 2);
  });

  it('writes atomically from a stream with the right size and SHA-256, leaving no temp file', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world')];
    const result = await media.writeAtomic('SN1/2024/05/01/a.mp4', Readable.from(chunks));
    assert.equal(result.bytes, 11);
    assert.equal(result.sha256, createHash('sha256').update('hello world').digest('hex'));
    assert.equal(await readFile(media.resolve('SN1/2024/05/01/a.mp4'), 'utf8'), 'hello world');
    assert.deepEqual(await readdir(join(media.root, 'SN1/2024/05/01')), ['a.mp4']);
  });

  it('keeps the old content when a write fails midway, and removes the temp file', async () => {
    await media.writeAtomic('a.mp4', 'old');
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('new-part');
      await Promise.resolve();
      throw new Error('link dropped');
    }
    await assert.rejects(media.writeAtomic('a.mp4', failing()), /link dropped/);
    assert.equal(await readFile(media.resolve('a.mp4'), 'utf8'), 'old');
    await assert.rejects(stat(`${media.resolve('a.mp4')}.part`), { code: 'ENOENT' });
  });

  it('does not follow a symbolic link planted at the temp path', async () => {
    await writeFile(join(dir, 'target'), 'untouched');
    await symlink(join(dir, 'target'), `${media.resolve('a.mp4')}.part`);
    await assert.rejects(media.writeAtomic('a.mp4', 'data'));
    assert.equal(await readFile(join(dir, 'target'), 'utf8'), 'untouched');
  });

  it('maps ENOSPC, EACCES and ENOTDIR to keys users can act on', async () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    const full = new MediaFiles(media.root, {
      io: { open: () => Promise.reject(err('ENOSPC')) },
    });
    await assert.rejects(full.writeAtomic('a.mp4', 'x'), { key: 'errors.diskFull' });
    const denied = new MediaFiles(media.root, { io: { mkdir: () => Promise.reject(err('EACCES')) } });
    await assert.rejects(denied.prepare('SN1/a.mp4'), { key: 'errors.permission' });
    await writeFile(join(dir, 'plain-file'), 'x');
    const underFile = new MediaFiles(join(dir, 'plain-file', 'media'));
    await assert.rejects(underFile.init(), { key: 'errors.mediaFolder' });
  });

  it('removes a file and prunes the folders it emptied, but never the media folder', async () => {
    await media.writeAtomic('SN1/2024/05/01/a.mp4', 'x');
    await media.remove('SN1/2024/05/01/a.mp4');
    assert.deepEqual(await readdir(media.root), []);
    await media.remove('SN1/2024/05/01/a.mp4');
    assert.ok((await stat(media.root)).isDirectory());
  });

  it('reports disk space of the media folder', async () => {
    const space = await media.diskSpace();
    assert.ok(space.totalBytes > 0);
    assert.ok(space.availableBytes <= space.freeBytes);
    assert.ok(space.freeBytes <= space.totalBytes);
  });

  it('sweeps .part files except the kept ones', async () => {
    await mkdir(join(media.root, 'a'), { recursive: true });
    await writeFile(join(media.root, 'a', 'x.mp4.part'), '1');
    await writeFile(join(media.root, 'a', 'y.mp4.part'), '2');
    await writeFile(join(media.root, 'a', 'z.mp4'), '3');
    const removed = await media.sweepTemp(new Set(['a/y.mp4']));
    assert.deepEqual(removed, ['a/x.mp4.part']);
    assert.deepEqual((await readdir(join(media.root, 'a'))).sort(), ['y.mp4.part', 'z.mp4']);
  });
});
