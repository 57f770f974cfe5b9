/**
 * One hardened site for the security suite, started as `npm start` starts it (scripts/start.js, shipped
 * settings.js and flows, free ports), with known secrets planted everywhere a site has them and a hostile camera:
 * - camera 1 is a simulated camera started here, with Digest credentials and camera-supplied strings that are
 *   markup and AngularJS expressions (its name and its recordings' event names);
 * - the S3 backup goes to a local S3 server started here, with known keys in AWS_ACCESS_KEY_ID/SECRET;
 * - the editor API deploys the camera's credentials, an SMTP server's password and a webhook's secret;
 * - the admin (PFCAM_ADMIN_*) signs in to the editor (token) and, in Chromium, through /pfcam/login (session);
 * - an API token is created through POST /pfcam/api/tokens; the metrics endpoint has its token.
 * A sentinel file lies beside the data folder, for the path traversal tests.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { newTotpSecret } from '../../lib/auth/totp';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { NodeStatuses } from '../helpers/node-red-comms';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitFor, waitUntil } from '../helpers/wait-for';

export const root = resolve(__dirname, '..', '..');

/** Markup and expressions a hostile camera sends; each sets window.__pfcamXss if it ever runs. */
export const HOSTILE = {
  img: `<img src=x onerror="window.__pfcamXss='img'">`,
  ng: `{{constructor.constructor('window.__pfcamXss="ng"')()}}`,
  script: `</script><script>window.__pfcamXss='script'</script>`,
};
/** The hostile camera's name: markup and an expression. */
export const HOSTILE_CAMERA_NAME = `Gate ${HOSTILE.img} ${HOSTILE.ng}`;

const hex = (n: number): string => randomBytes(n).toString('hex');

