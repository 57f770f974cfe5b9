import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MediaFile, MediaInfo } from '../../lib/camera/messages';
import mediaNode from '../../nodes/pfcam-media/pfcam-media';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import {
  COMMON,
  cameraNodeOf,
  expectError,
  expectSent,
  lastStatus,
  load,
  requestsTo,
  statuses,
  testFlow,
  waitForState,
} from './camera-node-fixtures';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('pfcam-media node', function () {
  let sim: SimulatedCamera;
  let dir: string;
  let folder: string;

  beforeEach(async () => {
    sim = await startCamera({ seed: 31, restartMs: 300, videoBytes: 200_000 });
    dir = await mkdtemp(path.join(tmpdir(), 'pfcam-media-'));
    folder = path.join(dir, 'media');
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(node: Record<string, unknown>, camera?: Record<string, unknown>): Promise<void> {
    await load([mediaNode], testFlow(sim, { type: 'pfcam-media', ...node }, { camera }));
    await waitForState(cameraNodeOf(), 'online');
  }

  describe('as a Buffer', () => {
    it("fetches a recording's video given as a recording object", async () => {
      const rec = sim.control.addRecording({ eventName: 'v' });
      await start({ operation: 'video' });
      const msg = await expectSent({ payload: rec, keep: 1 });
      const data = msg.payload as Buffer;
      assert.ok(Buffer.isBuffer(data));
      const expected = sim.control.media(rec.fileName, 'video');
      assert.equal(data.length, expected.size);
      assert.equal(sha256(data), expected.sha256);
      assert.deepEqual(msg.media, {
        operation: 'video',
        fileName: rec.fileName,
        stream: null,
        bytes: expected.size,
        sha256: expected.sha256,
        contentType: 'video/mp4',
      } satisfies MediaInfo);
      assert.equal(msg.keep, 1);
      assert.equal(msg.filename, undefined, 'no filename is added to the output');
      assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.fetched' });
    });

    it('fetches a thumbnail by file name, and msg.operation overrides the node', async () => {
      const rec = sim.control.addRecording({});
      await start({ operation: 'video' });
      const msg = await expectSent({ payload: rec.fileName, operation: 'thumbnail' });
      const data = msg.payload as Buffer;
      assert.equal(sha256(data), sim.control.media(rec.fileName, 'thumbnail').sha256);
      assert.equal(data[0], 0xff);
      assert.equal(data[1], 0xd8);
      assert.equal((msg.media as MediaInfo).operation, 'thumbnail');
    });

    it('takes a live snapshot of a stream', async () => {
      await start({ operation: 'snapshot', stream: 'hd' });
      const msg = await expectSent({});
      const data = msg.payload as Buffer;
      assert.equal(data[0], 0xff);
      assert.equal(data[1], 0xd8);
      assert.deepEqual(
        { ...(msg.media as MediaInfo), sha256: '', bytes: 0, contentType: '' },
        {
          operation: 'snapshot',
          fileName: null,
          stream: 'hd',
          bytes: 0,
          sha256: '',
          contentType: '',
        },
      );
    });

    it('refuses a video over the maximum size with errors.tooLarge, and sends nothing', async () => {
      const rec = sim.control.addRecording({ videoBytes: 2 * 1024 * 1024 });
      await start({ operation: 'video', maxMegabytes: 1 });
      const err = await expectError({ payload: rec }, 'errors.tooLarge');
      assert.match(err.message, /raise the maximum size of the node, or write to a file/);
    });
  });

  describe('to a file', () => {
    it('streams a video into the folder under the recording name, with progress in the status', async () => {
      const rec = sim.control.addRecording({ videoBytes: 3 * 1024 * 1024 });
      // a slow link: the transfer takes a while, so the status shows its progress
      sim.control.setFaults({ bandwidthBytesPerSec: 3 * 1024 * 1024 });
      await start({ operation: 'video', output: 'file', folder }, { timeout: 20 });
      const msg = await expectSent({ payload: rec }, 20_000);
      const file = msg.payload as MediaFile;
      const target = path.join(await realpath(folder), `${rec.fileName}.mp4`);
      assert.equal(file.path, target);
      const expected = sim.control.media(rec.fileName, 'video');
      assert.equal(sha256(await readFile(target)), expected.sha256);
      assert.equal(file.bytes, expected.size);
      assert.equal(file.sha256, expected.sha256);
      assert.equal(file.resumes, 0);
      assert.deepEqual(await readdir(folder), [`${rec.fileName}.mp4`], 'no temporary file left');
      const progress = statuses().filter((s) => s.text === COMMON + 'status.progress');
      assert.ok(progress.length >= 1, 'progress shown');
      assert.ok(progress.every((s) => s.fill === 'blue' && s.shape === 'dot'));
      assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.saved' });
    }).timeout(30_000);

    it('replaces unsafe characters of the recording name in the file name', async () => {
      const rec = sim.control.addRecording({ fileName: 'gate 2024:05 #1' });
      await start({ operation: 'thumbnail', output: 'file', folder });
      const msg = await expectSent({ payload: rec });
      assert.equal(path.basename((msg.payload as MediaFile).path), 'gate_2024_05__1.jpg');
    });

    it('writes to msg.filename inside the folder, sub-folders included', async () => {
      const rec = sim.control.addRecording({});
      await start({ operation: 'video', output: 'file', folder });
      const msg = await expectSent({ payload: rec, filename: 'site-a/clip.mp4' });
      const written = (msg.payload as MediaFile).path;
      assert.ok(written.endsWith(path.join('media', 'site-a', 'clip.mp4')));
      assert.equal(sha256(await readFile(written)), sim.control.media(rec.fileName, 'video').sha256);
    });

    it('refuses a msg.filename outside the folder, also through a link, and fetches nothing', async () => {
      const rec = sim.control.addRecording({});
      const outside = path.join(dir, 'outside');
      await mkdir(outside);
      await mkdir(folder, { recursive: true });
      await symlink(outside, path.join(folder, 'link'));
      await start({ operation: 'video', output: 'file', folder });
      sim.control.clearRequests();
      for (const filename of ['../escape.mp4', path.join(dir, 'abs.mp4'), 'link/x.mp4', '', 'a\u0000b', 5]) {
        await expectError({ payload: rec, filename }, 'errors.pathOutside');
      }
      assert.deepEqual(requestsTo(sim, 'GET', '/api/events/'), []);
      assert.deepEqual(await readdir(outside), []);
      assert.deepEqual((await readdir(dir)).sort(), ['media', 'outside']);
    });

    it('writes a snapshot to the folder', async () => {
      await start({ operation: 'snapshot', output: 'file', folder });
      const msg = await expectSent({});
      const file = msg.payload as MediaFile;
      assert.match(
        path.basename(file.path),
        new RegExp(`^snapshot-${sim.serialNumber}-hd-\\d{8}T\\d{6}Z\\.jpg$`),
      );
      assert.equal(sha256(await readFile(file.path)), file.sha256);
    });

    it('refuses to start with a relative folder', async () => {
      await start({ operation: 'video', output: 'file', folder: 'relative/dir' });
      assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + 'errors.badFolder' });
      await expectError({ payload: 'x' }, 'errors.badFolder');
    });
  });

  describe('failures', () => {
    it('reports an unknown recording as errors.notFound and sends nothing', async () => {
      await start({ operation: 'video' });
      const err = await expectError({ payload: 'no-such-recording' }, 'errors.notFound');
      assert.match(err.message, /has no recording 'no-such-recording' \(404\)/);
      await expectError({ payload: 'no-such-recording', operation: 'thumbnail' }, 'errors.notFound');
    });

    it('refuses a file name that is not a recording name, without asking the camera', async () => {
      await start({ operation: 'video' });
      sim.control.clearRequests();
      await expectError({ payload: '../system/settings' }, 'errors.badInput');
      await expectError({ payload: { fileName: 'x', vidExt: '.mp4/../../y' } }, 'errors.badInput');
      await expectError({ payload: 12 }, 'errors.badInput');
      await expectError({ payload: 'x', operation: 'movie' }, 'errors.badInput');
      assert.deepEqual(requestsTo(sim, 'GET', '/api/events'), []);
      assert.deepEqual(requestsTo(sim, 'GET', '/api/system/settings'), []);
    });

    it('takes a 200 answer with a JSON error body for an error', async () => {
      const rec = sim.control.addRecording({});
      await start({ operation: 'video' }, { probeInterval: 60 });
      sim.control.setFaults({ mediaJsonErrorRate: 1 });
      const err = await expectError({ payload: rec }, 'errors.cameraHttp');
      assert.match(err.message, /could not fetch the video of the recording/);
      sim.control.clearFaults();
      await expectSent({ payload: rec });
    });

    it('fails with errors.cameraOffline while the camera is offline, creating no folder', async () => {
      const rec = sim.control.addRecording({});
      await start({ operation: 'video', output: 'file', folder });
      sim.control.offline();
      await waitForState(cameraNodeOf(), 'offline');
      await expectError({ payload: rec }, 'errors.cameraOffline');
      assert.deepEqual(await readdir(dir), []);
      sim.control.online();
    });

    it('fails with errors.cameraRestarting while the camera restarts', async () => {
      const rec = sim.control.addRecording({});
      await start({ operation: 'video' });
      const camera = cameraNodeOf();
      camera.health.expectRestart(10_000);
      const back = sim.control.restart();
      await expectError({ payload: rec }, 'errors.cameraRestarting');
      await back;
      await waitForState(camera, 'online', 10_000);
      await expectSent({ payload: rec });
    });
  });
});
