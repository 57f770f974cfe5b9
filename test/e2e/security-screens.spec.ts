/**
 * The My account, Users and Audit screens in headless Chromium against a real Node-RED process with the shipped
 * settings.js and the shipped dashboard tabs of these screens, with real logins through the login page: an
 * admin creates a viewer (the one-time password is shown once), the viewer's first sign-in works, the viewer
 * sees no user or audit data (the API's 403 is shown), the admin disables the viewer (their open socket drops)
 * and resets their MFA, and the audit screen lists those actions filtered by user. axe finds no serious or
 * critical violation on the three screens; screenshots at 390x844 and 1600x1000 go to test-artifacts/.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { newTotpSecret } from '../../lib/auth/totp';
import { NodeRedProcess } from '../helpers/node-red-process';
import { waitForDone as waitFor } from '../helpers/wait-for';
import { freshTotpCode } from '../helpers/totp-codes';

const root = resolve(__dirname, '..', '..');
const ARTIFACTS = join(root, 'test-artifacts');
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
const VIEWER_NAME = 'watcher';
const VIEWER_PASSWORD = 'watcher own password 0123';
const PHONE = { width: 390, height: 844 };
const WIDE = { width: 1600, height: 1000 };

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** The shipped dashboard's config node and its account, users and audit tabs (tab indexes 0, 1, 2). */
function shippedSecurityTabs(): FlowNode[] {
  const shipped = JSON.parse(readFileSync(join(root, 'flows', 'dashboard.json'), 'utf8')) as FlowNode[];
  const wanted = (n: FlowNode): boolean =>
    n.id === 'tab-dashboard' || /^ui-(tab|group|w)-(account|users|audit)$/.test(n.id);
  const config = shipped.find((n) => n.type === 'pfcam-ui-config');
  assert.ok(config, 'the shipped dashboard has a pfcam-ui-config node');
  const { retention: _retention, ...configWithoutRetention } = config;
  const store = {
    id: String(config['store']),
    type: 'pfcam-store',
    name: 'Archive',
    databaseFile: '',
    mediaDir: '',
  };
  return [...shipped.filter(wanted), configWithoutRetention, store];
}

