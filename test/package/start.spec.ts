/**
 * `npm start` (scripts/start.js, on the built package): the simulator's cameras, the local S3 and MQTT stand-ins
 * and Node-RED with the shipped flows come up healthy, and SIGTERM stops all of it.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTotpSecret } from '../../lib/auth/totp';
import { NodeStatuses } from '../helpers/node-red-comms';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitUntil } from '../helpers/wait-for';

const root = join(__dirname, '..', '..');
/** The first admin of an automated install (PFCAM_ADMIN_*), so that the test can sign in to the editor. */
const ADMIN = { name: 'site-admin', password: 'first admin password 42', secret: newTotpSecret() };
const ADMIN_ENV = {
  PFCAM_ADMIN_USER: ADMIN.name,
  PFCAM_ADMIN_PASSWORD: ADMIN.password,
  PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
};

interface Started {
  child: ChildProcess;
  output: { text: string };
  stdout: NodeJS.EventEmitter;
}

/** Starts `npm start`'s script with free ports everywhere (PORT=0, PFCAM_SIMULATOR_PORT=0). */
function start(dataDir: string, env: Record<string, string> = {}): Started {
  const output = { text: '' };
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.js')], {
    env: { ...process.env, PFCAM_DATA: dataDir, PORT: '0', PFCAM_SIMULATOR_PORT: '0', ...ADMIN_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  return { child, output, stdout: child.stdout as NodeJS.EventEmitter };
}

function waitForOutput(started: Started, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return waitUntil(
    `${String(pattern)} in the output`,
    started.stdout,
    'data',
    () => pattern.exec(started.output.text),
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}:\n${started.output.text.slice(-2000)}`);
  });
}

/** An editor access token for the first admin (the editor's password field takes password + code). */
async function editorToken(editorUrl: string): Promise<string> {
  const res = await fetch(`${editorUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: 'node-red-editor',
      grant_type: 'password',
      scope: '*',
      username: ADMIN.name,
      password: ADMIN.password + (await freshTotpCode(ADMIN.secret)),
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { access_token: string }).access_token;
}

async function stop(started: Started): Promise<number | null> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

describe('npm start', function () {
  this.timeout(120_000);
  let dataDir: string;
  const running: Started[] = [];
  let statuses: NodeStatuses | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pfcam-start-'));
  });

  afterEach(() => {
    statuses?.close();
    statuses = undefined;
    for (const started of running.splice(0)) {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the simulator, local S3 and MQTT stand-ins and Node-RED healthy, prints the addresses, and stops on SIGTERM', async () => {
    const started = start(dataDir);
    running.push(started);
    const editorUrl = (await waitForOutput(started, /editor {4}(http:\/\/127\.0\.0\.1:\d+)\//, 60_000))[1]!;
    await waitForOutput(started, /dashboard http:\/\/127\.0\.0\.1:\d+\/ui/, 10_000);
    const text = started.output.text;

    const cameraUrls = [...text.matchAll(/simulated camera PFC4-[\d-]+ at (http:\/\/127\.0\.0\.1:\d+)/g)].map(
      (m) => m[1],
    );
    assert.equal(cameraUrls.length, 3, text);
    const s3Url = /local S3 stand-in at (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const mqttUrl = /local MQTT broker stand-in at (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    assert.ok(s3Url, text);
    assert.ok(mqttUrl, text);
    const system = (await (await fetch(`${cameraUrls[0]}/api/system`)).json()) as { serialNumber: string };
    assert.match(system.serialNumber, /^PFC4-/);
    assert.equal((await fetch(`${editorUrl}/`)).status, 200);
    // the editor API and the dashboard need a signed-in user
    assert.equal((await fetch(`${editorUrl}/flows`)).status, 401);
    const dashboard = await fetch(`${editorUrl}/ui/`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    assert.equal(dashboard.status, 302);
    assert.match(dashboard.headers.get('location') ?? '', /^\/pfcam\/login\?next=/);
    const token = await editorToken(editorUrl);
    assert.equal(
      (await fetch(`${editorUrl}/flows`, { headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );

    // The data stays in PFCAM_DATA, with the shipped flows and a credential key readable by the owner only;
    // the flows name the services by variable, and hold no key.
    const flowsText = readFileSync(join(dataDir, 'node-red', 'flows.json'), 'utf8');
    const flows = JSON.parse(flowsText) as { type: string; d?: boolean }[];
    assert.ok(flows.some((n) => n.type === 'pfcam-camera'));
    assert.ok(
      flows.every((n) => n.d !== true),
      'every node is enabled when the stand-ins run',
    );
    const addressed = flows.filter(
      (n) => n.type === 'pfcam-camera' || n.type === 'pfcam-s3' || n.type === 'mqtt-broker',
    );
    for (const n of addressed as Record<string, unknown>[])
      for (const key of ['url', 'endpoint', 'broker'])
        if (key in n)
          assert.match(
            String(n[key]),
            /^\$\{[A-Z0-9_]+\}$/,
            `${String(n.id)}.${key} is read from the environment`,
          );
    assert.doesNotMatch(flowsText, /pfcam-local|"credentials"/);
    assert.ok(existsSync(join(dataDir, 'credential-secret')));

    // Healthy as the editor shows it: the archive green, the backup green (its stored recordings uploaded),
    // the MQTT nodes connected. The simulated cameras hold recordings from the start.
    statuses = await NodeStatuses.connect(editorUrl, token);
    await statuses.waitFor(
      'ingest-archive',
      (s) => s.fill === 'green' && /^[1-9]\d* stored/.test(s.text ?? ''),
      'archive green with recordings stored',
      60_000,
    );
    await statuses.waitFor('ingest-backup', (s) => s.fill === 'green', 'backup green', 60_000);
    for (const id of ['alerts-mqtt-event', 'alerts-mqtt-status'])
      await statuses.waitFor(
        id,
        (s) => s.fill === 'green' && /connected/.test(s.text ?? ''),
        'MQTT connected',
        30_000,
      );
    assert.doesNotMatch(started.output.text, /Connection failed|\[error\]/);
    // the stand-in bucket holds what the backup node reported
    const listing = await (await fetch(`${s3Url}/pfcam-archive?list-type=2`)).text();
    assert.match(listing, /<Key>site-1\//);

    assert.equal(await stop(started), 0);
    await assert.rejects(fetch(`${cameraUrls[0]}/api/system`), 'the simulator must be stopped');
    await assert.rejects(fetch(`${s3Url}/pfcam-archive`), 'the S3 stand-in must be stopped');
    await assert.rejects(fetch(`${editorUrl}/`), 'Node-RED must be stopped');
  });

  it('without the simulator and with no S3 or MQTT configured, disables the backup and MQTT nodes instead of failing', async () => {
    const env: Record<string, string> = {
      PFCAM_SIMULATOR: '0',
      PFCAM_S3_BUCKET: '',
      PFCAM_S3_ENDPOINT: '',
      MQTT_HOST: '',
    };
    const started = start(dataDir, env);
    running.push(started);
    const editorUrl = (await waitForOutput(started, /editor {4}(http:\/\/127\.0\.0\.1:\d+)\//, 60_000))[1]!;
    assert.doesNotMatch(started.output.text, /stand-in|simulated camera/);
    assert.match(started.output.text, /S3 not configured/);
    assert.match(started.output.text, /MQTT not configured/);
    const flows = JSON.parse(readFileSync(join(dataDir, 'node-red', 'flows.json'), 'utf8')) as {
      id: string;
      d?: boolean;
      requireBackup?: boolean;
    }[];
    const byId = new Map(flows.map((n) => [n.id, n]));
    for (const id of ['ingest-backup', 'alerts-mqtt-event', 'alerts-mqtt-status'])
      assert.equal(byId.get(id)?.d, true, `${id} is disabled`);
    assert.equal(byId.get('ingest-retention')?.requireBackup, false);
    statuses = await NodeStatuses.connect(editorUrl, await editorToken(editorUrl));
    await statuses.waitFor('ingest-archive', (s) => s.fill === 'green', 'archive green', 60_000);
    assert.equal(statuses.get('ingest-backup'), undefined, 'a disabled node shows no status');
    assert.doesNotMatch(started.output.text, /Connection failed|mqtt-broker/);
    assert.equal(await stop(started), 0);
  });

  it('has no default credentials: a fresh start creates the first admin with a one-time password it prints once', async () => {
    const started = start(dataDir, {
      PFCAM_SIMULATOR: '0',
      PFCAM_S3_BUCKET: '',
      PFCAM_S3_ENDPOINT: '',
      MQTT_HOST: '',
      PFCAM_ADMIN_USER: '',
      PFCAM_ADMIN_PASSWORD: '',
      PFCAM_ADMIN_TOTP_SECRET: '',
    });
    running.push(started);
    const editorUrl = (await waitForOutput(started, /editor {4}(http:\/\/127\.0\.0\.1:\d+)\//, 60_000))[1]!;
    const password = (
      await waitForOutput(started, /first admin "admin" created; one-time password[^:]*: (\S+)/, 30_000)
    )[1]!;
    const signIn = (pass: string): Promise<Response> =>
      fetch(`${editorUrl}/pfcam/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: pass }),
      });
    for (const guess of ['admin', 'password', 'pfcam', ''])
      assert.equal((await signIn(guess)).status, 401, `"${guess}" is refused`);
    const first = await signIn(password);
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { mustChangePassword: boolean }).mustChangePassword, true);
    assert.equal(await stop(started), 0);
    // the password was printed once: a second start creates no admin and prints none
    const again = start(dataDir, { PFCAM_SIMULATOR: '0', PFCAM_ADMIN_USER: '', PFCAM_ADMIN_PASSWORD: '' });
    running.push(again);
    await waitForOutput(again, /editor {4}http/, 60_000);
    assert.doesNotMatch(again.output.text, /first admin .* created/);
    assert.equal(await stop(again), 0);
  });
});
