import { strict as assert } from 'node:assert';
import { request } from 'undici';
import WebSocket from 'ws';
import { createLiveApi, type LiveApi } from '../../dashboard/api/live-routes';
import type { Principal } from '../../lib/auth/permissions';
import { CameraRegistry } from '../../lib/cameras/camera-registry';
import { LiveHub } from '../../lib/live/live-hub';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { MANAGER, registerSimulated, startApiServer, TestSecurity, VIEWER, waitFor } from './live-fixtures';

const TOKEN_NO_STREAMS: Principal = {
  kind: 'token',
  id: 9,
  name: 'integration',
  scopes: ['events:view'],
  cameras: null,
};

/** The status a WebSocket upgrade got: 101 when it opened, else the HTTP refusal's status. */
function upgradeStatus(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
  });
}

describe('live view access', function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  let sim: SimulatedCamera;
  let other: SimulatedCamera;
  let api: LiveApi;
  let security: TestSecurity;
  let base: string;
  let origin: string;

  beforeEach(async () => {
    sim = await startCamera({ seed: 11, rtspStream: false, liveFps: 10 });
    cleanups.push(() => sim.stop());
    other = await startCamera({ seed: 12 });
    cleanups.push(() => other.stop());
    const registry = new CameraRegistry();
    for (const s of [sim, other]) {
      const camera = await registerSimulated(s);
      cleanups.push(() => camera.close());
      registry.add(camera);
    }
    // ffmpeg on: the fMP4 route is served (the simulator advertises an RTSP stream)
    const hub = new LiveHub({ mjpeg: { idleCloseMs: 100 }, fmp4: { idleCloseMs: 100 } });
    cleanups.push(() => hub.close());
    security = new TestSecurity();
    security.grant('viewer', VIEWER());
    security.grant('scoped', VIEWER([other.serialNumber]));
    security.grant('manager', MANAGER);
    security.grant('nostreams', TOKEN_NO_STREAMS);
    api = createLiveApi({ cameras: registry, hub, security });
    cleanups.push(() => api.close());
    const server = await startApiServer(() => api.routes, security);
    api.attach(server.server);
    cleanups.push(() => server.close());
    base = `${server.url}/pfcam/api/live/${sim.serialNumber}`;
    origin = server.url;
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const status = async (url: string, token?: string, method: 'GET' | 'POST' = 'GET'): Promise<number> => {
    const res = await request(url, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    await res.body.dump();
    return res.statusCode;
  };

  it('refuses the live routes without a session, without the permission, and outside the camera scope', async () => {
    for (const path of ['/mjpeg', '/snapshot', '/state']) {
      assert.equal(await status(base + path), 401, `${path} anonymous`);
      assert.equal(await status(base + path, 'nostreams'), 403, `${path} without streams:view`);
      assert.equal(await status(base + path, 'scoped'), 403, `${path} outside the scope`);
    }
    assert.equal(await status(base + '/snapshot/record', 'viewer', 'POST'), 403, 'a viewer cannot record');
    assert.equal(await status(base + '/state', 'viewer'), 200);
    assert.equal(sim.control.liveStreams().opened, 0, 'no refused request reached the camera stream');
  });

  it('lists only the cameras in the scope and serves a snapshot', async () => {
    const res = await request(`${origin}/pfcam/api/live/cameras`, {
      headers: { authorization: 'Bearer scoped' },
    });
    const list = (await res.body.json()) as {
      cameras: { serial: string; name: string }[];
      canRecord: boolean;
    };
    assert.deepEqual(
      list.cameras.map((c) => c.serial),
      [other.serialNumber],
    );
    assert.equal(list.canRecord, false);
    const snap = await request(base + '/snapshot', { headers: { authorization: 'Bearer viewer' } });
    assert.equal(snap.statusCode, 200);
    assert.equal(snap.headers['content-type'], 'image/jpeg');
    const bytes = Buffer.from(await snap.body.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
  });

  it('falls back to a frame of the live stream for the snapshot when the camera has no snapshot URL', async () => {
    const bare = await startCamera({ seed: 13, noSnapshot: true });
    cleanups.push(() => bare.stop());
    const camera = await registerSimulated(bare);
    cleanups.push(() => camera.close());
    const hub = new LiveHub({ ffmpegPath: null, snapshotTimeoutMs: 3000 });
    cleanups.push(() => hub.close());
    const jpeg = await hub.snapshot(camera);
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    assert.equal(bare.control.liveStreams().opened, 1, 'taken from the live stream');
  });

  it('"save as recording" triggers an event on the camera for a manager', async () => {
    const res = await request(base + '/snapshot/record', {
      method: 'POST',
      headers: { authorization: 'Bearer manager' },
    });
    assert.equal(res.statusCode, 202);
    const { eventName } = (await res.body.json()) as { eventName: string };
    assert.match(eventName, /^live-\d{8}T\d{6}$/);
    assert.ok(
      sim.control.requests().some((r) => r.method === 'POST' && r.path === '/api/events'),
      'the camera got the trigger',
    );
  });

  it('refuses the fMP4 WebSocket before upgrading: no session, other origin, no permission, outside scope', async () => {
    const wsUrl = base.replace('http:', 'ws:') + '/fmp4';
    assert.equal((await upgradeStatus(wsUrl, { origin })).status, 401);
    assert.equal(
      (await upgradeStatus(wsUrl, { origin: 'http://evil.example', cookie: 'sid=viewer' })).status,
      403,
    );
    assert.equal((await upgradeStatus(wsUrl, { cookie: 'sid=viewer' })).status, 403, 'no Origin');
    assert.equal((await upgradeStatus(wsUrl, { origin, cookie: 'sid=nostreams' })).status, 403);
    assert.equal((await upgradeStatus(wsUrl, { origin, cookie: 'sid=scoped' })).status, 403);
    const ok = await upgradeStatus(wsUrl, { origin, cookie: 'sid=viewer' });
    assert.equal(ok.status, 101);
    ok.ws!.terminate();
  });

  it('cuts the viewers of a revoked session (MJPEG and fMP4)', async () => {
    const wsUrl = base.replace('http:', 'ws:') + '/fmp4';
    const opened = await upgradeStatus(wsUrl, { origin, cookie: 'sid=viewer' });
    const ws = opened.ws!;
    const wsClosed = new Promise((resolve) => ws.once('close', resolve));
    const mjpeg = await request(base + '/mjpeg', { headers: { authorization: 'Bearer viewer' } });
    const mjpegEnded = new Promise((resolve) => {
      mjpeg.body.on('error', resolve);
      mjpeg.body.on('end', resolve);
      mjpeg.body.on('close', resolve);
    });
    mjpeg.body.resume();
    await waitFor('two viewers open', () => api.openViewers === 2);
    security.grant('other', MANAGER);
    security.revoke('viewer');
    await wsClosed;
    await mjpegEnded;
    await waitFor('no viewer left', () => api.openViewers === 0);
  });
});
