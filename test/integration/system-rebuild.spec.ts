/**
 * "Rebuild the index from S3" on the System screen: the dashboard's route served by the security module's API
 * server (real logins with password and TOTP, session cookies, CSRF, audit) over a real store whose recordings
 * the real backup uploaded to fauxqs. Only an admin may start it (403 from the server for a manager and a
 * viewer); it runs as a job with progress, refuses a second start while one runs, brings wiped index rows back
 * without touching the local files, and the System screen in Chromium shows the button, the progress and the
 * result as text.
 */
import { strict as assert } from 'node:assert';
import { access, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SecretBox } from '../../lib/auth/secret-box';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { S3Backup } from '../../lib/backup/s3-backup';
import { S3Objects } from '../../lib/backup/s3-objects';
import { CameraRegistry } from '../../lib/cameras/camera-registry';
import { RebootCounter } from '../../lib/dashboard/cameras';
import { JobBoard, type JobView } from '../../lib/dashboard/jobs';
import type { RebuildSummary } from '../../lib/dashboard/system';
import type { EventRecord } from '../../lib/store/event-store';
import { dashboardRoutes } from '../../dashboard/api/dashboard-routes';
import { registerRoutes } from '../../dashboard/api/registry';
import { createSecurity } from '../../dashboard/security';
import { freshTotpCode } from '../helpers/totp-codes';
import {
  addStoredRecording,
  openTempStore,
  spiedClient,
  startFauxS3,
  type FauxS3,
  type TempStore,
} from './backup-fixtures';

const BUCKET = 'pfcam-archive';
const PREFIX = 'site-r';
const ROUTE = '/system/rebuild-index';

