/**
 * Live view: what N viewers of one camera cost the camera's uplink and the process, through the relay against
 * the same viewers connecting to the camera directly (the baseline), for 1, 10 and 50 viewers; and the relay's
 * memory with 10 viewers of which 5 are throttled to 100 kB/s.
 *
 * Everything runs in this one process (simulated camera, relay with its API server, viewers that only count
 * bytes), so the CPU figure is the process's CPU over the window on both sides: camera + relay + viewers against
 * camera + viewers. Upstream bytes are counted at the camera's side of the link (bytes the camera sent).
 *
 * `BENCH_LIVE_SECONDS` (default 3) sets each window; `BENCH_LIVE_VIEWERS` (default "1,10,50") the counts.
 */
import { createServer, get, type ClientRequest, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createLiveApi } from '../dashboard/api/live-routes';
import { CameraRegistry } from '../lib/cameras/camera-registry';
import { LiveHub } from '../lib/live/live-hub';
import { MjpegRelay } from '../lib/live/mjpeg-relay';
import { startCamera } from '../simulator';
import { registerSimulated, startApiServer, TestSecurity, VIEWER } from '../test/integration/live-fixtures';
import type { BenchResult, BenchRow } from './run';

const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 3);
const COUNTS = (process.env.BENCH_LIVE_VIEWERS ?? '1,10,50').split(',').map(Number);

interface Viewer {
  bytes: number;
  req: ClientRequest;
}

