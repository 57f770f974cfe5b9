/**
 * Two things of the dashboard screens in headless Chromium, with the front-end module mounted in a page over the
 * dashboard's real routes (real store, simulated camera) and a fixed principal: a camera card's live view (still,
 * live on click, back to the still, one camera stream) photographed at both sizes, and a camera-supplied name
 * shown as text. The screens as each role uses them, through the real login and the shipped application, are
 * in dashboard-roles.spec.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROLE_PERMISSIONS, type Principal } from '../../lib/auth/permissions';
import { CameraRegistry } from '../../lib/cameras/camera-registry';
import { RebootCounter } from '../../lib/dashboard/cameras';
import { JobBoard } from '../../lib/dashboard/jobs';
import { parseRetentionOptions } from '../../lib/retention/retention-options';
import type { ApiRoute } from '../../dashboard/api/api-route';
import { dashboardRoutes } from '../../dashboard/api/dashboard-routes';
import { createLiveApi, type LiveApi } from '../../dashboard/api/live-routes';
import { LiveHub } from '../../lib/live/live-hub';
import { startCamera, type SimulatedCamera } from '../../simulator';
import {
  PRINCIPALS,
  registeredCamera,
  startTestApi,
  storedRecording,
  type TestApi,
  type TestCamera,
} from '../helpers/dashboard-fixtures';
import { openFixture, type StoreFixture } from '../unit/store-fixtures';

/** Resolves once `check(read())` holds (polled every 25 ms), rejects after 20 s. */
async function waitForCount(read: () => number, check: (n: number) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check(read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (now ${read()})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const EVIL = '{{constructor.constructor("document.title=1")()}}<img src=x onerror="document.title=2">';

const HOST = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pfcam</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><div class="pfcam-screen" data-pfcam-node="n1"></div></main>
<script type="module">
import { mount } from '/pfcam-ui/assets/pfcam-ui.mjs';
mount({ node: 'n1', screen: new URLSearchParams(location.search).get('screen'), base: '' });
</script></body></html>`;

describe('dashboard screens in Chromium', function () {
  this.timeout(60_000);
  let fx: StoreFixture;
  let sim: SimulatedCamera;
  let cam: TestCamera;
  let api: TestApi;
  let jobs: JobBoard;
  let reboots: RebootCounter;
  let browser: Browser;
  let hub: LiveHub;
  let live: LiveApi;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    fx = await openFixture();
    sim = await startCamera({ seed: 11, restartMs: 300 });
    cam = await registeredCamera(sim);
    const registry = new CameraRegistry();
    registry.add(cam.camera);
    jobs = new JobBoard();
    reboots = new RebootCounter();
    const video = await readFile(join(__dirname, '..', '..', 'simulator', 'fixtures', 'clip.mp4'));
    for (let i = 0; i < 4; i++) {
      await storedRecording(fx.store, sim.serialNumber, `clip-${i}`, {
        triggeredAt: new Date(Date.now() - (i + 1) * 3_600_000).toISOString(),
        eventName: i === 0 ? EVIL : `gate ${i}`,
        video,
      });
    }
    const session: ApiRoute = {
      method: 'GET',
      path: '/session',
      permission: 'events:view',
      summary: 'test session',
      handler: (req) =>
        Promise.resolve({
          json: {
            user: { name: req.principal.name, role: req.principal.role, cameras: req.principal.cameras },
            csrfToken: 'test',
            permissions: ROLE_PERMISSIONS[req.principal.role ?? 'viewer'],
          },
        }),
    };
    const routes = dashboardRoutes({
      store: () => Promise.resolve(fx.store),
      cameras: registry,
      timeZone: 'Europe/Zurich',
      jobs,
      reboots,
      retentionPolicy: () => parseRetentionOptions({ maxAgeDays: 30 }),
      changed: () => undefined,
      restartTimeoutMs: 15_000,
    });
    // the live view over MJPEG (no ffmpeg here: the page falls back from fMP4 as it does without one)
    hub = new LiveHub({ ffmpegPath: null, mjpeg: { idleCloseMs: 200 } });
    live = createLiveApi({ cameras: registry, hub });
    const ui = join(__dirname, '..', '..', 'dashboard', 'ui');
    api = await startTestApi([session, ...routes, ...live.routes], {
      files: {
        '/pfcam/ui/live/live-view.js': {
          type: 'text/javascript',
          body: await readFile(join(ui, 'live', 'live-view.js')),
        },
        '/host.html': { type: 'text/html; charset=utf-8', body: HOST },
        '/pfcam-ui/assets/pfcam-ui.mjs': {
          type: 'text/javascript',
          body: await readFile(join(ui, 'pfcam-ui.mjs')),
        },
        '/pfcam-ui/assets/pfcam-ui.css': { type: 'text/css', body: await readFile(join(ui, 'pfcam-ui.css')) },
      },
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    live?.close();
    await hub?.close();
    await api?.close();
    await jobs?.idle();
    reboots?.close();
    await cam?.close();
    await sim?.stop();
    await fx?.cleanup();
  });

  async function open(who: Principal, screen: string, size = { width: 1600, height: 1000 }): Promise<Page> {
    const context = await browser.newContext({ viewport: size });
    const url = new URL(api.url);
    await context.addCookies([
      { name: 'test-principal', value: api.signIn(who), domain: url.hostname, path: '/' },
    ]);
    const page = await context.newPage();
    await page.goto(`${api.url}/host.html?screen=${screen}`);
    await page.waitForSelector('.pfcam-view[data-ready="true"]', { timeout: 15_000 });
    return page;
  }

  it('shows a camera card live in its own panel (still, live on click, state) and a grid of all cameras, at both sizes', async function () {
    this.timeout(90_000);
    for (const size of [
      { width: 390, height: 844 },
      { width: 1600, height: 1000 },
    ]) {
      const page = await open(PRINCIPALS.viewer, 'cameras', size);
      try {
        const card = page.locator('.pfcam-card').first();
        assert.equal(
          await page.locator('.pfcam-live-all pfcam-live-grid').count(),
          1,
          'the grid of all cameras',
        );
        // the card's still (a snapshot), before anyone watches live
        await page.waitForFunction(
          () => {
            const grid = document.querySelector('.pfcam-card pfcam-live-grid');
            const img = grid?.shadowRoot?.querySelector<HTMLImageElement>('.tile img');
            return Boolean(img && img.complete && img.naturalWidth > 0);
          },
          undefined,
          { timeout: 20_000 },
        );
        await card.locator('pfcam-live-grid .tile').click();
        const shown = await page.waitForFunction(
          () => {
            const grid = document.querySelector('.pfcam-card pfcam-live-grid');
            const panel = grid?.shadowRoot?.querySelector<HTMLElement>('pfcam-live-panel');
            const img = panel?.shadowRoot?.querySelector<HTMLImageElement>('img.live');
            const badge = panel?.shadowRoot?.querySelector('.badge[role="status"]');
            if (!panel || !img || !img.complete || img.naturalWidth === 0) return false;
            if (panel.dataset.state !== 'live') return false;
            return {
              state: badge?.textContent,
              width: img.naturalWidth,
              box: panel.getBoundingClientRect().width,
            };
          },
          undefined,
          { timeout: 30_000 },
        );
        const seen = (await shown.jsonValue()) as { state: string; width: number; box: number };
        assert.equal(seen.state, 'live', 'the state text says live');
        assert.ok(seen.box <= size.width, 'the panel fits the viewport width');
        await waitForCount(
          () => sim.control.liveStreams().open,
          (n) => n === 1,
          'one camera stream',
        );
        await page.screenshot({
          path: join(ARTIFACTS, `dashboard-cameras-live-${size.width}x${size.height}.png`),
          fullPage: true,
        });
        // "Stop live" goes back to the still
        await card.locator('pfcam-live-grid button.close').click();
        assert.equal(
          await page.evaluate(
            () =>
              document
                .querySelector('.pfcam-card pfcam-live-grid')
                ?.shadowRoot?.querySelector('pfcam-live-panel') ?? null,
          ),
          null,
        );
      } finally {
        await page.context().close();
      }
      await waitForCount(
        () => sim.control.liveStreams().open,
        (n) => n === 0,
        'the camera stream closed',
      );
    }
  });

  it('shows a camera-supplied name as text: no markup, no AngularJS expression evaluated', async () => {
    const page = await open(PRINCIPALS.viewer, 'recordings');
    try {
      await page.waitForSelector('table.pfcam-table');
      assert.ok((await page.locator('td', { hasText: '{{constructor' }).count()) >= 1);
      assert.equal(await page.locator('main img[src="x"]').count(), 0);
      assert.equal(await page.title(), 'pfcam');
    } finally {
      await page.context().close();
    }
  });
});