const HOST = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pfcam</title></head>
<body><main><div class="pfcam-screen" data-pfcam-node="n1"></div></main>
<script type="module">
import { mount } from '/pfcam-ui/assets/pfcam-ui.mjs';
mount({ node: 'n1', screen: 'system', base: '' });
</script></body></html>`;

/** The bucket's objects, whose listing waits while `held` (to see a rebuild while it runs). */
class HeldObjects extends S3Objects {
  private release: (() => void) | undefined;
  private gate: Promise<void> = Promise.resolve();

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  let(): void {
    this.release?.();
  }

  override async *listKeys(...args: Parameters<S3Objects['listKeys']>): ReturnType<S3Objects['listKeys']> {
    await this.gate;
    yield* super.listKeys(...args);
  }
}

interface Signed {
  cookie: string;
  csrf: string;
}

describe('System screen: rebuild the index from S3 (real sessions, fauxqs, Chromium)', function () {
  this.timeout(60_000);
  let temp: TempStore;
  let s3: FauxS3;
  let client: S3Client;
  let objects: HeldObjects;
  let jobs: JobBoard;
  let server: Server;
  let base: string;
  let unregister = (): void => undefined;
  let closeSecurity: () => Promise<void> = () => Promise.resolve();
  let browser: Browser | undefined;
  const recordings: EventRecord[] = [];
  const people = {
    admin: { name: 'ada', password: 'ada password 0123', secret: newTotpSecret() },
    manager: { name: 'max', password: 'max password 0123', secret: newTotpSecret() },
    viewer: { name: 'vera', password: 'vera password 0123', secret: newTotpSecret() },
  };
  const signed: Partial<Record<keyof typeof people, Signed>> = {};

  before(async () => {
    temp = await openTempStore();
    s3 = await startFauxS3(BUCKET);
    ({ client } = spiedClient(s3.endpoint));
    const options = { bucket: BUCKET, prefix: PREFIX, sse: 'none' as const, kmsKeyId: undefined };
    objects = new HeldObjects(client, options);
    // three recordings stored here and backed up by the real backup
    recordings.push(
      await addStoredRecording(temp.store, { fileName: 'rec-1', triggeredAt: '2026-11-01T08:00:00.000Z' }),
      await addStoredRecording(temp.store, { fileName: 'rec-2', triggeredAt: '2026-11-02T08:00:00.000Z' }),
      await addStoredRecording(temp.store, {
        serial: 'PF-0002',
        fileName: 'rec-3',
        triggeredAt: '2026-11-03T08:00:00.000Z',
        flagged: true,
      }),
    );
    const backup = new S3Backup({
      store: temp.store,
      client,
      s3: options,
      options: { backoff: { baseMs: 60_000, maxMs: 120_000 }, backupAllStored: true },
    });
    try {
      await backup.drainNow();
    } finally {
      await backup.stop();
    }

    // the application's layout: the security tables in the archive's database file
    const env = { PFCAM_ADMIN_USER: people.admin.name, PFCAM_ADMIN_PASSWORD: people.admin.password };
    const security = createSecurity({
      dataDir: temp.dir,
      databaseFile: join('db', 'pfcam.sqlite'),
      env: { ...env, PFCAM_ADMIN_TOTP_SECRET: people.admin.secret },
      log: () => undefined,
    });
    closeSecurity = security.close;
    await security.ready;
    const users = await Users.open(temp.store.db, SecretBox.forDataDir(temp.dir, {}));
    await users.create({ ...people.manager, role: 'manager', totpSecret: people.manager.secret });
    await users.create({ ...people.viewer, role: 'viewer', totpSecret: people.viewer.secret });

    jobs = new JobBoard();
    unregister = registerRoutes(
      'test-system-rebuild',
      dashboardRoutes({
        store: () => Promise.resolve(temp.store),
        cameras: new CameraRegistry(),
        timeZone: 'UTC',
        jobs,
        reboots: new RebootCounter(),
        retentionPolicy: () => null,
        backupBucket: () => ({ objects, prefix: PREFIX }),
        changed: () => undefined,
      }),
    );
    const ui = join(__dirname, '..', '..', 'dashboard', 'ui');
    const files: Record<string, { type: string; body: string | Buffer }> = {
      '/host.html': { type: 'text/html; charset=utf-8', body: HOST },
      '/pfcam-ui/assets/pfcam-ui.mjs': {
        type: 'text/javascript',
        body: await readFile(join(ui, 'pfcam-ui.mjs')),
      },
      '/pfcam-ui/assets/pfcam-ui.css': { type: 'text/css', body: await readFile(join(ui, 'pfcam-ui.css')) },
    };
    server = createServer((req, res) =>
      security.security.handler(req, res, () => {
        const file = files[new URL(req.url ?? '/', 'http://x').pathname];
        res.writeHead(file ? 200 : 404, file ? { 'Content-Type': file.type } : {});
        res.end(file?.body);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    objects?.let();
    await browser?.close();
    await jobs?.idle();
    unregister();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await closeSecurity();
    client?.destroy();
    await s3?.stop();
    await temp?.close();
  });

  /** Signs a user in (password and TOTP code) once; their session cookie and CSRF token. */
  async function signIn(who: keyof typeof people): Promise<Signed> {
    const known = signed[who];
    if (known) return known;
    const p = people[who];
    const res = await fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: p.name, password: p.password, code: await freshTotpCode(p.secret) }),
    });
    assert.equal(res.status, 200, `${who} signs in`);
    const body = (await res.json()) as { csrfToken: string };
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    return (signed[who] = { cookie, csrf: body.csrfToken });
  }

  async function call(
    who: keyof typeof people,
    method: 'GET' | 'POST',
    path: string,
  ): Promise<{ status: number; body: unknown }> {
    const s = await signIn(who);
    const res = await fetch(`${base}/pfcam/api${path}`, {
      method,
      headers: {
        cookie: s.cookie,
        'x-csrf-token': s.csrf,
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      body: method === 'POST' ? '{}' : undefined,
    });
    return { status: res.status, body: await res.json() };
  }

  /**
   * The outcomes the audit log holds for the route and a user, read over the API (the security module's own
   * connection, whose queue has the entries written before the answers were sent).
   */
  async function auditOf(actor: string): Promise<string[]> {
    const q = new URLSearchParams({ user: actor, action: `POST ${ROUTE}` });
    const got = await call('admin', 'GET', `/audit?${q}`);
    assert.equal(got.status, 200);
    return (got.body as { items: { outcome: string }[] }).items.map((i) => i.outcome);
  }

  /** Polls the job (as its starter) until it has ended. */
  async function settled(job: JobView): Promise<JobView> {
    await jobs.settled(job.id);
    const got = await call('admin', 'GET', `/jobs/${job.id}`);
    assert.equal(got.status, 200);
    return got.body as JobView;
  }

  it('refuses the rebuild to a manager and a viewer with 403 from the server, and audits the refusals', async () => {
    for (const who of ['manager', 'viewer'] as const) {
      const got = await call(who, 'POST', ROUTE);
      assert.equal(got.status, 403, `${who} is refused`);
      assert.deepEqual(await auditOf(people[who].name), ['denied']);
    }
    assert.equal(jobs.latest('rebuildIndex'), undefined, 'no rebuild was started');
  });

  it('runs as a job for the admin: progress while it runs, a second start refused, the wiped rows back, the local files kept', async () => {
    // the index loses its rows (a database restored from an old copy, say); the media files stay on disk
    await temp.store.db.run('DELETE FROM events');
    assert.equal((await temp.store.db.get<{ n: number }>('SELECT count(*) AS n FROM events'))?.n, 0);

    objects.hold();
    const started = await call('admin', 'POST', ROUTE);
    assert.equal(started.status, 202);
    const job = started.body as JobView;
    assert.equal(job.kind, 'rebuildIndex');
    assert.equal(job.state, 'running');
    const again = await call('admin', 'POST', ROUTE);
    assert.equal(again.status, 409, 'a second rebuild is refused while one runs');
    assert.equal((again.body as { job: JobView }).job.id, job.id);
    const system = (await call('admin', 'GET', '/system')).body as {
      rebuild: { available: boolean; job: JobView };
    };
    assert.equal(system.rebuild.available, true);
    assert.equal(system.rebuild.job.state, 'running');
    objects.let();

    const done = await settled(job);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    const result = done.result as RebuildSummary;
    assert.deepEqual(
      { found: result.found, added: result.added, skipped: result.skipped, errors: result.errors },
      { found: 3, added: 3, skipped: 0, errors: 0 },
    );
    assert.deepEqual(done.progress, result, 'the last progress is the final figures');
    for (const r of recordings) {
      const back = await temp.store.getByFile(r.cameraSerial, r.fileName);
      assert.ok(back, `${r.fileName} is in the index again`);
      assert.equal(back.triggeredAtUtc, r.triggeredAtUtc);
      assert.equal(back.flagged, r.flagged);
      assert.equal(back.backupState, 'done');
      // the files of the recordings were not deleted
      await access(temp.store.media.resolve(r.videoPath!));
      await access(temp.store.media.resolve(r.thumbPath!));
    }
    assert.equal((await auditOf(people.admin.name)).length, 2, 'both starts are in the audit log');
  });

  it('shows the admin the button on the System screen, then the progress and the result as text', async () => {
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
    const context = await browser.newContext();
    const admin = await signIn('admin');
    const url = new URL(base);
    await context.addCookies(
      admin.cookie.split('; ').map((c) => {
        const [name, ...value] = c.split('=');
        return { name: name!, value: value.join('='), domain: url.hostname, path: '/' };
      }),
    );
    const page: Page = await context.newPage();
    await page.goto(`${base}/host.html`);
    await page.waitForSelector('.pfcam-view[data-screen="system"][data-ready="true"]', { timeout: 20_000 });
    const button = page.getByRole('button', { name: 'Rebuild the index from S3' });
    assert.equal(await button.count(), 1, 'the admin has the button');
    const state = page.locator('.pfcam-rebuild-state');

    objects.hold();
    await button.click();
    await state.filter({ hasText: 'Rebuilding the index…' }).waitFor({ timeout: 10_000 });
    assert.equal(await button.isDisabled(), true, 'no second start from the page while it runs');
    objects.let();
    await state.filter({ hasText: 'Rebuild done:' }).waitFor({ timeout: 20_000 });
    assert.equal(
      (await state.textContent())?.trim(),
      'Rebuild done: 3 recordings found in the bucket, 0 added, 3 skipped, 0 errors.',
    );
    assert.equal(await page.locator('.pfcam-rebuild-state *').count(), 0, 'the result is text, no markup');
    await jobs.idle();
    await context.close();
  });
});
