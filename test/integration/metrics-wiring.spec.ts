/**
 * The Prometheus metrics of the running application: a real Node-RED process with the shipped settings.js and
 * the shipped flows (one camera: the simulator), a webhook receiver and a mosquitto broker for the alerts, an S3
 * endpoint that refuses every connection (so that backups wait). Each metric is shown to move with the real
 * event behind it.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { BackupOutbox } from '../../lib/store/backup-outbox';
import type { Events } from '../../lib/store/events';
import type { StoreContext } from '../../lib/store/records';
import { SecretBox } from '../../lib/auth/secret-box';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { Database } from '../../lib/store/database';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { freePort, NodeRedProcess } from '../helpers/node-red-process';
import { Mosquitto, TestHttpReceiver } from '../helpers/notify-servers';
import { freshTotpCode } from '../helpers/totp-codes';

const root = resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { applyServices, composeFlows } = require('../../scripts/flows.js') as {
  composeFlows: (dir: string) => Record<string, unknown>[];
  applyServices: (
    flows: Record<string, unknown>[],
    s: { s3: boolean; mqtt: boolean },
  ) => Record<string, unknown>[];
};

const TOKEN = 'metrics-wiring-scrape-token-0123456789';
const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };
const VIEWER = { name: 'watcher', password: 'viewer password 0123', secret: newTotpSecret() };
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

/** The value of one series (`name{labels}`) in an exposition, or undefined when absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics fed by the running application (real Node-RED, shipped settings and flows)', function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;
  let sim: SimulatedCamera;
  let hooks: TestHttpReceiver;
  let broker: Mosquitto;
  let red: NodeRedProcess | undefined;
  let base: string;

  async function scrape(): Promise<string> {
    const res = await fetch(`${base}/pfcam/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    return res.text();
  }

  /**
   * Scrapes until `check` holds, for figures that follow their event asynchronously in the server and give the
   * test no event of their own (a delivery counted once the receiver answered, a socket close seen by the
   * server); fails after `timeoutMs` with the last exposition.
   */
  async function scrapeUntil(
    what: string,
    check: (text: string) => boolean | Promise<boolean>,
    timeoutMs = 20_000,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = await scrape();
    while (!(await check(text))) {
      if (Date.now() > deadline) assert.fail(`${what}: not seen within ${timeoutMs} ms in\n${text}`);
      // a short pause between scrapes keeps the loop from loading a busy machine
      await new Promise((r) => setTimeout(r, 25));
      text = await scrape();
    }
    return text;
  }

  async function login(
    who: { name: string; password: string; secret: string },
    code?: string,
  ): Promise<Response> {
    return fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: who.name,
        password: who.password,
        code: code ?? (await freshTotpCode(who.secret)),
      }),
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-metrics-wiring-'));
    dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    mkdirSync(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    symlinkSync(root, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify([{ id: 't', type: 'tab', label: 'empty' }]));
    mkdirSync(dataDir, { recursive: true });

    sim = await startCamera({ seed: 31, recordings: 0, rtspStream: false, liveFps: 10 });
    hooks = await TestHttpReceiver.start();
    broker = await Mosquitto.start();
    const deadS3 = await freePort(); // nothing listens there: every upload fails and waits for its retry

    const env = { ...process.env, PFCAM_DATA: dataDir, PFCAM_CREDENTIAL_SECRET: 'test-secret' };
    const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
    const users = await Users.open(db, SecretBox.forDataDir(dataDir, env));
    await users.create({
      name: VIEWER.name,
      password: VIEWER.password,
      role: 'viewer',
      totpSecret: VIEWER.secret,
    });
    await db.close();

    red = await NodeRedProcess.start({
      userDir,
      shippedSettings: true,
      env: {
        PFCAM_DATA: dataDir,
        PFCAM_CREDENTIAL_SECRET: 'test-secret',
        PFCAM_METRICS_TOKEN: TOKEN,
        PFCAM_ADMIN_USER: ADMIN.name,
        PFCAM_ADMIN_PASSWORD: ADMIN.password,
        PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
        PFCAM_CAMERA_1_URL: sim.url,
        PFCAM_S3_ENDPOINT: `http://127.0.0.1:${deadS3}`,
        PFCAM_S3_BUCKET: 'pfcam-archive',
        PFCAM_S3_REGION: 'us-east-1',
        PFCAM_S3_PREFIX: 'site-1',
        AWS_ACCESS_KEY_ID: 'AKIAMETRICSWIRING',
        AWS_SECRET_ACCESS_KEY: 'metrics-wiring-s3-secret',
        MQTT_HOST: '127.0.0.1',
        MQTT_PORT: String(broker.port),
        PFCAM_SITE: 'metrics-site',
      },
    });
    base = red.url;

    // The shipped flows, with one camera (probed every second) and a webhook on the alerts, deployed through
    // the editor API (the webhook's secret is a credential).
    const tokenRes = await fetch(`${base}/auth/token`, {
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
    assert.equal(tokenRes.status, 200, await tokenRes.clone().text());
    const editorToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    const dropped = new Set(['cam-2', 'cam-3', 'ingest-watch-2', 'ingest-watch-3']);
    const flows = applyServices(composeFlows(join(root, 'flows')), { s3: true, mqtt: true })
      .filter((n) => !dropped.has(String(n['id'])))
      .map((n) => {
        if (n['id'] === 'cam-1') return { ...n, probeInterval: 1, timeout: 5 };
        if (n['id'] === 'alerts-notify') return { ...n, webhook: 'metrics-webhook', cooldown: 0 };
        return n;
      });
    flows.push({
      id: 'metrics-webhook',
      type: 'pfcam-webhook',
      name: 'test hook',
      url: `${hooks.url}/in`,
      allowList: '127.0.0.1/32',
      timeout: 10,
      retries: 2,
      credentials: { secret: WEBHOOK_SECRET },
    });
    const from = red.log.length;
    const deploy = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${editorToken}`,
        'content-type': 'application/json',
        'Node-RED-Deployment-Type': 'full',
      },
      body: JSON.stringify(flows),
    });
    assert.ok(deploy.ok, `deploy answered ${deploy.status}: ${await deploy.clone().text()}`);
    await red.waitForLog(/Started flows/, from);
    // the camera answered its first probe: it is online
    await scrapeUntil('the camera online', (t) => value(t, 'pfcam_cameras{state="online"}') === 1);
  });

  after(async () => {
    await red?.stop();
    await sim?.stop();
    await hooks?.stop();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const kindOf = (body: string): string | undefined => {
    try {
      return (JSON.parse(body) as { kind?: string }).kind;
    } catch {
      return undefined;
    }
  };

  it('counts a recording from the camera: archived, bytes downloaded, download time and discovery latency', async () => {
    const before = await scrape();
    const recording = sim.control.addRecording({ eventName: 'metrics', videoBytes: 300_000 });
    const video = sim.control.media(recording.fileName, 'video');
    // the recording alert follows the archive (the archive's message drives it)
    await hooks.requests.waitFor(
      (items) => items.some((h) => kindOf(h.body) === 'recording'),
      'the recording alert',
      30_000,
    );
    const after = await scrape();
    const delta = (series: string): number => (value(after, series) ?? 0) - (value(before, series) ?? 0);
    assert.equal(delta('pfcam_recordings_archived_total'), 1);
    assert.ok(
      delta('pfcam_downloaded_bytes_total') >= video.size,
      'the video bytes, at least (and the thumbnail)',
    );
    assert.equal(delta('pfcam_download_duration_seconds_count'), 1);
    assert.ok(delta('pfcam_download_duration_seconds_sum') > 0);
    assert.equal(delta('pfcam_discovery_latency_seconds_count'), 1);
    assert.equal(delta('pfcam_discovery_latency_seconds_bucket{le="+Inf"}'), 1);
    assert.ok(
      !after.includes(recording.fileName) && !after.includes(sim.serialNumber),
      'no camera text in it',
    );

    // the alert deliveries: the webhook (once our receiver answered), the MQTT event publish, the dashboard
    const delivered = await scrapeUntil(
      'webhook and MQTT deliveries',
      (t) =>
        (value(t, 'pfcam_alert_deliveries_total{channel="webhook",result="success"}') ?? 0) >= 1 &&
        (value(t, 'pfcam_alert_deliveries_total{channel="mqtt",result="success"}') ?? 0) >= 1,
    );
    assert.ok(
      (value(delivered, 'pfcam_alert_deliveries_total{channel="dashboard",result="success"}') ?? 0) >= 1,
    );

    // the store: its database and the files now held
    const dbBytes = statSync(join(dataDir, 'pfcam.sqlite')).size;
    await scrapeUntil(
      'the store size with the recording',
      (t) => (value(t, 'pfcam_store_size_bytes') ?? 0) >= dbBytes + video.size,
    );
  });

  it('shows the backup backlog as the backup counts it (uploads to an S3 that refuses connections wait)', async () => {
    const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
    try {
      // The backup outbox's own count, read on a second connection (only its read of the backlog runs here).
      const context: StoreContext = {
        db,
        media: undefined as never,
        clock: Date.now,
        now: () => new Date().toISOString(),
      };
      const queries = new BackupOutbox(context, undefined as unknown as Events);
      await scrapeUntil('the backlog gauge equal to the pending count', async (t) => {
        const pending = (await queries.backlog()).pendingCount;
        return pending >= 1 && value(t, 'pfcam_backup_backlog') === pending;
      });
    } finally {
      await db.close();
    }
  });

  it('counts a failed and a successful login', async () => {
    const before = await scrape();
    const wrong = await login({ ...VIEWER, password: 'not the password' }, '000000');
    assert.equal(wrong.status, 401);
    const ok = await login(VIEWER);
    assert.equal(ok.status, 200);
    const after = await scrape();
    const delta = (series: string): number => (value(after, series) ?? 0) - (value(before, series) ?? 0);
    assert.equal(delta('pfcam_logins_total{result="failure"}'), 1);
    assert.equal(delta('pfcam_logins_total{result="success"}'), 1);
    assert.ok(!after.includes(VIEWER.name), 'no user name in the metrics');
  });

  it('counts the open live views while a live stream is open', async () => {
    const res = await login(VIEWER);
    assert.equal(res.status, 200);
    const cookie = /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '';
    assert.ok(cookie);
    const controller = new AbortController();
    const live = await request(`${base}/pfcam/api/live/${sim.serialNumber}/mjpeg`, {
      headers: { cookie },
      signal: controller.signal,
    });
    try {
      assert.equal(live.statusCode, 200);
      // the first frame's bytes: the viewer is attached to the relay
      const first = await new Promise<Buffer>((ok, fail) => {
        live.body.once('data', ok);
        live.body.once('error', fail);
      });
      assert.ok(first.length > 0);
      assert.equal(value(await scrape(), 'pfcam_live_viewers'), 1);
    } finally {
      controller.abort();
      live.body.on('error', () => undefined);
      live.body.destroy();
    }
    await scrapeUntil('no live viewer once the stream closed', (t) => value(t, 'pfcam_live_viewers') === 0);
  });

  it('shows a camera that stopped answering as offline', async () => {
    sim.control.offline();
    try {
      await hooks.requests.waitFor(
        (items) => items.some((h) => kindOf(h.body) === 'camera-offline'),
        'the camera-offline alert',
        30_000,
      );
      const text = await scrape();
      assert.equal(value(text, 'pfcam_cameras{state="offline"}'), 1);
      assert.equal(value(text, 'pfcam_cameras{state="online"}'), 0);
    } finally {
      sim.control.online();
    }
  });
});