/** Every secret planted in the site, by what it is. */
export interface Secrets {
  cameraPassword: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  smtpPassword: string;
  webhookSecret: string;
  adminPassword: string;
  adminTotpSecret: string;
  metricsToken: string;
  /** Filled in once the site runs: */
  sessionId: string;
  sessionCookie: string;
  apiToken: string;
  editorToken: string;
  csrfToken: string;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Site {
  base: string;
  dir: string;
  dataDir: string;
  userDir: string;
  /** A file beside the data folder, and its content (which no response may contain). */
  sentinel: { path: string; content: string };
  secrets: Secrets;
  admin: string;
  camera: SimulatedCamera;
  /** Node-RED's and start.js' stdout + stderr so far. */
  output(): string;
  /** Every message of the editor's comms stream (debug, status, notifications) so far. */
  comms(): string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** A dashboard API request with the admin's session cookie. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

interface S3Server {
  endpoint: string;
  stop(): Promise<unknown>;
}

async function startS3(bucket: string): Promise<S3Server> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = address.replace(/\/+$/, '');
  const res = await fetch(`${endpoint}/${bucket}`, { method: 'PUT' });
  assert.ok(res.ok, `bucket created: ${res.status}`);
  return { endpoint, stop: () => app.close() };
}

export async function startSite(): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'pfcam-hardening-'));
  const dataDir = join(dir, 'data');
  const userDir = join(dataDir, 'node-red');
  mkdirSync(dataDir, { recursive: true });
  const sentinel = { path: join(dir, 'sentinel.txt'), content: `PFCAM-SENTINEL-${hex(12)}` };
  writeFileSync(sentinel.path, sentinel.content);

  const admin = 'hardening-admin';
  const secrets: Secrets = {
    cameraPassword: `cam-pw-${hex(10)}`,
    s3AccessKeyId: `AKIA${hex(8).toUpperCase()}`,
    s3SecretAccessKey: `s3-secret-${hex(16)}`,
    smtpPassword: `smtp-pw-${hex(10)}`,
    webhookSecret: `hook-secret-${hex(12)}`,
    adminPassword: `admin password ${hex(8)}`,
    adminTotpSecret: newTotpSecret(),
    metricsToken: `metrics-${hex(16)}`,
    sessionId: '',
    sessionCookie: '',
    apiToken: '',
    editorToken: '',
    csrfToken: '',
  };

  const cleanups: (() => Promise<unknown> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve(fn()).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const camera = await startCamera({
      name: HOSTILE_CAMERA_NAME,
      seed: 7,
      recordings: 0,
      auth: { scheme: 'digest', username: 'site-operator', password: secrets.cameraPassword },
    });
    cleanups.push(() => camera.stop());
    for (const eventName of [HOSTILE.img, HOSTILE.ng, HOSTILE.script])
      camera.control.addRecording({ eventName });
    camera.control.addRecording({});

    const s3 = await startS3('pfcam-archive');
    cleanups.push(() => s3.stop());

    let text = '';
    const child: ChildProcess = spawn(process.execPath, [join(root, 'scripts', 'start.js')], {
      env: {
        ...process.env,
        PFCAM_DATA: dataDir,
        PORT: '0',
        PFCAM_SIMULATOR_PORT: '0',
        PFCAM_CAMERA_1_URL: camera.url,
        PFCAM_S3_ENDPOINT: s3.endpoint,
        PFCAM_S3_BUCKET: 'pfcam-archive',
        AWS_ACCESS_KEY_ID: secrets.s3AccessKeyId,
        AWS_SECRET_ACCESS_KEY: secrets.s3SecretAccessKey,
        PFCAM_METRICS_TOKEN: secrets.metricsToken,
        PFCAM_ADMIN_USER: admin,
        PFCAM_ADMIN_PASSWORD: secrets.adminPassword,
        PFCAM_ADMIN_TOTP_SECRET: secrets.adminTotpSecret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    });
    const output = (): string => text;
    const outputMatch = (pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> =>
      waitUntil(
        `${String(pattern)} in the output`,
        child.stdout!,
        'data',
        () => pattern.exec(text),
        timeoutMs,
      ).catch((err: Error) => {
        throw new Error(`${err.message}:\n${text.slice(-3000)}`);
      });
    const base = (await outputMatch(/editor {4}(http:\/\/127\.0\.0\.1:\d+)\//, 60_000))[1]!;
    await outputMatch(/Started flows/, 30_000);

    // the editor: a token, then the secrets deployed as node credentials
    const tokenRes = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: admin,
        password: secrets.adminPassword + (await freshTotpCode(secrets.adminTotpSecret)),
      }),
    });
    assert.equal(tokenRes.status, 200, await tokenRes.clone().text());
    secrets.editorToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    const editor = { authorization: `Bearer ${secrets.editorToken}` };

    // every message the editor's comms stream carries (debug sidebar, statuses, notifications)
    let commsText = '';
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/comms`);
    cleanups.push(() => ws.close());
    await waitFor<void>(
      'the comms connection',
      (ok, fail) => {
        ws.once('open', () => ok());
        ws.once('error', fail);
        return () => ws.off('error', fail);
      },
      10_000,
    );
    ws.on('message', (data: Buffer) => (commsText += data.toString('utf8') + '\n'));
    ws.send(JSON.stringify({ auth: secrets.editorToken }));
    await waitUntil('comms auth', ws, 'message', () => (/"auth"/.test(commsText) ? true : undefined), 10_000);
    for (const topic of ['debug', 'status/#', 'notification/#'])
      ws.send(JSON.stringify({ subscribe: topic }));
    const statuses = await NodeStatuses.connect(base, secrets.editorToken);
    cleanups.push(() => statuses.close());

    const flows = (await (await fetch(`${base}/flows`, { headers: editor })).json()) as Record<
      string,
      unknown
    >[];
    // every debug node on, with the whole message: the messages of the flows reach the comms stream
    const deployed = flows.map((n) =>
      n['id'] === 'cam-1'
        ? { ...n, credentials: { username: 'site-operator', password: secrets.cameraPassword } }
        : n['type'] === 'debug'
          ? { ...n, active: true, tosidebar: true, complete: 'true' }
          : n,
    );
    deployed.push(
      {
        id: 'hardening-smtp',
        type: 'pfcam-smtp',
        name: 'site mail',
        host: '127.0.0.1',
        port: 2525,
        security: 'none',
        from: 'pfcam@site.example',
        tlsVerify: true,
        timeout: 20,
        credentials: { user: 'mailer', password: secrets.smtpPassword },
      },
      {
        id: 'hardening-webhook',
        type: 'pfcam-webhook',
        name: 'site hook',
        allowList: '',
        timeout: 10,
        retries: 8,
        credentials: { secret: secrets.webhookSecret },
      },
    );
    const deploy = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: { ...editor, 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(deployed),
    });
    assert.ok(deploy.ok, `deploy answered ${deploy.status}: ${await deploy.clone().text()}`);

    // the dashboard: a real login in Chromium
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/ui/`);
    await page.getByLabel('User name').fill(admin);
    await page.getByLabel('Password', { exact: true }).fill(secrets.adminPassword);
    await page
      .getByLabel('Authenticator code or recovery code')
      .fill(await freshTotpCode(secrets.adminTotpSecret));
    await Promise.all([page.waitForURL(`${base}/ui/**`, { timeout: 20_000 }), page.click('#submit')]);
    const cookie = (await context.cookies(base)).find((c) => c.name === 'pfcam.sid');
    assert.ok(cookie, 'the login set the session cookie');
    secrets.sessionCookie = cookie.value;
    // express-session's cookie: "s:" + session id + "." + signature
    secrets.sessionId = /^s:([^.]+)\./.exec(decodeURIComponent(cookie.value))?.[1] ?? '';
    assert.ok(secrets.sessionId, `a session id in ${cookie.value}`);
    const api = (path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`${base}/pfcam/api${path}`, {
        ...init,
        headers: { cookie: `pfcam.sid=${cookie.value}`, ...(init.headers as Record<string, string>) },
      });
    const session = (await (await api('/session')).json()) as { csrfToken: string };
    secrets.csrfToken = session.csrfToken;
    const created = await api('/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken, origin: base },
      body: JSON.stringify({ label: 'plant system', scopes: ['events:view', 'cameras:view'], cameras: null }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    secrets.apiToken = ((await created.json()) as { secret: string }).secret;

    // the hostile camera's recordings archived (with their thumbnails) and backed up
    const archivedAll = async (): Promise<boolean> => {
      const res = await api(`/recordings?camera=${encodeURIComponent(camera.serialNumber)}`);
      const body = await res.text();
      return [HOSTILE.img, HOSTILE.ng].every((s) => body.includes(JSON.stringify(s).slice(1, -1)));
    };
    let archived = false;
    await waitUntil(
      'the hostile recordings in the archive',
      statuses,
      'status',
      () => {
        if (!archived)
          void archivedAll().then(
            (ok) => (archived ||= ok),
            () => undefined,
          );
        return archived ? true : undefined;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}:\n${text.slice(-3000)}`);
    });
    await statuses.waitFor('ingest-backup', (s) => s.fill === 'green', 'backup green', 60_000);

    return {
      base,
      dir,
      dataDir,
      userDir,
      sentinel,
      secrets,
      admin,
      camera,
      output,
      comms: () => commsText,
      browser,
      context,
      page,
      api,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
