import { strict as assert } from 'node:assert';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { request } from 'undici';
import { createLiveApi, type LiveApi } from '../../dashboard/api/live-routes';
import { CameraRegistry, type RegisteredCamera } from '../../lib/cameras/camera-registry';
import { LiveHub } from '../../lib/live/live-hub';
import { Metrics } from '../../lib/metrics/metrics';
import type { LiveState } from '../../lib/live/live-state';
import { MjpegRelay, type MjpegViewer } from '../../lib/live/mjpeg-relay';
import { MultipartJpegParser, boundaryOf } from '../../lib/live/multipart-parser';
import { readJpegStamp, startCamera, type SimulatedCamera } from '../../simulator';
import {
  fakeJpeg,
  registerSimulated,
  startApiServer,
  startMjpegUpstream,
  TestSecurity,
  VIEWER,
  waitFor,
} from './live-fixtures';

interface Client {
  frames: Buffer[];
  req: ClientRequest;
  res?: IncomingMessage;
  status?: number;
}

/** Opens the relayed MJPEG route and collects the frames. */
function watch(url: string, token: string, options: { paused?: boolean } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client: Client = { frames: [], req: undefined as unknown as ClientRequest };
    client.req = get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      client.res = res;
      client.status = res.statusCode;
      const parser = new MultipartJpegParser((f) => client.frames.push(f.data), {
        boundary: boundaryOf(res.headers['content-type']),
      });
      if (options.paused) res.pause();
      else res.on('data', (chunk: Buffer) => parser.push(chunk));
      res.on('error', () => undefined);
      resolve(client);
    });
    client.req.on('error', reject);
  });
}

