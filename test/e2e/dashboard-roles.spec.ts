/**
 * The dashboard as operators use it: one real Node-RED process with the shipped settings.js and the shipped flows
 * (every tab: ingest, cameras, alerts, dashboard) over three simulated cameras, and a viewer, a manager and an
 * admin signed in through the real login page (password + TOTP) in headless Chromium. Each role drives the real
 * /ui tabs: Overview, Recordings (filter, play, download, flag, tag, mark viewed, delete with the camera copy,
 * export), Cameras (trigger, stop, reboot), Camera settings (diff, restart warning, back and verified), Alerts
 * and System. Each action a role may not take is sent as the page would send it, with that user's own session
 * and CSRF token, and refused by the server (403). "Viewed" is per user, checked in the pages and over the API.
 * Screenshots of every screen at 390x844 and 1600x1000 go to test-artifacts/.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { newTotpSecret } from '../../lib/auth/totp';
import { Database } from '../../lib/store/database';
import { startCameras, type SimulatedCamera } from '../../simulator';
import { NodeRedProcess } from '../helpers/node-red-process';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitForDone as waitFor } from '../helpers/wait-for';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const shippedFlows = require('../../scripts/flows') as {
  composeFlows(dir: string): unknown[];
  applyServices(flows: unknown[], services: { s3: boolean; mqtt: boolean }): unknown[];
  flowsEnv(env: Record<string, string | undefined>): Record<string, string>;
};

const root = resolve(__dirname, '..', '..');
const ARTIFACTS = join(root, 'test-artifacts');
const PHONE = { width: 390, height: 844 };
const WIDE = { width: 1600, height: 1000 };
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
/** The shipped tabs, in their order (the dashboard's tab index). */
const TABS = ['overview', 'recordings', 'cameras', 'camera-settings', 'alerts', 'system'] as const;
type Screen = (typeof TABS)[number];
type Role = 'viewer' | 'manager' | 'admin';

interface Account {
  name: string;
  password: string;
  secret: string;
  id: number;
  context: BrowserContext;
  page: Page;
  cookie: string;
  csrf: string;
  /** What the next `window.prompt` answers. */
  prompt: string;
}

interface Answer {
  status: number;
  text: string;
}

