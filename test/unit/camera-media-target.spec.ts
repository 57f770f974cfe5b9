import { strict as assert } from 'node:assert';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Throttle,
  defaultMediaName,
  mediaNodeOptions,
  normaliseExtension,
  prepareTarget,
  progressFigures,
  readMediaRecording,
  resolveInsideFolder,
  sanitiseFileName,
  writeFileAtomic,
} from '../../lib/camera/media-target';

describe('media target (pfcam-media)', () => {
  describe('mediaNodeOptions', () => {
    it('defaults to a video in a Buffer of at most 64 MB, stream hd', () => {
      const o = mediaNodeOptions({});
      assert.equal(o.operation, 'video');
      assert.equal(o.output, 'buffer');
      assert.equal(o.stream, 'hd');
      assert.equal(o.maxBytes, 64 * 1024 * 1024);
    });
    it('needs an absolute folder for file output, and checks the other options', () => {
      assert.throws(() => mediaNodeOptions({ output: 'file', folder: 'rel' }), { key: 'errors.badFolder' });
      assert.throws(() => mediaNodeOptions({ output: 'file' }), { key: 'errors.badFolder' });
      assert.equal(
        mediaNodeOptions({ output: 'file', folder: '/data/x/../y/' }).folder,
        path.resolve('/data/y'),
      );
      assert.throws(() => mediaNodeOptions({ maxMegabytes: 0 }), /from 1 to 1024/);
      assert.throws(() => mediaNodeOptions({ maxMegabytes: 'lots' }), /from 1 to 1024/);
      assert.equal(mediaNodeOptions({ maxMegabytes: '1.5' }).maxBytes, 1.5 * 1024 * 1024);
      assert.throws(() => mediaNodeOptions({ stream: '../x' }), /stream name/);
      assert.throws(() => mediaNodeOptions({ operation: 'audio' }), /must be one of/);
    });
  });

  describe('readMediaRecording', () => {
    it('takes a file name (default extensions) or a recording object (its own, dot added)', () => {
      assert.deepEqual(readMediaRecording({ value: 'r1', source: 'msg.payload' }), {
        fileName: 'r1',
        vidExt: '.mp4',
        thmbExt: '.jpg',
      });
      assert.deepEqual(
        readMediaRecording({
          value: { fileName: 'r1', vidExt: 'mkv', thmbExt: '.png' },
          source: 'msg.payload',
        }),
        { fileName: 'r1', vidExt: '.mkv', thmbExt: '.png' },
      );
    });
    it('refuses unsafe names and extensions', () => {
      assert.throws(
        () => readMediaRecording({ value: '../etc', source: 'msg.payload' }),
        /not a recording's file name/,
      );
      assert.throws(
        () => readMediaRecording({ value: { fileName: 'a', vidExt: '.mp4/../../x' }, source: 'msg.payload' }),
        /msg\.payload\.vidExt must be a file extension/,
      );
      assert.throws(() => normaliseExtension(3, 'x', '.mp4'), /got 3/);
    });
  });

  describe('file names', () => {
    it('sanitises to [A-Za-z0-9._-], without .. or a leading dot, never empty', () => {
      assert.equal(sanitiseFileName('gate 2024:05 #1.mp4'), 'gate_2024_05__1.mp4');
      assert.equal(sanitiseFileName('../../etc/passwd'), '____etc_passwd');
      assert.equal(sanitiseFileName('.hidden'), '_hidden');
      assert.equal(sanitiseFileName('a..b...c'), 'a_b_c');
      assert.equal(sanitiseFileName(''), '_');
      assert.equal(sanitiseFileName('é'.repeat(300)).length, 200);
    });
    it('names media after the recording, and snapshots after the camera, stream and time', () => {
      const rec = { fileName: 'r 1', vidExt: '.mp4', thmbExt: '.jpg' };
      const at = new Date('2024-03-01T10:20:30.456Z');
      assert.equal(defaultMediaName('video', rec, { serialNumber: 'S', stream: 'hd', at }), 'r_1.mp4');
      assert.equal(defaultMediaName('thumbnail', rec, { serialNumber: 'S', stream: 'hd', at }), 'r_1.jpg');
      assert.equal(
        defaultMediaName('snapshot', undefined, { serialNumber: 'PFC-1', stream: 'hd', at }),
        'snapshot-PFC-1-hd-20240301T102030Z.jpg',
      );
      assert.equal(
        defaultMediaName('snapshot', undefined, { serialNumber: undefined, stream: 'hd', at }),
        'snapshot-camera-hd-20240301T102030Z.jpg',
      );
    });
  });

  describe('resolveInsideFolder', () => {
    const folder = path.resolve('/data/media');
    it('resolves relative names (sub-folders allowed) and absolute names inside the folder', () => {
      assert.equal(resolveInsideFolder(folder, 'a.mp4'), path.join(folder, 'a.mp4'));
      assert.equal(resolveInsideFolder(folder, 'x/../b/c.mp4'), path.join(folder, 'b', 'c.mp4'));
      assert.equal(resolveInsideFolder(folder, path.join(folder, 'd.mp4')), path.join(folder, 'd.mp4'));
    });
    it('refuses anything that resolves outside the folder, or the folder itself', () => {
      for (const name of [
        '../a.mp4',
        '/etc/passwd',
        '/data/media-other/a',
        '.',
        'x/../..',
        '',
        '  ',
        'a\u0000b',
        7,
        null,
      ]) {
        assert.throws(() => resolveInsideFolder(folder, name), { key: 'errors.pathOutside' }, String(name));
      }
    });
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'pfcam-target-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('creates the folders of a target and refuses one that a link leads outside', async () => {
      const folder = path.join(dir, 'media');
      const target = await prepareTarget(folder, path.join(folder, 'a', 'b.mp4'));
      assert.ok(target.endsWith(path.join('media', 'a', 'b.mp4')));
      await mkdir(path.join(dir, 'elsewhere'));
      await symlink(path.join(dir, 'elsewhere'), path.join(folder, 'link'));
      await assert.rejects(prepareTarget(folder, path.join(folder, 'link', 'x.mp4')), {
        key: 'errors.pathOutside',
      });
    });

    it('writes a file atomically, leaving no temporary file', async () => {
      const file = path.join(dir, 'f.jpg');
      await writeFileAtomic(file, Buffer.from('one'));
      await writeFileAtomic(file, Buffer.from('two'));
      assert.equal(await readFile(file, 'utf8'), 'two');
      assert.deepEqual(await readdir(dir), ['f.jpg']);
      await assert.rejects(writeFileAtomic(path.join(dir, 'no', 'f.jpg'), Buffer.from('x')));
      assert.deepEqual(await readdir(dir), ['f.jpg']);
    });
  });

  describe('progress', () => {
    it('gives percent and MB when the size is known, MB alone otherwise', () => {
      assert.deepEqual(progressFigures(5 * 1024 * 1024, 10 * 1024 * 1024), {
        percent: 50,
        receivedMb: '5.0',
        totalMb: '10.0',
      });
      assert.deepEqual(progressFigures(1536 * 1024, undefined), { receivedMb: '1.5' });
      assert.equal(progressFigures(20, 10).percent, 100);
    });
    it('lets one update through per interval, the first at once', () => {
      let now = 0;
      const throttle = new Throttle(1000, () => now);
      assert.equal(throttle.ready(), true);
      now = 999;
      assert.equal(throttle.ready(), false);
      now = 1000;
      assert.equal(throttle.ready(), true);
    });
  });
});