describe('account, users and audit screens (real Node-RED, shipped settings.js, login page)', function () {
  this.timeout(90_000);
  let dir: string;
  let nodeRed: NodeRedProcess | undefined;
  let base: string;
  let browser: Browser | undefined;
  const sockets: Socket[] = [];
  let admin: BrowserContext;
  let viewer: BrowserContext;
  let adminPage: Page;
  let viewerPage: Page;
  let oneTimePassword = '';

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'pfcam-security-screens-'));
    const dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    mkdirSync(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    symlinkSync(root, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(shippedSecurityTabs()));
    mkdirSync(dataDir, { recursive: true });
    nodeRed = await NodeRedProcess.start({
      userDir,
      shippedSettings: true,
      env: {
        ...process.env,
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
      ],
    });
    admin = await browser.newContext({ viewport: WIDE });
    viewer = await browser.newContext({ viewport: PHONE });
    adminPage = await admin.newPage();
    viewerPage = await viewer.newPage();
    for (const page of [adminPage, viewerPage]) page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    for (const s of sockets) s.close();
    await browser?.close();
    await nodeRed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a dashboard tab (0 My account, 1 Users, 2 Audit) and waits for its screen to be drawn. */
  async function openTab(page: Page, index: number, screen: string): Promise<void> {
    // a full load each time (a hash change alone races with the dashboard's own routing)
    await page.goto(`${base}/ui/?tab=${index}#!/${index}`);
    await page.waitForSelector(`.pfcam-view[data-screen="${screen}"][data-ready="true"]`, {
      timeout: 20_000,
    });
  }

  async function socketOf(context: BrowserContext): Promise<Socket> {
    const cookie = (await context.cookies(base)).find((c) => c.name === 'pfcam.sid');
    assert.ok(cookie, 'the browser holds a session cookie');
    const socket = io(base, {
      path: '/ui/socket.io',
      extraHeaders: { cookie: `pfcam.sid=${cookie.value}`, origin: base },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    await waitFor<void>('the socket connecting', 10_000, (done) => socket.once('connect', () => done()));
    return socket;
  }

  it('lets the admin create a viewer on the Users screen, showing the one-time password once', async () => {
    await adminPage.goto(`${base}/pfcam/login?next=/ui/`);
    await adminPage.getByLabel('User name').fill(ADMIN.name);
    await adminPage.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await adminPage.getByLabel('Authenticator code or recovery code').fill(await freshTotpCode(ADMIN.secret));
    await Promise.all([
      adminPage.waitForURL(`${base}/ui/**`, { timeout: 20_000 }),
      adminPage.click('#submit'),
    ]);
    await openTab(adminPage, 1, 'users');
    await adminPage.getByLabel('User name', { exact: true }).fill(VIEWER_NAME);
    await adminPage.getByLabel('Role', { exact: true }).selectOption('viewer');
    await adminPage.getByRole('button', { name: 'Create user' }).click();
    const secret = adminPage.locator('.pfcam-once .pfcam-secret');
    await secret.waitFor({ timeout: 10_000 });
    oneTimePassword = (await secret.textContent())?.trim() ?? '';
    assert.ok(oneTimePassword.length >= 12, 'a one-time password is shown');
    await adminPage.locator(`tr[data-user="${VIEWER_NAME}"]`).waitFor({ timeout: 10_000 });
    // shown once: drawing the screen again does not bring it back
    await openTab(adminPage, 0, 'account');
    await openTab(adminPage, 1, 'users');
    assert.equal(await adminPage.locator('.pfcam-once').count(), 0);
    assert.ok(!(await adminPage.content()).includes(oneTimePassword), 'the password is gone from the page');
  });

  it("walks the viewer's first sign-in through the login page, then shows the viewer no user or audit data (403)", async () => {
    await viewerPage.goto(`${base}/pfcam/login?next=/ui/`);
    await viewerPage.getByLabel('User name').fill(VIEWER_NAME);
    await viewerPage.getByLabel('Password', { exact: true }).fill(oneTimePassword);
    await viewerPage.click('#submit');
    await viewerPage.getByLabel('New password', { exact: true }).fill(VIEWER_PASSWORD);
    await viewerPage.getByLabel('New password again').fill(VIEWER_PASSWORD);
    await viewerPage.click('#change-password button');
    await viewerPage.waitForSelector('#enrol:not([hidden]) #qr[src^="data:image/png"]', { timeout: 20_000 });
    const totp = (await viewerPage.textContent('#secret'))?.trim() ?? '';
    await viewerPage.getByLabel('The 6-digit code the app shows').fill(await freshTotpCode(totp));
    await viewerPage.click('#enrol button');
    await viewerPage.waitForSelector('#recovery:not([hidden])', { timeout: 20_000 });
    await Promise.all([
      viewerPage.waitForURL(`${base}/ui/**`, { timeout: 20_000 }),
      viewerPage.click('#continue'),
    ]);

    await openTab(viewerPage, 0, 'account');
    await viewerPage.getByText('This session').waitFor({ timeout: 10_000 });
    for (const [index, screen] of [
      [1, 'users'],
      [2, 'audit'],
    ] as const) {
      await openTab(viewerPage, index, screen);
      const view = viewerPage.locator(`.pfcam-view[data-screen="${screen}"]`);
      assert.match((await view.getByRole('alert').textContent()) ?? '', /No permission/);
      assert.equal(
        await view.locator('table, form').count(),
        0,
        `no ${screen} data or controls for a viewer`,
      );
      await viewerPage.screenshot({
        path: join(ARTIFACTS, `security-${screen}-viewer-390x844.png`),
        fullPage: true,
      });
    }
    const api = await viewerPage.evaluate(async () => (await fetch('/pfcam/api/users')).status);
    assert.equal(api, 403);
  });

  it("drops the viewer's open socket when the admin disables them, and resets their MFA", async () => {
    const socket = await socketOf(viewer);
    const dropped = waitFor<string>('the viewer socket dropping', 10_000, (done) =>
      socket.once('disconnect', (reason: string) => done(reason)),
    );
    await openTab(adminPage, 1, 'users');
    await adminPage.getByRole('button', { name: `Disable ${VIEWER_NAME}` }).click();
    assert.equal(await dropped, 'io server disconnect');
    await adminPage.getByRole('button', { name: `Enable ${VIEWER_NAME}` }).waitFor({ timeout: 10_000 });
    const row = adminPage.locator(`tr[data-user="${VIEWER_NAME}"]`);
    assert.match((await row.textContent()) ?? '', /disabled/);
    assert.match((await row.textContent()) ?? '', /authenticator set up/);
    await adminPage.getByRole('button', { name: `Reset MFA of ${VIEWER_NAME}` }).click();
    await row.getByText(/no authenticator/).waitFor({ timeout: 10_000 });
    // the viewer is signed out for good
    const res = await fetch(`${base}/pfcam/api/session`, {
      headers: {
        cookie: `pfcam.sid=${(await viewer.cookies(base)).find((c) => c.name === 'pfcam.sid')?.value}`,
      },
    });
    assert.equal(res.status, 401);
  });

  it('lists those actions on the Audit screen filtered by user and by action', async () => {
    await openTab(adminPage, 2, 'audit');
    await adminPage.getByLabel('User', { exact: true }).fill(ADMIN.name);
    await adminPage.getByRole('button', { name: 'Apply filters' }).click();
    await adminPage.locator(`[data-query*="user=${ADMIN.name}&"]`).waitFor({ timeout: 10_000 });
    const actions = await adminPage
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-action'), r.children[1]?.textContent]));
    const names = actions.map((a) => a[0]);
    for (const a of ['user.create', 'user.update', 'user.reset-mfa'])
      assert.ok(names.includes(a), `${a} listed: ${names.join(', ')}`);
    assert.ok(
      actions.every((a) => a[1] === ADMIN.name),
      'only the chosen user',
    );
    const row = adminPage.locator('tr[data-action="user.update"]').first();
    assert.match((await row.textContent()) ?? '', new RegExp(`${VIEWER_NAME}.*disabled=true`));

    await adminPage.getByLabel('User', { exact: true }).fill(VIEWER_NAME);
    await adminPage.getByRole('button', { name: 'Apply filters' }).click();
    await adminPage.locator(`[data-query*="user=${VIEWER_NAME}&"]`).waitFor({ timeout: 10_000 });
    await adminPage.locator('tr[data-action="account.totp-confirm"]').waitFor({ timeout: 10_000 });
    assert.equal(await adminPage.locator('tr[data-action="user.create"]').count(), 0);

    await adminPage.getByLabel('User', { exact: true }).fill('');
    await adminPage.getByLabel('Action', { exact: true }).fill('user.reset-mfa');
    await adminPage.getByRole('button', { name: 'Apply filters' }).click();
    await adminPage.locator('[data-query^="/audit?action=user.reset-mfa&"]').waitFor({ timeout: 10_000 });
    assert.equal(await adminPage.locator('tbody tr').count(), 1);
  });

  it('has no serious or critical axe violation on the three screens, at 390x844 and 1600x1000', async () => {
    const found: string[] = [];
    for (const size of [PHONE, WIDE]) {
      await adminPage.setViewportSize(size);
      for (const [index, screen] of [
        [0, 'account'],
        [1, 'users'],
        [2, 'audit'],
      ] as const) {
        await openTab(adminPage, index, screen);
        const result = await new AxeBuilder({ page: adminPage }).include('.pfcam-view').analyze();
        for (const v of result.violations)
          if (v.impact === 'serious' || v.impact === 'critical')
            found.push(
              `${screen} ${size.width}: ${v.id} ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`,
            );
        await adminPage.screenshot({
          path: join(ARTIFACTS, `security-${screen}-${size.width}x${size.height}.png`),
          fullPage: true,
        });
      }
    }
    assert.deepEqual(found, []);
  });

  it('signs the admin out from My account with the CSRF token, back to the login page', async () => {
    await openTab(adminPage, 0, 'account');
    await Promise.all([
      adminPage.waitForURL(`${base}/pfcam/login**`, { timeout: 20_000 }),
      adminPage.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    const status = await adminPage.evaluate(async () => (await fetch('/pfcam/api/session')).status);
    assert.equal(status, 401);
  });
});