describe('the dashboard for viewer, manager and admin (real Node-RED, shipped flows, login page)', function () {
  this.timeout(240_000);
  let dir: string;
  let dataDir: string;
  let cams: SimulatedCamera[] = [];
  let nodeRed: NodeRedProcess | undefined;
  let base: string;
  let browser: Browser | undefined;
  const who = {} as Record<Role, Account>;
  const clip = readFileSync(join(root, 'simulator', 'fixtures', 'clip.mp4'));

  /** Waits (polling every 100 ms) until `read` gives a value that `ok` accepts. */
  async function until<T>(
    what: string,
    read: () => Promise<T>,
    ok: (v: T) => boolean,
    ms = 30_000,
  ): Promise<T> {
    const deadline = Date.now() + ms;
    let last: T | undefined;
    for (;;) {
      last = await read();
      if (ok(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A request with an account's session cookie (and CSRF token when it changes something), from this process. */
  async function call(a: Account, method: string, path: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { cookie: a.cookie, origin: base };
    if (method !== 'GET') headers['x-csrf-token'] = a.csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}/pfcam/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  /** The request the page itself would send (its fetch, its cookie, its CSRF token). */
  function fromPage(a: Account, method: string, path: string, body?: unknown): Promise<Answer> {
    return a.page.evaluate(
      async ([m, p, b]) => {
        const s = (await (await fetch('/pfcam/api/session')).json()) as { csrfToken: string };
        const headers: Record<string, string> = { 'X-CSRF-Token': s.csrfToken };
        if (b !== undefined) headers['Content-Type'] = 'application/json';
        const res = await fetch(`/pfcam/api${p}`, {
          method: m,
          headers,
          body: b === undefined ? undefined : JSON.stringify(b),
        });
        return { status: res.status, text: await res.text() };
      },
      [method, path, body] as const,
    );
  }

  async function json<T>(a: Account, path: string): Promise<T> {
    const r = await call(a, 'GET', path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    return JSON.parse(r.text) as T;
  }

  interface Rec {
    id: number;
    camera: string;
    fileName: string;
    name: string | null;
    flagged: boolean;
    viewed: boolean;
    tags: string[];
    state: string;
  }
  const recordings = async (a: Account, q = ''): Promise<Rec[]> =>
    (await json<{ recordings: Rec[] }>(a, `/recordings?limit=200${q}`)).recordings;
  const byName = async (a: Account, name: string): Promise<Rec> => {
    const r = (await recordings(a)).find((x) => x.name === name);
    assert.ok(r, `recording ${name} listed`);
    return r;
  };

  /** The name the dashboard shows for a camera. */
  async function cameraName(a: Account, cam: SimulatedCamera): Promise<string> {
    const { cameras } = await json<{ cameras: { serial: string | null; name: string }[] }>(a, '/cameras');
    const found = cameras.find((c) => c.serial === cam.serialNumber);
    assert.ok(found, `camera ${cam.serialNumber} listed`);
    return found.name;
  }

  async function openTab(a: Account, screen: Screen): Promise<void> {
    const index = TABS.indexOf(screen);
    await a.page.goto(`${base}/ui/?tab=${index}#!/${index}`);
    await a.page.waitForSelector(`.pfcam-view[data-screen="${screen}"][data-ready="true"]`, {
      timeout: 30_000,
    });
  }

  /** Sets every filter of the Recordings screen (the screen keeps the last ones) and waits for `rows` rows. */
  async function filter(
    a: Account,
    f: { camera?: string; name?: string; flagged?: boolean; unviewed?: boolean },
    rows: number,
  ): Promise<void> {
    const page = a.page;
    await page.getByLabel('Camera (serial)').fill(f.camera ?? '');
    await page.getByLabel('Name').fill(f.name ?? '');
    await page.getByLabel('Flagged only').setChecked(f.flagged ?? false);
    await page.getByLabel('Unviewed only').setChecked(f.unviewed ?? false);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-recording]').length === n, rows, {
      timeout: 20_000,
    });
  }

  async function shot(a: Account, name: string): Promise<void> {
    const size = a.page.viewportSize() ?? WIDE;
    await a.page.screenshot({
      path: join(ARTIFACTS, `dashboard-${name}-${size.width}x${size.height}.png`),
      fullPage: true,
    });
  }

  async function newPage(
    a: Pick<Account, 'prompt'>,
    size = WIDE,
  ): Promise<{ context: BrowserContext; page: Page }> {
    assert.ok(browser);
    const context = await browser.newContext({ viewport: size, acceptDownloads: true });
    const page = await context.newPage();
    page.on('dialog', (d) => void (d.type() === 'prompt' ? d.accept(a.prompt) : d.accept()));
    return { context, page };
  }

  async function sessionOf(a: Pick<Account, 'context' | 'page'>): Promise<{ cookie: string; csrf: string }> {
    const c = (await a.context.cookies(base)).find((x) => x.name === 'pfcam.sid');
    assert.ok(c, 'the browser holds a session cookie');
    const s = await a.page.evaluate(
      async () => (await (await fetch('/pfcam/api/session')).json()) as { csrfToken: string },
    );
    return { cookie: `pfcam.sid=${c.value}`, csrf: s.csrfToken };
  }

  /** First sign-in through the login page: the one-time password, a new password, TOTP enrolment. */
  async function firstSignIn(page: Page, name: string, once: string, password: string): Promise<string> {
    await page.goto(`${base}/pfcam/login?next=/ui/`);
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(once);
    await page.click('#submit');
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('New password again').fill(password);
    await page.click('#change-password button');
    await page.waitForSelector('#enrol:not([hidden]) #qr[src^="data:image/png"]', { timeout: 20_000 });
    const secret = (await page.textContent('#secret'))?.trim() ?? '';
    await page.getByLabel('The 6-digit code the app shows').fill(await freshTotpCode(secret));
    await page.click('#enrol button');
    await page.waitForSelector('#recovery:not([hidden])', { timeout: 20_000 });
    await Promise.all([page.waitForURL(`${base}/ui/**`, { timeout: 20_000 }), page.click('#continue')]);
    return secret;
  }

  before(async function () {
    this.timeout(180_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'pfcam-dashboard-roles-'));
    dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(userDir, { recursive: true });
    cams = await startCameras(3, { seed: 41, restartMs: 400, postEventSeconds: 1 });
    const [one, two] = cams as [SimulatedCamera, SimulatedCamera];
    const t0 = Date.now() - 6 * 3_600_000;
    const at = (h: number): string => new Date(t0 + h * 3_600_000).toISOString();
    one.control.addRecording({ eventName: 'gate 1', triggeredAt: at(1) });
    one.control.addRecording({ eventName: 'gate 2', triggeredAt: at(2) });
    one.control.addRecording({ eventName: 'gate 3', triggeredAt: at(3) });
    one.control.addRecording({ eventName: 'door 1', triggeredAt: at(4) });
    two.control.addRecording({ eventName: 'yard 1', triggeredAt: at(5) });
    const flows = shippedFlows.applyServices(shippedFlows.composeFlows(join(root, 'flows')), {
      s3: false,
      mqtt: false,
    });
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows));
    const env: Record<string, string> = {};
    cams.forEach((c, i) => (env[`PFCAM_CAMERA_${i + 1}_URL`] = c.url));
    nodeRed = await NodeRedProcess.start({
      userDir,
      shippedSettings: true,
      env: {
        ...shippedFlows.flowsEnv(env),
        ...env,
        PFCAM_DATA: dataDir,
        PFCAM_CREDENTIAL_SECRET: 'test-secret',
        PFCAM_ADMIN_USER: ADMIN.name,
        PFCAM_ADMIN_PASSWORD: ADMIN.password,
        PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
      },
    });
    base = nodeRed.url;
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

    // the admin signs in with the password and the code of the authenticator set up by the environment
    const admin = { prompt: '' } as Account;
    Object.assign(admin, await newPage(admin), ADMIN);
    await admin.page.goto(`${base}/pfcam/login?next=/ui/`);
    await admin.page.getByLabel('User name').fill(ADMIN.name);
    await admin.page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await admin.page
      .getByLabel('Authenticator code or recovery code')
      .fill(await freshTotpCode(ADMIN.secret));
    await Promise.all([
      admin.page.waitForURL(`${base}/ui/**`, { timeout: 20_000 }),
      admin.page.click('#submit'),
    ]);
    Object.assign(admin, await sessionOf(admin));
    who.admin = admin;
    // the admin creates a viewer and a manager (the Users screen is covered by security-screens.spec.ts)
    for (const role of ['viewer', 'manager'] as const) {
      const made = await call(admin, 'POST', '/users', { name: `${role}-1`, role });
      assert.equal(made.status, 201, made.text);
      const { user, password } = JSON.parse(made.text) as { user: { id: number }; password: string };
      const a = {
        prompt: '',
        name: `${role}-1`,
        password: `${role} own password 0123`,
        id: user.id,
      } as Account;
      Object.assign(a, await newPage(a, role === 'viewer' ? PHONE : WIDE));
      a.secret = await firstSignIn(a.page, a.name, password, a.password);
      Object.assign(a, await sessionOf(a));
      who[role] = a;
    }
    who.admin.id = (await json<{ users: { id: number; name: string }[] }>(admin, '/users')).users.find(
      (u) => u.name === ADMIN.name,
    )!.id;
    // the ingest flow archives the five recordings of the cameras
    await until(
      'the five recordings archived',
      async () => (await recordings(admin)).filter((r) => r.state === 'stored').length,
      (n) => n >= 5,
      60_000,
    );
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.stop();
    for (const c of cams) await c.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows each role the Overview with its own unviewed count', async () => {
    for (const role of ['viewer', 'manager', 'admin'] as const) {
      const a = who[role];
      await openTab(a, 'overview');
      const view = a.page.locator('.pfcam-view[data-screen="overview"]');
      await view.getByText('Unviewed').first().waitFor();
      assert.equal(await view.locator('.pfcam-state-error').count(), 0, `${role}: no error`);
    }
    const o = await json<{ unviewed: number }>(who.viewer, '/dashboard/overview');
    assert.equal(o.unviewed, 5);
  });

  it('lets a viewer filter and play in the page, and refuses the viewer download, flag, tag, delete and export on the server', async () => {
    const v = who.viewer;
    await openTab(v, 'recordings');
    const page = v.page;
    // by camera
    const serial = cams[1]!.serialNumber;
    await filter(v, { camera: serial }, 1);
    assert.match((await page.locator('tr[data-recording]').textContent()) ?? '', /yard 1/);
    // by name
    await filter(v, { name: 'gate' }, 3);
    // a viewer sees no download, flag, tag, delete or export
    for (const name of [/^Download /, /^Flag /, /^Tag /, /^Delete /])
      assert.equal(await page.getByRole('button', { name }).count(), 0, String(name));
    assert.equal(await page.getByRole('link', { name: /^Download |^Export / }).count(), 0);
    // play in the page: the video element gets data from a ranged answer
    const video = page.waitForResponse((r) => /\/recordings\/\d+\/video$/.test(r.url()));
    await page.getByRole('button', { name: 'Play gate 2' }).click();
    assert.ok([200, 206].includes((await video).status()));
    await page.waitForFunction(() => (document.querySelector('video')?.readyState ?? 0) >= 2, undefined, {
      timeout: 20_000,
    });
    await shot(v, 'recordings-viewer-playing');

    const gate1 = await byName(v, 'gate 1');
    for (const [method, path, body] of [
      ['GET', `/recordings/${gate1.id}/download`],
      ['PATCH', `/recordings/${gate1.id}`, { flagged: true }],
      ['PATCH', `/recordings/${gate1.id}`, { tags: ['mine'] }],
      ['DELETE', `/recordings/${gate1.id}?camera=true`],
      ['GET', '/exports/recordings?format=csv'],
    ] as const) {
      const r = await fromPage(v, method, path, body);
      assert.equal(r.status, 403, `${method} ${path} refused: ${r.text}`);
    }
    const after = await byName(who.admin, 'gate 1');
    assert.equal(after.flagged, false);
    assert.deepEqual(after.tags, []);
    assert.ok(
      cams[0]!.control.recordings().some((e) => e.fileName === gate1.fileName),
      'still on the camera',
    );
  });

  it('keeps "viewed" per user: the viewer played gate 2, the manager still has it unviewed (pages and API)', async () => {
    const v = who.viewer;
    const m = who.manager;
    const gate2 = await until(
      'the play marking gate 2 viewed',
      () => byName(v, 'gate 2'),
      (r) => r.viewed,
    );
    assert.equal((await byName(m, 'gate 2')).viewed, false, "the viewer's mark is not the manager's");
    const unviewed = async (a: Account): Promise<string[]> =>
      (await recordings(a, '&viewed=false')).map((r) => r.name ?? '').sort();
    assert.deepEqual(await unviewed(v), ['door 1', 'gate 1', 'gate 3', 'yard 1']);
    assert.deepEqual(await unviewed(m), ['door 1', 'gate 1', 'gate 2', 'gate 3', 'yard 1']);
    assert.equal((await json<{ unviewed: number }>(v, '/dashboard/overview')).unviewed, 4);
    assert.equal((await json<{ unviewed: number }>(m, '/dashboard/overview')).unviewed, 5);
    // "Mark viewed" is open to every role, and marks only the caller's own
    const marked = await call(m, 'POST', `/recordings/${gate2.id}/viewed`, { viewed: true });
    assert.equal(marked.status, 200, marked.text);
    assert.equal((await byName(m, 'gate 2')).viewed, true);
    assert.equal((await byName(who.admin, 'gate 2')).viewed, false);
    const unmark = await call(m, 'POST', `/recordings/${gate2.id}/viewed`, { viewed: false });
    assert.equal(unmark.status, 200, unmark.text);
    assert.equal((await byName(v, 'gate 2')).viewed, true, "the manager's unmark leaves the viewer's mark");

    // in the pages: "Unviewed only" and the Overview count are each user's own
    for (const [a, count] of [
      [v, 4],
      [m, 5],
    ] as const) {
      await openTab(a, 'recordings');
      await filter(a, { unviewed: true }, count);
    }
    await v.page.getByRole('button', { name: 'Mark viewed: gate 3' }).click();
    await v.page.waitForFunction(() => document.querySelectorAll('tr[data-recording]').length === 3);
    await openTab(v, 'overview');
    assert.equal((await json<{ unviewed: number }>(v, '/dashboard/overview')).unviewed, 3);
    assert.equal((await json<{ unviewed: number }>(m, '/dashboard/overview')).unviewed, 5);
  });

  it('lets a manager download, flag, tag and export, and refuses the manager delete on the server', async () => {
    const m = who.manager;
    await openTab(m, 'recordings');
    await filter(m, {}, 5);
    const page = m.page;
    // download: the file arrives, byte for byte the camera's clip
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download gate 1' }).click(),
    ]);
    const file = join(dir, 'download.mp4');
    await download.saveAs(file);
    assert.ok(readFileSync(file).equals(clip), 'the downloaded file is the recording');
    // flag, then the flagged filter
    await page.getByRole('button', { name: 'Flag gate 3' }).click();
    await page.getByRole('button', { name: 'Unflag gate 3' }).waitFor();
    await filter(m, { flagged: true }, 1);
    assert.match((await page.locator('tr[data-recording]').textContent()) ?? '', /gate 3/);
    // tag (the page asks with a prompt)
    m.prompt = 'night, truck';
    await page.getByRole('button', { name: 'Tag gate 3' }).click();
    await page.locator('tr[data-recording]', { hasText: 'night' }).waitFor();
    assert.deepEqual((await byName(m, 'gate 3')).tags, ['night', 'truck']);
    // export: CSV, JSON and ZIP of the filtered list
    const exported: Record<string, Buffer> = {};
    for (const format of ['CSV', 'JSON', 'ZIP']) {
      const [d] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: `Export ${format}` }).click(),
      ]);
      const path = join(dir, `export.${format.toLowerCase()}`);
      await d.saveAs(path);
      exported[format] = readFileSync(path);
    }
    const csv = exported
      .CSV!.toString('utf8')
      .replace(/^\ufeff/, '')
      .trim()
      .split(/\r?\n/);
    assert.match(csv[0]!, /^id,camera,fileName,eventName/);
    assert.equal(csv.length, 2, 'the header and the one flagged recording');
    assert.match(csv[1]!, /gate 3/);
    const rows = JSON.parse(exported.JSON!.toString('utf8')) as { eventName: string }[];
    assert.deepEqual(
      rows.map((r) => r.eventName),
      ['gate 3'],
    );
    assert.equal(exported.ZIP!.subarray(0, 2).toString('latin1'), 'PK');
    assert.ok(exported.ZIP!.includes(Buffer.from('manifest.json')));
    await shot(m, 'recordings-manager');
    assert.equal(await page.getByRole('button', { name: /^Delete / }).count(), 0);
    const gate1 = await byName(m, 'gate 1');
    const refused = await fromPage(m, 'DELETE', `/recordings/${gate1.id}?camera=true`);
    assert.equal(refused.status, 403, refused.text);
    assert.ok(await byName(who.admin, 'gate 1'));
  });

  it('lets an admin delete a recording with its camera copy, audited', async () => {
    const a = who.admin;
    await openTab(a, 'recordings');
    await filter(a, {}, 5);
    const door = await byName(a, 'door 1');
    const gone = a.page.waitForResponse((r) => r.request().method() === 'DELETE');
    await a.page.getByRole('button', { name: 'Delete door 1' }).click(); // both confirms accepted
    assert.equal((await gone).status(), 200);
    await a.page.locator('tr[data-recording]', { hasText: 'door 1' }).waitFor({ state: 'detached' });
    assert.ok(
      !cams[0]!.control.recordings().some((e) => e.fileName === door.fileName),
      'gone from the camera',
    );
    assert.equal((await call(a, 'GET', `/recordings/${door.id}`)).status, 404);
    const log = await json<{ items: { action: string; outcome: string; actor: string }[] }>(
      a,
      `/audit?action=${encodeURIComponent('DELETE /recordings/:id')}`,
    );
    assert.deepEqual(log.items.map((i) => [i.actor, i.outcome]).sort(), [
      [ADMIN.name, 'ok'],
      [who.manager.name, 'denied'],
      [who.viewer.name, 'denied'],
    ]);
  });

  it('lets a manager trigger a named recording and stop active events; refuses the viewer both and the manager a reboot', async () => {
    const m = who.manager;
    const [one] = cams as [SimulatedCamera];
    const name = await cameraName(m, one);
    await openTab(m, 'cameras');
    const form = m.page.getByRole('form', { name: `Trigger a recording on ${name}` });
    await form.waitFor({ timeout: 20_000 });
    const recorded = waitFor<{ eventName: string | null; playbackTime: number }>(
      'the camera recording',
      20_000,
      (done) => one.control.on('recording', (e) => done(e)),
    );
    await form.getByLabel('Event name').fill('from the page');
    await form.getByLabel('Post-event seconds').fill('2');
    await form.getByRole('button', { name: 'Trigger' }).click();
    const event = await recorded;
    assert.equal(event.eventName, 'from the page');
    one.control.clearRequests();
    const stopped = m.page.waitForResponse((r) => /\/stop$/.test(r.url()));
    await form.getByRole('button', { name: 'Stop active events' }).click();
    assert.equal((await stopped).status(), 200);
    assert.ok(
      one.control.requests().some((r) => r.method === 'DELETE' && r.path.startsWith('/api/events/active')),
      'the stop reached the camera',
    );
    assert.equal(await m.page.getByRole('button', { name: 'Reboot' }).count(), 0);
    const path = `/cameras/${encodeURIComponent(one.serialNumber)}`;
    const reboot = await fromPage(m, 'POST', `${path}/reboot`, {});
    assert.equal(reboot.status, 403, reboot.text);

    const v = who.viewer;
    await openTab(v, 'cameras');
    await v.page.locator('.pfcam-card').first().waitFor();
    assert.equal(await v.page.getByRole('button', { name: 'Trigger' }).count(), 0);
    one.control.clearRequests();
    for (const [what, body] of [
      ['trigger', { eventName: 'not mine', postEventSeconds: 1 }],
      ['stop', {}],
      ['reboot', {}],
    ] as const) {
      const r = await fromPage(v, 'POST', `${path}/${what}`, body);
      assert.equal(r.status, 403, `${what}: ${r.text}`);
    }
    assert.equal(
      one.control.requests().filter((r) => r.method !== 'GET').length,
      0,
      'nothing reached the camera',
    );
  });

  it('lets an admin reboot a camera from the Cameras screen and shows it come back', async () => {
    const a = who.admin;
    const [one] = cams as [SimulatedCamera];
    await openTab(a, 'cameras');
    const restarted = waitFor<void>('the camera restarting', 20_000, (done) =>
      one.control.on('restart', () => done()),
    );
    const card = a.page.getByRole('region', { name: `Camera ${await cameraName(a, one)}` });
    await card.getByRole('button', { name: 'Reboot' }).click(); // confirm accepted
    await restarted;
    await card.getByText('reboot done — camera back').waitFor({ timeout: 60_000 });
  });

  it('lets a manager change a setting: diff, restart warning, progress until back and verified; refuses the viewer', async () => {
    const m = who.manager;
    const [one] = cams as [SimulatedCamera];
    await openTab(m, 'camera-settings');
    await m.page.getByLabel('Camera', { exact: true }).selectOption(one.serialNumber);
    const quality = m.page.getByLabel('recording_quality_level', { exact: true });
    await quality.waitFor({ timeout: 20_000 });
    await m.page.getByText('Saving restarts the camera').waitFor();
    // an out-of-range value is refused in the page before anything is sent
    let sent = 0;
    const count = (r: { url(): string }): void => {
      if (r.url().includes('/settings/preview')) sent++;
    };
    m.page.on('request', count);
    await quality.fill('500');
    await m.page.getByRole('button', { name: 'Review changes' }).click();
    await m.page.getByText('recording_quality_level must be from 1 to 100').waitFor();
    m.page.off('request', count);
    assert.equal(sent, 0, 'nothing was sent');
    const now = one.control.settings().recording_quality_level;
    const wanted = now === 60 ? 61 : 60;
    await quality.fill(String(wanted));
    await m.page.getByRole('button', { name: 'Review changes' }).click();
    const diff = m.page.getByRole('table', { name: 'Changes' });
    await diff.waitFor();
    assert.match(
      (await diff.locator('tbody tr').first().textContent()) ?? '',
      new RegExp(`recording_quality_level\\s*${now}\\s*${wanted}`),
    );
    await shot(m, 'camera-settings-diff');
    const restarted = waitFor<void>('the camera restarting', 20_000, (done) =>
      one.control.on('restart', () => done()),
    );
    await m.page.getByRole('button', { name: 'Save and restart the camera' }).click();
    await m.page.getByText(/settings: waiting for the camera/).waitFor({ timeout: 20_000 });
    await restarted;
    await m.page.getByText('settings done — back and verified').waitFor({ timeout: 60_000 });
    assert.equal(one.control.settings().recording_quality_level, wanted);

    const v = who.viewer;
    await openTab(v, 'camera-settings');
    await v.page.getByText('Camera settings are for managers and admins.').waitFor();
    const path = `/cameras/${encodeURIComponent(one.serialNumber)}/settings`;
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { changes: { recording_quality_level: now } }],
    ] as const) {
      const r = await fromPage(v, method, path, body);
      assert.equal(r.status, 403, `${method}: ${r.text}`);
    }
    assert.equal(one.control.settings().recording_quality_level, wanted);
  });

  it('shows the Alerts screen to every role and the System screen to the admin only (refused on the server)', async () => {
    for (const role of ['viewer', 'manager', 'admin'] as const) {
      await openTab(who[role], 'alerts');
      const view = who[role].page.locator('.pfcam-view[data-screen="alerts"]');
      await view.getByRole('form', { name: 'My alert preferences' }).waitFor();
    }
    for (const role of ['viewer', 'manager'] as const) {
      const a = who[role];
      await openTab(a, 'system');
      await a.page.getByText('The System screen is for admins.').waitFor();
      for (const [method, path] of [
        ['GET', '/system'],
        ['POST', '/system/retention/dry-run'],
      ] as const) {
        const r = await fromPage(a, method, path, method === 'POST' ? {} : undefined);
        assert.equal(r.status, 403, `${role} ${method} ${path}: ${r.text}`);
      }
    }
    const a = who.admin;
    await openTab(a, 'system');
    const dry = a.page.waitForResponse((r) => /\/system\/retention\/dry-run$/.test(r.url()));
    await a.page.getByRole('button', { name: 'What would retention delete next?' }).click();
    assert.equal((await dry).status(), 200);
  });

  it("photographs every screen at 390x844 and 1600x1000 (the admin's, and the viewer's on the phone), with no serious or critical axe violation on the phone layout", async () => {
    const found: string[] = [];
    for (const [role, sizes] of [
      ['admin', [PHONE, WIDE]],
      ['viewer', [PHONE]],
    ] as const) {
      const a = who[role];
      for (const size of sizes) {
        await a.page.setViewportSize(size);
        for (const screen of TABS) {
          await openTab(a, screen);
          const refused =
            (screen === 'system' && role !== 'admin') || (screen === 'camera-settings' && role === 'viewer');
          assert.equal(
            await a.page.locator(`.pfcam-view[data-screen="${screen}"] .pfcam-state-error`).count(),
            refused ? 1 : 0,
            `${role} ${screen}: an error state only where the role is refused the screen`,
          );
          // axe on the phone layout (stacked tables, wrapped forms: the harder case), as the admin sees it all
          if (role === 'admin' && size === PHONE) {
            const result = await new AxeBuilder({ page: a.page }).include('.pfcam-view').analyze();
            for (const v of result.violations)
              if (v.impact === 'serious' || v.impact === 'critical')
                found.push(`${screen}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
          }
          await shot(a, `${screen}-${role}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });

  it("deletes a user's viewed marks with the user", async () => {
    const db = await Database.open(join(dataDir, 'pfcam.sqlite'), { busyTimeoutMs: 10_000 });
    try {
      const marks = async (id: number): Promise<number> =>
        (
          await db.get<{ n: number }>(
            "SELECT count(*) AS n FROM viewed_marks WHERE viewer_kind = 'user' AND viewer_id = ?",
            [id],
          )
        )?.n ?? 0;
      assert.ok((await marks(who.viewer.id)) >= 2, 'the viewer has marks');
      const r = await call(who.admin, 'DELETE', `/users/${who.viewer.id}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(await marks(who.viewer.id), 0);
    } finally {
      await db.close();
    }
  });
});
