/**
 * The security of the shipped application, wired: a real Node-RED process with the shipped settings.js. The
 * dashboard pages and socket need a session and the same origin, the socket's id in every packet is the real
 * one (a pfcam-guard in a deployed flow sees it), logout cuts the open socket, the editor API needs a token, and
 * a browser signs in through the login page.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { SecretBox } from '../../lib/auth/secret-box';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { Database } from '../../lib/store/database';
import { NodeRedProcess } from '../helpers/node-red-process';
import { waitForDone as waitFor } from '../helpers/wait-for';
import { freshTotpCode } from '../helpers/totp-codes';

const root = resolve(__dirname, '..', '..');
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
const VIEWER = { name: 'watcher', password: 'viewer password 0123', secret: newTotpSecret() };
/** A second viewer, for the login-regeneration test (each login spends a TOTP step of its user). */
const SECOND = { name: 'second', password: 'second password 0123', secret: newTotpSecret() };
/** A viewer who changes their password while another of their sessions has the dashboard open. */
const CHANGER = { name: 'changer', password: 'changer password 0123', secret: newTotpSecret() };
/** A user created as the first admin is without PFCAM_ADMIN_*: a one-time password and no authenticator. */
const NEWCOMER = { name: 'newcomer', password: 'one-time password 0123' };

const FLOWS = [
  { id: 'tab1', type: 'tab', label: 'guard test' },
  { id: 'uitab', type: 'ui_tab', name: 'Home', icon: 'dashboard', order: 1 },
  { id: 'uigroup', type: 'ui_group', name: 'G', tab: 'uitab', order: 1, width: 6 },
  {
    id: 'button',
    type: 'ui_button',
    z: 'tab1',
    group: 'uigroup',
    order: 1,
    label: 'go',
    payload: 'clicked',
    payloadType: 'str',
    topic: '',
    wires: [['guard']],
  },
  { id: 'guard', type: 'pfcam-guard', z: 'tab1', permission: 'events:view', camera: '', wires: [['who']] },
  {
    id: 'who',
    type: 'change',
    z: 'tab1',
    rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '$string(socketid) & " " & user.name', tot: 'jsonata' }],
    wires: [['shown']],
  },
  {
    id: 'shown',
    type: 'ui_text',
    z: 'tab1',
    group: 'uigroup',
    order: 2,
    label: 'who',
    format: '{{msg.payload}}',
    layout: 'row-spread',
    wires: [],
  },
];

