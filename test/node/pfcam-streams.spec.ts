import { strict as assert } from 'node:assert';
import type { StreamsList } from '../../lib/camera/messages';
import type { CameraSettings } from '../../lib/camera/types';
import streamsNode from '../../nodes/pfcam-streams/pfcam-streams';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import {
  COMMON,
  cameraNodeOf,
  expectError,
  expectSent,
  lastStatus,
  load,
  testFlow,
  waitForState,
} from './camera-node-fixtures';

describe('pfcam-streams node', function () {
  let sim: SimulatedCamera;

  beforeEach(async () => {
    sim = await startCamera({ seed: 41, restartMs: 300 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
  });

  async function start(
    node: Record<string, unknown>,
    camera?: Record<string, unknown>,
    credentials?: Record<string, unknown>,
  ): Promise<void> {
    await load([streamsNode], testFlow(sim, { type: 'pfcam-streams', ...node }, { camera }), credentials);
    await waitForState(cameraNodeOf(), 'online');
  }

  /** Changes camera settings the way a settings write does (the camera restarts), and waits until it is back. */
  async function changeSettings(changes: Partial<CameraSettings>): Promise<void> {
    const camera = cameraNodeOf();
    await camera.exclusive(async () => {
      camera.health.expectRestart(10_000);
      await camera.client.putSettings(changes);
      await camera.health.waitFor('online', 10_000);
    });
  }

  it('lists the streams with their URLs on the camera address, and the RTSP URL', async () => {
    await start({ operation: 'list' });
    const msg = await expectSent({ keep: true });
    const list = msg.payload as StreamsList;
    const hd = list.streams.find((s) => s.key === 'hd');
    assert.deepEqual(hd, {
      key: 'hd',
      name: 'hd',
      codec: 'mjpeg',
      fps: hd?.fps,
      resolution: { width: 1280, height: 720 },
      url: `${sim.url}/stream-hd`,
      snapshotUrl: `${sim.url}/snapshot-hd.jpg`,
    });
    assert.equal(list.mjpegUrl, `${sim.url}/stream-hd`);
    assert.equal(list.snapshotUrl, `${sim.url}/snapshot-hd.jpg`);
    assert.deepEqual(list.rtsp, {
      url: 'rtsp://127.0.0.1:8554/',
      authRequired: false,
      includesCredentials: false,
    });
    assert.equal(msg.keep, true);
    assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.streams' });
  });

  it('gives the snapshot URL as a string that serves a JPEG, and the MJPEG URL through msg.operation', async () => {
    await start({ operation: 'snapshot' });
    const url = (await expectSent({})).payload as string;
    assert.equal(url, `${sim.url}/snapshot-hd.jpg`);
    const response = await fetch(url);
    const body = Buffer.from(await response.arrayBuffer());
    assert.equal(response.status, 200);
    assert.equal(body[0], 0xff);
    assert.equal(body[1], 0xd8);
    assert.equal((await expectSent({ operation: 'mjpeg' })).payload, `${sim.url}/stream-hd`);
  });

  it('puts credentials in the RTSP URL only when the camera requires them and the node allows it', async () => {
    await start({ operation: 'rtsp', includeCredentials: true }, undefined, {
      cam: { username: 'viewer', password: 'p@ss:w/rd' },
    });
    assert.equal(
      (await expectSent({})).payload,
      'rtsp://127.0.0.1:8554/',
      'no credentials while rtsp_auth is off',
    );
    await changeSettings({ rtsp_auth: true, rtsp_path: 'live/main', rtsp_port: 8555 });
    assert.equal((await expectSent({})).payload, 'rtsp://viewer:p%40ss%3Aw%2Frd@127.0.0.1:8555/live/main');
  });

  it('keeps the password out of the message unless the node is set to include it', async () => {
    await start({ operation: 'list', includeCredentials: false }, undefined, {
      cam: { username: 'viewer', password: 'secret-pw' },
    });
    await changeSettings({ rtsp_auth: true });
    const msg = await expectSent({});
    assert.deepEqual((msg.payload as StreamsList).rtsp, {
      url: 'rtsp://127.0.0.1:8554/',
      authRequired: true,
      includesCredentials: false,
    });
    assert.ok(!JSON.stringify(msg).includes('secret-pw'));
  });

  it('fails with errors.rtspOff for the RTSP URL when RTSP is off, and lists rtsp as null', async () => {
    await start({ operation: 'rtsp' });
    await changeSettings({ rtsp: false });
    const err = await expectError({}, 'errors.rtspOff');
    assert.match(err.message, /turn on its setting rtsp/);
    const msg = await expectSent({ operation: 'list' });
    assert.equal((msg.payload as StreamsList).rtsp, null);
  });

  it('names the streams the camera has when the node asks for another one', async () => {
    await start({ operation: 'mjpeg', stream: 'sd' });
    const err = await expectError({}, 'errors.noStream');
    assert.match(err.message, /no stream 'sd' \(it has: hd, rtsp\)/);
  });

  it('refuses an unknown msg.operation and a bad stream name', async () => {
    await start({ operation: 'list' });
    await expectError({ operation: 'hls' }, 'errors.badInput');
    await helper.unload();
    await start({ operation: 'mjpeg', stream: '../x' });
    assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + 'errors.badInput' });
    await expectError({}, 'errors.badInput');
  });

  it('fails with errors.badResponse on broken JSON', async () => {
    await start({ operation: 'list' }, { probeInterval: 60 });
    sim.control.setFaults({ malformedJsonRate: 1 });
    await expectError({}, 'errors.badResponse');
    sim.control.clearFaults();
    await expectSent({});
  });

  it('fails at once with errors.cameraOffline or errors.cameraRestarting', async () => {
    await start({ operation: 'list' });
    const camera = cameraNodeOf();
    sim.control.offline();
    await waitForState(camera, 'offline');
    await expectError({}, 'errors.cameraOffline');
    sim.control.online();
    await waitForState(camera, 'online');
    camera.health.expectRestart(10_000);
    const back = sim.control.restart();
    await expectError({}, 'errors.cameraRestarting');
    await back;
    await waitForState(camera, 'online', 10_000);
    await expectSent({});
  });
});