function viewer(url: string, headers: Record<string, string>, throttleBytesPerSec = 0): Viewer {
  const v: Viewer = { bytes: 0, req: undefined as unknown as ClientRequest };
  v.req = get(url, { headers, agent: false }, (res) => {
    let windowStart = Date.now();
    let windowBytes = 0;
    res.on('data', (chunk: Buffer) => {
      v.bytes += chunk.length;
      if (throttleBytesPerSec <= 0) return;
      windowBytes += chunk.length;
      const due = windowStart + (windowBytes / throttleBytesPerSec) * 1000;
      const wait = due - Date.now();
      if (wait > 0) {
        res.pause();
        setTimeout(() => res.resume(), wait);
      }
      if (Date.now() - windowStart > 1000) {
        windowStart = Date.now();
        windowBytes = 0;
      }
    });
    res.on('error', () => undefined);
  });
  v.req.on('error', () => undefined);
  return v;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function window(): Promise<{ cpuMs: number }> {
  const before = process.cpuUsage();
  await wait(SECONDS * 1000);
  const used = process.cpuUsage(before);
  return { cpuMs: (used.user + used.system) / 1000 };
}

async function scenario(count: number, relayed: boolean): Promise<{ upstreamBytes: number; cpuMs: number }> {
  const sim = await startCamera({ seed: 5, liveFps: 10 });
  const camera = await registerSimulated(sim);
  const registry = new CameraRegistry();
  registry.add(camera);
  const hub = new LiveHub({ ffmpegPath: null, mjpeg: { idleCloseMs: 100 } });
  const security = new TestSecurity();
  security.grant('v', VIEWER());
  const api = createLiveApi({ cameras: registry, hub, security });
  const server = await startApiServer(() => api.routes, security);
  const viewers: Viewer[] = [];
  try {
    const url = relayed ? `${server.url}/pfcam/api/live/${sim.serialNumber}/mjpeg` : `${sim.url}/stream-hd`;
    for (let i = 0; i < count; i++) viewers.push(viewer(url, { authorization: 'Bearer v' }));
    await wait(500);
    const before = relayed
      ? (hub.counters()[0]?.mjpeg.upstreamBytes ?? 0)
      : viewers.reduce((a, v) => a + v.bytes, 0);
    const { cpuMs } = await window();
    const after = relayed
      ? (hub.counters()[0]?.mjpeg.upstreamBytes ?? 0)
      : viewers.reduce((a, v) => a + v.bytes, 0);
    return { upstreamBytes: after - before, cpuMs };
  } finally {
    for (const v of viewers) v.req.destroy();
    api.close();
    await hub.close();
    await server.close();
    await camera.close();
    await sim.stop();
  }
}

/** 10 viewers, 5 throttled to 100 kB/s, of an HD-sized stream (64 KiB frames at 20 fps, ~1.3 MB/s). */
async function memory(): Promise<BenchRow[]> {
  const frame = Buffer.alloc(64 * 1024, 0x33);
  frame[0] = 0xff;
  frame[1] = 0xd8;
  const upstreamSockets = new Set<Socket>();
  const upstream = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=f' });
    const timer = setInterval(() => {
      if (res.writableNeedDrain) return;
      res.write(`--f\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`);
      res.write(frame);
      res.write('\r\n');
    }, 50);
    res.on('close', () => clearInterval(timer));
  });
  upstream.on('connection', (s) => upstreamSockets.add(s));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
  const relay = new MjpegRelay({
    open: (signal) =>
      new Promise((resolve, reject) => {
        const req = get(upstreamUrl, { signal }, (res) =>
          resolve({ contentType: String(res.headers['content-type']), body: res }),
        );
        req.on('error', reject);
      }),
  });
  const relayServer = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=pfcamlive' });
    relay.addViewer(res);
  });
  await new Promise<void>((resolve) => relayServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(relayServer.address() as AddressInfo).port}/`;
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const viewers = Array.from({ length: 10 }, (_, i) => viewer(url, {}, i < 5 ? 100_000 : 0));
  let peakRss = rssBefore;
  let peakHeap = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed + m.arrayBuffers);
  }, 100);
  await wait(SECONDS * 2000);
  clearInterval(sampler);
  const slowBytes = viewers.slice(0, 5).reduce((a, v) => a + v.bytes, 0) / 5;
  const fastBytes = viewers.slice(5).reduce((a, v) => a + v.bytes, 0) / 5;
  const dropped = relay.counters.viewerDroppedFrames;
  for (const v of viewers) v.req.destroy();
  relay.close();
  for (const s of upstreamSockets) s.destroy();
  await new Promise<void>((resolve) => relayServer.close(() => resolve()));
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  return [
    {
      name: 'memory, 10 viewers (5 at 100 kB/s): RSS growth',
      value: (peakRss - rssBefore) / 1e6,
      unit: 'MB',
      better: 'lower',
    },
    {
      name: 'memory, 10 viewers (5 at 100 kB/s): peak heap + buffers',
      value: peakHeap / 1e6,
      unit: 'MB',
      better: 'lower',
    },
    { name: 'throttled viewer received', value: slowBytes / 1e3 / (SECONDS * 2), unit: 'kB/s' },
    { name: 'fast viewer received', value: fastBytes / 1e3 / (SECONDS * 2), unit: 'kB/s', better: 'higher' },
    { name: 'frames skipped by the throttled viewers', value: dropped, unit: 'frames' },
  ];
}

export async function run(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  for (const count of COUNTS) {
    const direct = await scenario(count, false);
    const relayed = await scenario(count, true);
    rows.push({
      name: `${count} viewer(s): camera uplink bytes/s`,
      value: relayed.upstreamBytes / SECONDS,
      baseline: direct.upstreamBytes / SECONDS,
      unit: 'B/s',
      better: 'lower',
    });
    rows.push({
      name: `${count} viewer(s): process CPU`,
      value: (relayed.cpuMs / (SECONDS * 1000)) * 100,
      baseline: (direct.cpuMs / (SECONDS * 1000)) * 100,
      unit: '% of a core',
      better: 'lower',
    });
  }
  rows.push(...(await memory()));
  return {
    title: 'Live view: relay vs viewers connecting to the camera directly',
    baseline: 'the same viewers opening the camera MJPEG stream directly',
    rows,
    notes: [
      `${SECONDS} s windows; simulated camera at 10 fps MJPEG; camera, relay and viewers in one process.`,
      'Memory scenario: 64 KiB frames at 20 fps through the relay; throttled viewers read at 100 kB/s.',
    ],
  };
}
