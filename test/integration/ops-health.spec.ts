/**
 * `GET /pfcam/api/health` on the shipped application (real Node-RED, shipped settings.js) with a simulated camera:
 * 401 without credentials, 403 for a role without `health:read`, `application/health+json` pass for an admin
 * session and a `health:read` token when all is well, 503 fail when the store cannot be written or a camera is
 * offline.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SecretBox } from '../../lib/auth/secret-box';
import { Tokens } from '../../lib/auth/tokens';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { Database } from '../../lib/store/database';
import type { HealthReport } from '../../lib/ops/health-report';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { NODE_RED_MAIN, installIntoUserDir } from '../helpers/node-red-install';
import { freePort } from '../helpers/node-red-process';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitFor } from '../helpers/wait-for';

const root = resolve(__dirname, '..', '..');
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
const VIEWER = { name: 'watcher', password: 'viewer password 0123', secret: newTotpSecret() };

describe('health report of the shipped application (real Node-RED, simulator)', function () {
  this.timeout(90_000);
  let dir: string;
  let data: string;
  let camera: SimulatedCamera;
  let child: ChildProcess | undefined;
  let base: string;
  let output = '';
  let token: string;

  function waitForLog(pattern: RegExp, from: number, timeoutMs = 30_000): Promise<void> {
    const proc = child!;
    return waitFor<void>(
      `${String(pattern)} in the Node-RED log`,
      (done) => {
        const onData = (): void => {
          if (pattern.test(output.slice(from))) done();
        };
        proc.stdout?.on('data', onData);
        proc.stderr?.on('data', onData);
        onData();
        return () => {
          proc.stdout?.off('data', onData);
          proc.stderr?.off('data', onData);
        };
      },
      timeoutMs,
    );
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-health-'));
    data = join(dir, 'data');
    const userDir = join(data, 'node-red');
    installIntoUserDir(userDir);
    camera = await startCamera({ serialNumber: 'PFC4-HEALTH-1' });
    await writeFile(
      join(userDir, 'flows.json'),
      JSON.stringify([
        { id: 'store-main', type: 'pfcam-store', name: 'Archive', databaseFile: '', mediaDir: '' },
        { id: 'ui-config-main', type: 'pfcam-ui-config', name: 'Site', store: 'store-main', timeZone: 'UTC' },
        {
          id: 'cam-1',
          type: 'pfcam-camera',
          name: 'Gate',
          url: camera.url,
          probeInterval: 1,
          timeout: 5,
          connections: 1,
          tlsVerify: true,
          ca: '',
        },
      ]),
    );
    const db = await Database.open(join(data, 'pfcam.sqlite'));
    try {
      const users = await Users.open(db, SecretBox.forDataDir(data, {}));
      await users.create({
        name: VIEWER.name,
        password: VIEWER.password,
        role: 'viewer',
        totpSecret: VIEWER.secret,
      });
      const tokens = await Tokens.open(db);
      ({ token } = await tokens.create({
        label: 'site monitoring',
        scopes: ['health:read'],
        createdBy: 'test',
      }));
    } finally {
      await db.close();
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [NODE_RED_MAIN, '--settings', join(root, 'settings.js'), '--userDir', userDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PFCAM_DATA: data,
          PORT: String(port),
          PFCAM_ADMIN_USER: ADMIN.name,
          PFCAM_ADMIN_PASSWORD: ADMIN.password,
          PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
        },
      },
    );
    const onData = (chunk: Buffer): void => void (output += chunk.toString());
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    await waitForLog(/Started flows/, 0, 60_000);
    // the second probe of the camera arrives after the first one was answered: the camera is online by then
    await waitFor<void>(
      'two probes of the camera',
      (done) => {
        let probes = 0;
        const onRequest = (r: { path: string }): void => {
          if (r.path.startsWith('/api/system') && ++probes >= 2) done();
        };
        camera.control.on('request', onRequest);
        return () => camera.control.off('request', onRequest);
      },
      20_000,
    );
  });

  after(async () => {
    const proc = child;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    await camera?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function login(who: typeof VIEWER): Promise<string> {
    const res = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: who.name,
        password: who.password,
        code: await freshTotpCode(who.secret),
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  }

  async function health(
    headers: Record<string, string>,
  ): Promise<{ status: number; type: string; body: HealthReport }> {
    const res = await fetch(`${base}/pfcam/api/health`, { headers });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: JSON.parse(text) as HealthReport,
    };
  }

  const bearer = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

  it('answers 401 without credentials and 403 to a viewer session', async () => {
    assert.equal((await fetch(`${base}/pfcam/api/health`)).status, 401);
    assert.equal(
      (await fetch(`${base}/pfcam/api/health`, { headers: { authorization: 'Bearer pfcam_wrong' } })).status,
      401,
    );
    const cookie = await login(VIEWER);
    assert.equal((await fetch(`${base}/pfcam/api/health`, { headers: { cookie } })).status, 403);
  });

  it('reports pass with every check for a health:read token and an admin session when all is well', async () => {
    const viaToken = await health(bearer());
    assert.equal(viaToken.status, 200, JSON.stringify(viaToken.body));
    assert.match(viaToken.type, /^application\/health\+json/);
    assert.equal(viaToken.body.status, 'pass', JSON.stringify(viaToken.body));
    const checks = viaToken.body.checks;
    assert.deepEqual(Object.keys(checks).sort(), [
      'alerts:outbox',
      'backup:backlog',
      'backup:lastSuccess',
      'camera:state',
      'disk:free',
      'store:writable',
    ]);
    assert.deepEqual(
      checks['camera:state']!.map((c) => [c.componentId, c.observedValue, c.status]),
      [['PFC4-HEALTH-1', 'online', 'pass']],
    );
    assert.equal(checks['store:writable']![0]!.status, 'pass');
    assert.equal(typeof checks['disk:free']![0]!.observedValue, 'number');
    assert.equal(checks['backup:backlog']![0]!.observedValue, 0);
    const cookie = await login(ADMIN);
    const viaSession = await health({ cookie });
    assert.equal(viaSession.status, 200);
    assert.equal(viaSession.body.status, 'pass');
  });

  it('fails with 503 while the media folder cannot be written, and passes again once it can', async () => {
    const media = join(data, 'media');
    await rename(media, `${media}.moved`);
    await writeFile(media, 'not a folder');
    try {
      const broken = await health(bearer());
      assert.equal(broken.status, 503, JSON.stringify(broken.body));
      assert.equal(broken.body.status, 'fail');
      assert.equal(broken.body.checks['store:writable']![0]!.status, 'fail');
      assert.ok(broken.body.checks['store:writable']![0]!.output);
    } finally {
      await rm(media, { force: true });
      await rename(`${media}.moved`, media);
    }
    assert.equal((await health(bearer())).status, 200);
  });

  it('fails with 503 when a camera goes offline, naming it', async () => {
    const from = output.length;
    camera.control.offline();
    await waitForLog(/Camera Gate went offline/, from);
    const report = await health(bearer());
    assert.equal(report.status, 503, JSON.stringify(report.body));
    assert.equal(report.body.status, 'fail');
    const cam = report.body.checks['camera:state']![0]!;
    assert.deepEqual([cam.componentId, cam.observedValue, cam.status], ['PFC4-HEALTH-1', 'offline', 'fail']);
    assert.equal(report.body.checks['store:writable']![0]!.status, 'pass');
  });
});