describe('security wiring of the shipped application (real Node-RED, shipped settings.js)', function () {
  this.timeout(60_000);
  let dir: string;
  let nodeRed: NodeRedProcess | undefined;
  let base: string;
  const sockets: Socket[] = [];
  let browser: Browser | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-wiring-'));
    const dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    mkdirSync(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    symlinkSync(root, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(FLOWS));
    mkdirSync(dataDir, { recursive: true });
    const env = { ...process.env, PFCAM_DATA: dataDir, PFCAM_CREDENTIAL_SECRET: 'test-secret' };
    // the viewer exists before the start (the user routes are not part of this test)
    const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
    const users = await Users.open(db, SecretBox.forDataDir(dataDir, env));
    await users.create({
      name: VIEWER.name,
      password: VIEWER.password,
      role: 'viewer',
      totpSecret: VIEWER.secret,
    });
    await users.create({
      name: SECOND.name,
      password: SECOND.password,
      role: 'viewer',
      totpSecret: SECOND.secret,
    });
    await users.create({
      name: CHANGER.name,
      password: CHANGER.password,
      role: 'viewer',
      totpSecret: CHANGER.secret,
    });
    await users.create({
      name: NEWCOMER.name,
      password: NEWCOMER.password,
      role: 'manager',
      mustChangePassword: true,
    });
    await db.close();
    nodeRed = await NodeRedProcess.start({
      userDir,
      shippedSettings: true,
      env: {
        ...env,
        PFCAM_ADMIN_USER: ADMIN.name,
        PFCAM_ADMIN_PASSWORD: ADMIN.password,
        PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
      },
    });
    base = nodeRed.url;
  });

  after(async () => {
    for (const s of sockets) s.close();
    await browser?.close();
    await nodeRed?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(
    who: typeof VIEWER,
    planted?: string,
  ): Promise<{ cookie: string; csrf: string; setCookie: string }> {
    const res = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(planted ? { cookie: planted } : {}) },
      body: JSON.stringify({
        username: who.name,
        password: who.password,
        code: await freshTotpCode(who.secret),
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const cookie = /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie);
    const body = (await res.json()) as { csrfToken: string };
    return { cookie, csrf: body.csrfToken, setCookie: res.headers.get('set-cookie') ?? '' };
  }

  function connect(headers: Record<string, string>): Socket {
    const socket = io(base, {
      path: '/ui/socket.io',
      extraHeaders: headers,
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    return socket;
  }

  function outcome(socket: Socket): Promise<string> {
    return waitFor('the socket connecting or being refused', 10_000, (done) => {
      socket.once('connect', () => done('connected'));
      socket.once('connect_error', (err: Error) => done(`refused: ${err.message}`));
    });
  }

  it('sends a browser without a session from /ui/ to the login page, and a script gets 401', async () => {
    const page = await fetch(`${base}/ui/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/pfcam/login?next=/ui/');
    assert.equal((await fetch(`${base}/ui/`, { headers: { accept: 'application/json' } })).status, 401);
  });

  it('refuses the editor API without a token', async () => {
    assert.equal((await fetch(`${base}/flows`)).status, 401);
  });

  it('never answers a wildcard CORS origin, a preflight included', async () => {
    const preflight = await fetch(`${base}/flows`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.notEqual(preflight.headers.get('access-control-allow-origin'), '*');
    for (const path of ['/flows', '/pfcam/login', '/pfcam/api/session', '/ui/', '/'])
      assert.notEqual(
        (await fetch(`${base}${path}`, { headers: { origin: 'http://evil.example' } })).headers.get(
          'access-control-allow-origin',
        ),
        '*',
        path,
      );
  });

  it('answers the dashboard API 401 without a session and 200 with one', async () => {
    assert.equal((await fetch(`${base}/pfcam/api/session`)).status, 401);
    const { cookie } = await login(VIEWER);
    const res = await fetch(`${base}/pfcam/api/session`, { headers: { cookie } });
    assert.equal(res.status, 200);
    // the dashboard's pages come with the security headers of a modern app
    const page = await fetch(`${base}/ui/`, { headers: { cookie, accept: 'text/html' } });
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /object-src 'none'/);
    assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(((await res.json()) as { user: { name: string } }).user.name, VIEWER.name);
  });

  it('issues a new signed, httpOnly, SameSite=Strict session at every login, and the session it replaces dies', async () => {
    const first = await login(SECOND);
    assert.match(first.setCookie, /HttpOnly/i);
    assert.match(first.setCookie, /SameSite=Strict/i);
    // a session id is signed: a made-up cookie is no session
    const madeUp = 'pfcam.sid=s%3Aforged.signature';
    assert.equal((await fetch(`${base}/pfcam/api/session`, { headers: { cookie: madeUp } })).status, 401);
    // signing in with a session cookie already set (fixation) gives a new one; the old one no longer works
    const second = await login(SECOND, first.cookie);
    assert.notEqual(second.cookie, first.cookie);
    assert.equal(
      (await fetch(`${base}/pfcam/api/session`, { headers: { cookie: second.cookie } })).status,
      200,
    );
    assert.equal(
      (await fetch(`${base}/pfcam/api/session`, { headers: { cookie: first.cookie } })).status,
      401,
    );
  });

  it('refuses the dashboard socket without a session cookie and from a foreign origin', async () => {
    assert.match(await outcome(connect({})), /^refused: login required/);
    const { cookie } = await login(VIEWER);
    assert.match(await outcome(connect({ cookie, origin: 'http://evil.example' })), /^refused: cross-origin/);
    assert.equal(await outcome(connect({ cookie, origin: base })), 'connected');
  });

  it('overwrites a forged socketid with the real one: the guard passes the viewer on that socket only, and logout cuts the socket', async () => {
    const { cookie, csrf } = await login(VIEWER);
    const socket = connect({ cookie, origin: base });
    assert.equal(await outcome(socket), 'connected');
    const shown = waitFor<string>('the guarded action reaching the text widget', 10_000, (done) =>
      socket.on('update-value', (data: { id?: string; msg?: { payload?: unknown } }) => {
        if (data.id === 'shown') done(String(data.msg?.payload));
      }),
    );
    socket.emit('update-value', {
      id: 'button',
      value: true,
      socketid: 'forged-id',
      msg: { socketid: 'forged-id' },
    });
    assert.equal(await shown, `${socket.id} ${VIEWER.name}`);

    let reason: string | undefined;
    socket.once('disconnect', (r: string) => (reason = r));
    const out = await fetch(`${base}/pfcam/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, origin: base },
    });
    assert.equal(out.status, 200);
    // the session's revocation cuts the socket before the logout is answered; the wait covers only the delivery
    // of the disconnect packet on a loaded machine
    const dropped = waitFor<string>('the socket being cut after logout', 10_000, (done) => {
      if (reason !== undefined) done(reason);
      else socket.once('disconnect', (r: string) => done(r));
    });
    assert.equal(await dropped, 'io server disconnect');
    assert.equal(socket.connected, false);
  });

  it("cuts a user's other open dashboard sockets when the password changes, and keeps the session that changed it", async () => {
    const elsewhere = await login(CHANGER);
    const socket = connect({ cookie: elsewhere.cookie, origin: base });
    assert.equal(await outcome(socket), 'connected');
    let reason: string | undefined;
    socket.once('disconnect', (r: string) => (reason = r));
    const here = await login(CHANGER);
    const changed = await fetch(`${base}/pfcam/api/account/password`, {
      method: 'POST',
      headers: {
        cookie: here.cookie,
        'x-csrf-token': here.csrf,
        origin: base,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ currentPassword: CHANGER.password, newPassword: 'a brand new password 99' }),
    });
    assert.equal(changed.status, 200, await changed.clone().text());
    assert.equal(((await changed.json()) as { otherSessionsEnded: number }).otherSessionsEnded, 1);
    const dropped = waitFor<string>("the other session's socket being cut", 10_000, (done) => {
      if (reason !== undefined) done(reason);
      else socket.once('disconnect', (r: string) => done(r));
    });
    assert.equal(await dropped, 'io server disconnect');
    assert.equal(
      (await fetch(`${base}/pfcam/api/session`, { headers: { cookie: elsewhere.cookie } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${base}/pfcam/api/session`, { headers: { cookie: here.cookie } })).status,
      200,
    );
  });

  it('lets the admin sign in through the login page in a browser and reach the dashboard', async () => {
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
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    await page.goto(`${base}/ui/`);
    assert.match(page.url(), /\/pfcam\/login\?next=\/ui\/$/);
    await page.getByLabel('User name').fill(ADMIN.name);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Authenticator code or recovery code').fill(await freshTotpCode(ADMIN.secret));
    await page.screenshot({ path: join(root, 'test-artifacts', 'security-login.png') });
    await Promise.all([page.waitForURL(`${base}/ui/**`, { timeout: 20_000 }), page.click('#submit')]);
    await page.waitForSelector('text=Home', { timeout: 20_000 });
    await page.screenshot({ path: join(root, 'test-artifacts', 'security-dashboard.png') });
    assert.deepEqual(refused, [], 'the dashboard runs under its Content-Security-Policy');
  });

  it('gives a new account a setup session only: no dashboard, socket or API until the password is changed and an authenticator enrolled', async () => {
    const res = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: NEWCOMER.name, password: NEWCOMER.password }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { mustChangePassword: boolean; mfaEnrolled: boolean };
    assert.deepEqual([body.mustChangePassword, body.mfaEnrolled], [true, false]);
    const cookie = /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie);
    const ui = await fetch(`${base}/ui/`, { redirect: 'manual', headers: { cookie, accept: 'text/html' } });
    assert.equal(ui.status, 302);
    assert.equal((await fetch(`${base}/pfcam/api/recordings`, { headers: { cookie } })).status, 403);
    assert.match(await outcome(connect({ cookie, origin: base })), /^refused: login required/);
    // the editor does not take a one-time password either
    const token = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: NEWCOMER.name,
        password: `${NEWCOMER.password}000000`,
      }),
    });
    assert.ok([401, 403].includes(token.status), `editor token answered ${token.status}`);
  });

  it('walks a new account through the login page: new password, authenticator enrolment, recovery codes, then the dashboard', async () => {
    browser ??= await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.goto(`${base}/pfcam/login?next=/ui/`);
    await page.getByLabel('User name').fill(NEWCOMER.name);
    await page.getByLabel('Password', { exact: true }).fill(NEWCOMER.password);
    await page.click('#submit');
    const chosen = 'my own long password 77';
    await page.getByLabel('New password', { exact: true }).fill(chosen);
    await page.getByLabel('New password again').fill(chosen);
    await page.click('#change-password button');
    await page.waitForSelector('#enrol:not([hidden]) #qr[src^="data:image/png"]', { timeout: 20_000 });
    const secret = (await page.textContent('#secret'))?.trim() ?? '';
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await page.getByLabel('The 6-digit code the app shows').fill(await freshTotpCode(secret));
    await page.screenshot({ path: join(root, 'test-artifacts', 'security-enrol.png') });
    await page.click('#enrol button');
    await page.waitForSelector('#recovery:not([hidden])', { timeout: 20_000 });
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await Promise.all([page.waitForURL(`${base}/ui/**`, { timeout: 20_000 }), page.click('#continue')]);
    await page.waitForSelector('text=Home', { timeout: 20_000 });
    // the old one-time password no longer signs in; the new one with a code does
    const again = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: NEWCOMER.name, password: NEWCOMER.password }),
    });
    assert.equal(again.status, 401);
    const signedIn = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: NEWCOMER.name, password: chosen, code: await freshTotpCode(secret) }),
    });
    assert.equal(signedIn.status, 200);
  });
});
