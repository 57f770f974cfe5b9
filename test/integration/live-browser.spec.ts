import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLiveApi } from '../../dashboard/api/live-routes';
import { CameraRegistry } from '../../lib/cameras/camera-registry';
import { LiveHub } from '../../lib/live/live-hub';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { registerSimulated, startApiServer, TestSecurity, VIEWER, waitFor } from './live-fixtures';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

const PLAYER = readFileSync(join(__dirname, '..', '..', 'dashboard', 'ui', 'live', 'live-view.js'), 'utf8');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('live view in the browser', function () {
  this.timeout(60_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  let sim: SimulatedCamera;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let hub: LiveHub;
  let cameraId: string;

  before(async () => {
    sim = await startCamera({ seed: 21, rtspStream: { fps: 15 }, liveFps: 10 });
    cleanups.push(() => sim.stop());
    const camera = await registerSimulated(sim);
    cleanups.push(() => camera.close());
    const registry = new CameraRegistry();
    registry.add(camera);
    hub = new LiveHub({ mjpeg: { idleCloseMs: 200 }, fmp4: { idleCloseMs: 200 } });
    cameraId = camera.id;
    cleanups.push(() => hub.close());
    const security = new TestSecurity();
    security.grant('viewer', VIEWER());
    const api = createLiveApi({ cameras: registry, hub, security });
    cleanups.push(() => api.close());
    const server = await startApiServer(
      () => api.routes,
      security,
      (req, res) => {
        if (req.url === '/live-view.js') {
          res.writeHead(200, { 'Content-Type': 'text/javascript' });
          res.end(PLAYER);
          return true;
        }
        if (req.url?.startsWith('/page')) {
          const mode = new URL(req.url, 'http://x').searchParams.get('mode') ?? 'auto';
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end(
            `<!doctype html><meta charset="utf-8"><script src="/live-view.js"></script>` +
              `<pfcam-live-panel api="/pfcam/api" camera="${sim.serialNumber}" mode="${mode}"></pfcam-live-panel>`,
          );
          return true;
        }
        return false;
      },
    );
    api.attach(server.server);
    cleanups.push(() => server.close());
    origin = server.url;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const context = await browser.newContext();
    await context.addCookies([{ name: 'sid', value: 'viewer', url: origin }]);
    // the test loader names inner functions with a `__name` helper; give the page one for evaluate()
    await context.addInitScript('globalThis.__name = (fn) => fn;');
    page = await context.newPage();
  });
  after(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('plays the RTSP stream as fMP4 through MSE: a frame is decoded, currentTime advances, stamps read back', async () => {
    await page.goto(`${origin}/page?mode=auto`);
    const video = page.locator('pfcam-live-panel video');
    await video.waitFor({ state: 'attached', timeout: 20_000 });
    const handle = await video.elementHandle();
    await page.waitForFunction((v) => (v as HTMLVideoElement).currentTime > 0.5, handle, { timeout: 30_000 });
    const t1 = await handle.evaluate((v) => (v as HTMLVideoElement).currentTime);
    await page.waitForFunction((args) => (args[0] as HTMLVideoElement).currentTime > args[1] + 0.3, [
      handle,
      t1,
    ] as const);
    // Glass-to-glass: read the barcode the simulator drew (its clock, ms mod 2^32) from shown frames.
    const samples = await handle.evaluate(
      (v) =>
        new Promise<{ latency: number; stamp: number }[]>((resolve, reject) => {
          const videoEl = v as HTMLVideoElement;
          const canvas = document.createElement('canvas');
          canvas.width = videoEl.videoWidth;
          canvas.height = videoEl.videoHeight;
          const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
          const out: { latency: number; stamp: number }[] = [];
          const timer = setTimeout(() => reject(new Error(`only ${out.length} frames read`)), 20_000);
          const onFrame = (): void => {
            ctx.drawImage(videoEl, 0, 0);
            const row = ctx.getImageData(0, 8, 34 * 16, 1).data;
            const bit = (i: number): number => (row[(i * 16 + 8) * 4]! > 128 ? 1 : 0);
            if (bit(0) === 1 && bit(33) === 0) {
              let stamp = 0;
              for (let i = 1; i <= 32; i++) stamp = stamp * 2 + bit(i);
              const now = Date.now() % 2 ** 32;
              out.push({ stamp, latency: (now - stamp + 2 ** 32) % 2 ** 32 });
            }
            if (out.length >= 30) {
              clearTimeout(timer);
              resolve(out);
            } else videoEl.requestVideoFrameCallback(onFrame);
          };
          videoEl.requestVideoFrameCallback(onFrame);
        }),
    );
    assert.ok(samples.length >= 30);
    const increasing = samples.every((s, i) => i === 0 || s.stamp >= samples[i - 1]!.stamp);
    assert.ok(increasing, 'the stamps shown advance');
    const p50 = median(samples.map((s) => s.latency));
    console.log(`      fMP4/MSE glass-to-glass latency p50: ${p50} ms (${samples.length} frames)`);
    assert.ok(
      samples.every((s) => s.latency < 2 ** 31),
      'a frame is never shown before the simulator drew it',
    );
    assert.equal(await page.locator('pfcam-live-panel').getAttribute('data-state'), 'live');
  });

  it('shows MJPEG through an <img> as the fallback, and MJPEG frames decoded in the page carry the stamp', async () => {
    await page.goto(`${origin}/page?mode=mjpeg`);
    const img = page.locator('pfcam-live-panel img.live');
    await img.waitFor({ state: 'attached' });
    const imgHandle = await img.elementHandle();
    await page.waitForFunction((i) => (i as HTMLImageElement).naturalWidth > 0, imgHandle, {
      timeout: 20_000,
    });
    await page.waitForFunction(
      () => document.querySelector('pfcam-live-panel')?.getAttribute('data-state') === 'live',
      undefined,
      { timeout: 20_000 },
    );
    const url = `/pfcam/api/live/${sim.serialNumber}/mjpeg`;
    const latencies = await page.evaluate(async (streamUrl) => {
      const res = await fetch(streamUrl, { credentials: 'same-origin' });
      const reader = res.body!.getReader();
      let buf = new Uint8Array(0);
      const out: number[] = [];
      const find = (hay: Uint8Array, needle: number[], from: number): number => {
        outer: for (let i = from; i <= hay.length - needle.length; i++) {
          for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
          return i;
        }
        return -1;
      };
      while (out.length < 20) {
        const { value, done } = await reader.read();
        if (done) break;
        const next = new Uint8Array(buf.length + value.length);
        next.set(buf);
        next.set(value, buf.length);
        buf = next;
        for (;;) {
          const soi = find(buf, [0xff, 0xd8, 0xff, 0xfe], 0);
          if (soi < 0) break;
          const eoi = find(buf, [0xff, 0xd9, 0x0d, 0x0a], soi);
          if (eoi < 0) break;
          const jpeg = buf.slice(soi, eoi + 2);
          buf = buf.slice(eoi + 2);
          const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
          const shownAt = Date.now();
          bitmap.close();
          const len = (jpeg[4]! << 8) | jpeg[5]!;
          const text = new TextDecoder('latin1').decode(jpeg.slice(6, 4 + len));
          const match = /^pfcam-ts=(\d+);/.exec(text);
          if (match) out.push(shownAt - Number(match[1]));
        }
      }
      await reader.cancel();
      return out;
    }, url);
    assert.ok(latencies.length >= 20, `${latencies.length} stamped frames decoded`);
    const p50 = median(latencies);
    console.log(`      MJPEG glass-to-glass latency p50: ${p50} ms (${latencies.length} frames)`);
    assert.ok(
      latencies.every((l) => l >= 0),
      'a frame is never shown before the camera stamped it',
    );
  });

  it('stops ffmpeg (SIGTERM, then SIGKILL) and the camera stream after the last viewer left', async () => {
    await page.goto('about:blank');
    const counters = (): { mjpeg: number; fmp4: number } => {
      const c = hub.counters().find((x) => x.camera === cameraId);
      return { mjpeg: c?.mjpeg.viewers ?? 0, fmp4: c?.fmp4?.viewers ?? 0 };
    };
    await waitFor('no viewer', () => counters().mjpeg === 0 && counters().fmp4 === 0);
    await waitFor('the camera MJPEG stream closed', () => sim.control.liveStreams().open === 0);
    const relay = hub.relaysOf(cameraId)?.fmp4;
    assert.ok(relay, 'the fMP4 relay ran');
    await waitFor('ffmpeg stopped', () => relay.ffmpegPid === undefined);
  });
});