describe('live MJPEG relay', function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function rig(options: { idleCloseMs?: number; metrics?: Metrics } = {}): Promise<{
    sim: SimulatedCamera;
    api: LiveApi;
    hub: LiveHub;
    url: string;
    mjpegUrl: string;
    security: TestSecurity;
    camera: RegisteredCamera;
  }> {
    const sim = await startCamera({ seed: 3, restartMs: 300, liveFps: 20 });
    cleanups.push(() => sim.stop());
    const camera = await registerSimulated(sim);
    cleanups.push(() => camera.close());
    const registry = new CameraRegistry();
    registry.add(camera);
    const hub = new LiveHub({
      ffmpegPath: null,
      mjpeg: { idleCloseMs: options.idleCloseMs ?? 200, reconnect: { baseMs: 50, maxMs: 200 } },
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    cleanups.push(() => hub.close());
    const security = new TestSecurity();
    security.grant('viewer', VIEWER());
    const api = createLiveApi({ cameras: registry, hub, security });
    cleanups.push(() => api.close());
    const server = await startApiServer(() => api.routes, security);
    cleanups.push(() => server.close());
    return {
      sim,
      api,
      hub,
      security,
      camera,
      url: server.url,
      mjpegUrl: `${server.url}/pfcam/api/live/${sim.serialNumber}/mjpeg`,
    };
  }

  it('serves N viewers from one upstream connection, counted at the camera', async () => {
    const { sim, mjpegUrl } = await rig();
    const clients = await Promise.all(Array.from({ length: 5 }, () => watch(mjpegUrl, 'viewer')));
    cleanups.push(() => clients.forEach((c) => c.req.destroy()));
    await waitFor('5 frames at every viewer', () => clients.every((c) => c.frames.length >= 5));
    assert.deepEqual(sim.control.liveStreams(), { open: 1, opened: 1 });
    const stamp = readJpegStamp(clients[0]!.frames[0]!);
    assert.ok(stamp, 'the relay passes the camera frames through unchanged (stamp kept)');
  });

  it('closes the upstream a moment after the last viewer left, and reopens it for the next', async () => {
    const { sim, hub, mjpegUrl } = await rig({ idleCloseMs: 150 });
    const a = await watch(mjpegUrl, 'viewer');
    const b = await watch(mjpegUrl, 'viewer');
    await waitFor('frames', () => a.frames.length > 0 && b.frames.length > 0);
    a.req.destroy();
    await waitFor('a left', () => hub.counters()[0]!.mjpeg.viewers === 1);
    assert.equal(sim.control.liveStreams().open, 1, 'still open while one viewer watches');
    b.req.destroy();
    await waitFor('upstream closed at the camera', () => sim.control.liveStreams().open === 0);
    const c = await watch(mjpegUrl, 'viewer');
    cleanups.push(() => void c.req.destroy());
    await waitFor('frames again', () => c.frames.length > 0);
    assert.deepEqual(sim.control.liveStreams(), { open: 1, opened: 2 });
  });

  it('reports its open viewers to the metrics as they come and go', async () => {
    const metrics = new Metrics({ cameras: { list: () => [] }, processMetrics: false });
    const viewers = async (): Promise<string | undefined> =>
      /^pfcam_live_viewers (\d+)$/m.exec(await metrics.scrape())?.[1];
    const { hub, mjpegUrl } = await rig({ metrics });
    const a = await watch(mjpegUrl, 'viewer');
    const b = await watch(mjpegUrl, 'viewer');
    cleanups.push(() => void b.req.destroy());
    await waitFor('frames', () => a.frames.length > 0 && b.frames.length > 0);
    assert.equal(await viewers(), '2');
    a.req.destroy();
    await waitFor('a left', () => hub.counters()[0]!.mjpeg.viewers === 1);
    assert.equal(await viewers(), '1');
  });

  it("adds the frames its relays drop to the metrics' counter, until the camera's relays are forgotten", async () => {
    const metrics = new Metrics({ cameras: { list: () => [] }, processMetrics: false });
    const dropped = async (): Promise<string | undefined> =>
      /^pfcam_live_dropped_frames_total (\d+)$/m.exec(await metrics.scrape())?.[1];
    const { hub, camera } = await rig({ metrics });
    const relay = hub.mjpeg(camera);
    // the event a viewer's drop raises (the slow viewer test below shows one per frame dropped)
    relay.emit('dropped');
    relay.emit('dropped');
    assert.equal(await dropped(), '2');
    await hub.forget(camera.id);
    relay.emit('dropped');
    assert.equal(await dropped(), '2', 'a forgotten relay is no longer listened to');
  });

  it('a slow viewer skips frames within a bounded queue and does not slow a fast one', async () => {
    const big = fakeJpeg(256 * 1024);
    const upstream = await startMjpegUpstream((res) => {
      const timer = setInterval(() => {
        if (res.writableNeedDrain) return;
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${big.length}\r\n\r\n`);
        res.write(big);
        res.write('\r\n');
      }, 25);
      res.on('close', () => clearInterval(timer));
    });
    cleanups.push(() => upstream.close());
    const relay = new MjpegRelay({
      open: async (signal) => {
        const r = await request(upstream.url, { signal });
        return { contentType: String(r.headers['content-type']), body: r.body };
      },
      idleCloseMs: 50,
    });
    cleanups.push(() => relay.close());
    let droppedEvents = 0;
    relay.on('dropped', () => droppedEvents++);
    const viewers: MjpegViewer[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=pfcamlive' });
      viewers.push(relay.addViewer(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const slow = await watch(`http://127.0.0.1:${port}/`, '', { paused: true });
    const fast = await watch(`http://127.0.0.1:${port}/`, '');
    cleanups.push(() => {
      slow.req.destroy();
      fast.req.destroy();
    });
    await waitFor('the slow viewer drops frames', () => (viewers[0]?.droppedFrames ?? 0) > 5, 20_000);
    const framesAtDrop = fast.frames.length;
    let peakQueue = 0;
    let peakWritable = 0;
    const sample = setInterval(() => {
      peakQueue = Math.max(peakQueue, viewers[0]!.queued);
      const target = (viewers[0] as unknown as { target: { writableLength: number } }).target;
      peakWritable = Math.max(peakWritable, target.writableLength);
    }, 5);
    cleanups.push(() => clearInterval(sample));
    await waitFor('the fast viewer keeps receiving', () => fast.frames.length >= framesAtDrop + 20, 20_000);
    clearInterval(sample);
    assert.ok(peakQueue <= 2, `queue ${peakQueue} frames`);
    assert.ok(peakWritable <= 2 * (big.length + 200), `socket buffer ${peakWritable} bytes`);
    assert.equal(viewers[1]!.droppedFrames, 0, 'the fast viewer dropped nothing');
    assert.equal(relay.counters.viewerDroppedFrames, viewers[0]!.droppedFrames);
    // one event per frame dropped: what the live hub counts in pfcam_live_dropped_frames_total
    assert.equal(droppedEvents, relay.counters.viewerDroppedFrames);
  });

  it('reconnects with backoff when the camera drops, and the state says so', async () => {
    const { sim, hub, mjpegUrl, url, camera } = await rig();
    const client = await watch(mjpegUrl, 'viewer');
    cleanups.push(() => void client.req.destroy());
    await waitFor('live', () => client.frames.length > 0);
    const states: LiveState[] = [];
    const stateUrl = `${url}/pfcam/api/live/${sim.serialNumber}/state`;
    const readState = async (): Promise<string> => {
      const r = await request(stateUrl, { headers: { authorization: 'Bearer viewer' } });
      return ((await r.body.json()) as { mjpeg: string }).mjpeg;
    };
    assert.equal(await readState(), 'live');
    hub.mjpeg(camera).on('state', (s: LiveState) => states.push(s));
    const before = client.frames.length;
    await sim.control.restart(400);
    await waitFor('frames after the restart', () => client.frames.length > before + 3);
    assert.ok(states.includes('reconnecting') || states.includes('offline'), `states: ${states.join(', ')}`);
    assert.equal(states.at(-1), 'live');
    assert.equal(await readState(), 'live');
    assert.equal(sim.control.liveStreams().opened, 2);
  });

  it('a hostile upstream (a huge frame without boundary, garbage) never grows memory past the cap', async () => {
    const cap = 512 * 1024;
    const good = fakeJpeg(2000, 0x11);
    const upstream = await startMjpegUpstream((res) => {
      void (async () => {
        const write = (chunk: Buffer | string): Promise<void> =>
          new Promise((resolve) => (res.write(chunk) ? resolve() : res.once('drain', () => resolve())));
        await write(`--frame\r\nContent-Type: image/jpeg\r\n\r\n`);
        const junk = Buffer.alloc(64 * 1024, 0x41);
        for (let i = 0; i < 160 && !res.destroyed; i++) await write(junk); // 10 MiB, no boundary
        await write(`\r\n--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 99999999999\r\n\r\n`);
        for (let i = 0; i < 16 && !res.destroyed; i++) await write(junk);
        await write(`\r\n--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${good.length}\r\n\r\n`);
        await write(good);
        await write('\r\n');
      })();
    });
    cleanups.push(() => upstream.close());
    const relay = new MjpegRelay({
      open: async (signal) => {
        const r = await request(upstream.url, { signal });
        return { contentType: String(r.headers['content-type']), body: r.body };
      },
      maxFrameBytes: cap,
    });
    cleanups.push(() => relay.close());
    const frame = await relay.nextFrame(20_000);
    assert.ok(frame, 'the good frame after the hostile parts arrives');
    assert.deepEqual(frame.data, good);
    const counters = relay.counters;
    assert.ok(counters.oversizeFrames >= 2, `oversize ${counters.oversizeFrames}`);
    assert.ok(counters.parserPeakBytes <= cap + 256 * 1024, `peak ${counters.parserPeakBytes}`);
  });
});
