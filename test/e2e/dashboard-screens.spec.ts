/**
 * The dashboard screens in headless Chromium: the front-end module mounted in a page, over the dashboard's real
 * routes (real store, simulated camera), signed in as viewer, manager and admin with a fixed principal (the
 * session of the security module is not part of this spec). Each screen is checked by axe (no serious or
 * critical violation) and photographed at 390x844 and 1600x1000 into test-artifacts/.
 */
import { strict as assert } from 'node:assert';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
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

type AxeViolation = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number];

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const SCREENS = ['overview', 'recordings', 'cameras', 'camera-settings', 'alerts', 'system'];
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

  it('renders every screen for an admin at both sizes, with no serious or critical axe violation on the phone layout', async function () {
    this.timeout(180_000);
    for (const screen of SCREENS) {
      for (const size of [
        { width: 390, height: 844 },
        { width: 1600, height: 1000 },
      ]) {
        const page = await open(PRINCIPALS.admin, screen, size);
        try {
          const errors = await page.locator('.pfcam-state-error').allTextContents();
          assert.deepEqual(errors, [], `${screen}: no error state`);
          // axe once per screen, on the phone layout (stacked tables, wrapped forms: the harder case)
          const result =
            size.width === 390
              ? await new AxeBuilder({ page }).analyze()
              : { violations: [] as AxeViolation[] };
          const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
          assert.deepEqual(
            bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
            [],
            `${screen} at ${size.width}x${size.height}`,
          );
          await page.screenshot({
            path: join(ARTIFACTS, `dashboard-${screen}-${size.width}x${size.height}.png`),
            fullPage: true,
          });
        } finally {
          await page.context().close();
        }
      }
    }
  });

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

  it('filters and plays as a viewer, who sees no flag or delete and is refused them on the server', async () => {
    const page = await open(PRINCIPALS.viewer, 'recordings');
    try {
      await page.getByLabel('Name').fill('gate');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tr[data-recording]').length === 3);
      assert.equal(await page.getByRole('button', { name: /^Flag / }).count(), 0);
      assert.equal(await page.getByRole('button', { name: /^Delete / }).count(), 0);
      const played = page.waitForResponse(
        (r) => /\/recordings\/\d+\/video$/.test(r.url()) && r.status() < 300,
      );
      await page.getByRole('button', { name: 'Play gate 1' }).click();
      await played;
      await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 1, undefined, {
        timeout: 15_000,
      });
      const e = (await fx.store.getByFile(sim.serialNumber, 'clip-1'))!;
      const status = await page.evaluate(
        (id) =>
          fetch(`/pfcam/api/recordings/${id}`, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json' },
            body: '{"flagged":true}',
          }).then((r) => r.status),
        e.id,
      );
      assert.equal(status, 403);
      assert.equal((await fx.store.get(e.id))!.flagged, false);
    } finally {
      await page.context().close();
    }
  });

  it('flags as a manager and triggers a recording on the camera', async () => {
    const page = await open(PRINCIPALS.manager, 'recordings');
    try {
      const e = (await fx.store.getByFile(sim.serialNumber, 'clip-2'))!;
      await page.getByRole('button', { name: 'Flag gate 2' }).click();
      await page.getByRole('button', { name: 'Unflag gate 2' }).waitFor();
      assert.equal((await fx.store.get(e.id))!.flagged, true);
    } finally {
      await page.context().close();
    }
    const cams = await open(PRINCIPALS.manager, 'cameras');
    try {
      await cams.getByLabel('Event name').waitFor();
      const recorded = new Promise<string | null>((resolve) => {
        const on = (ev: { eventName: string | null }): void => {
          sim.control.off('recording', on);
          resolve(ev.eventName);
        };
        sim.control.on('recording', on);
      });
      await cams.getByLabel('Event name').fill('from the page');
      await cams.getByLabel('Post-event seconds').fill('1');
      await cams.getByRole('button', { name: 'Trigger' }).click();
      assert.equal(await recorded, 'from the page');
      assert.equal(await cams.getByRole('button', { name: 'Reboot' }).count(), 0, 'reboot is for admins');
    } finally {
      await cams.context().close();
    }
  });

  it('refuses an out-of-range setting in the page before sending, then saves a valid one through the restart', async () => {
    const page = await open(PRINCIPALS.manager, 'camera-settings');
    try {
      const quality = page.getByLabel('recording_quality_level', { exact: true });
      await quality.waitFor();
      let sent = 0;
      page.on('request', (r) => {
        if (r.url().includes('/settings')) sent++;
      });
      await quality.fill('500');
      await page.getByRole('button', { name: 'Review changes' }).click();
      await page.getByText('recording_quality_level must be from 1 to 100').waitFor();
      assert.equal(sent, 0, 'nothing was sent');
      const current = sim.control.settings().recording_quality_level;
      const wanted = current === 60 ? 61 : 60;
      await quality.fill(String(wanted));
      await page.getByRole('button', { name: 'Review changes' }).click();
      await page.getByRole('button', { name: 'Save and restart the camera' }).click();
      await page.getByText('settings done — back and verified').waitFor({ timeout: 30_000 });
      assert.equal(sim.control.settings().recording_quality_level, wanted);
    } finally {
      await page.context().close();
    }
  });
});
