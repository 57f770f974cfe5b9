/**
 * The dashboard at archive scale: the store at 1 000 000 recordings (10 cameras, one year).
 * - a filtered Recordings page (one camera, a name search) and the next pages by keyset cursor, p95 over
 *   repeated requests, served by the dashboard's own routes over HTTP on 127.0.0.1;
 * - 100 concurrent users signed in through the security module (password + TOTP login, session cookie), browsing
 *   over its API server (filters, next pages, single recordings), API p95; the users' requests come from a
 *   worker thread, as browsers on other machines would not share the server's thread;
 * - a new recording pushed to 100 connected dashboard clients (socket.io), p95;
 * - login to a usable Recordings page in headless Chromium against a real Node-RED with the shipped settings.js
 *   (from opening /pfcam/login to the table's first rows), median and p95 of 5 logins.
 * Baseline, in the same run and on the same database: the page a flow author would serve by hand (http in +
 * sqlite), `LIKE` for the name and `OFFSET` for the page, the row as stored, at the same depth and filters.
 * The seeded archive is kept in the temp folder between runs (seeding a million rows takes a while); each run
 * works on a copy. The load average is printed: figures of a shared machine are read with it.
 *
 * `BENCH_EVENTS=100000 npm run bench -- dashboard` for a quicker run; `BENCH_PHASES=1` also prints each login's
 * phases (login form filled, /ui loaded, Recordings screen mounted, first rows shown).
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { chromium } from 'playwright-core';
import { SecretBox } from '../lib/auth/secret-box';
import { newTotpSecret, totpCode } from '../lib/auth/totp';
import { Users } from '../lib/auth/users';
import { Database } from '../lib/store/database';
import { registerRoutes } from '../dashboard/api/registry';
import { createSecurity } from '../dashboard/security';
import { NodeRedProcess } from '../test/helpers/node-red-process';
import { CameraRegistry } from '../lib/cameras/camera-registry';
import { RebootCounter } from '../lib/dashboard/cameras';
import { JobBoard } from '../lib/dashboard/jobs';
import type { RecordingsPage } from '../lib/dashboard/recordings';
import type { SqlValue } from '../lib/store/database';
import { EventStore } from '../lib/store/event-store';
import { dashboardRoutes } from '../dashboard/api/dashboard-routes';
import type { ApiRoute } from '../dashboard/api/api-route';
import { PRINCIPALS, startTestApi } from '../test/helpers/dashboard-fixtures';
import type { NodeAPI } from 'node-red';
import { io, type Socket } from 'socket.io-client';
import storeNode from '../nodes/pfcam-store/pfcam-store';
import uiConfigNode from '../nodes/pfcam-ui-config/pfcam-ui-config';
import recordingsNode from '../nodes/pfcam-ui-recordings/pfcam-ui-recordings';
import { helper } from '../test/helpers/node-red';
import type { BenchResult, BenchRow } from './run';

type NodeModule = (RED: NodeAPI) => void;

/**
 * A new recording to N dashboard clients: a real Node-RED runtime with node-red-dashboard and the Recordings
 * widget, N socket.io clients connected to /ui; a recording message into the widget, timed until each client has
 * the push. Returns every client's latency (ms).
 */
async function pushLatencies(dir: string, clients: number, rounds: number): Promise<number[]> {
  /* eslint-disable @typescript-eslint/no-require-imports -- node-red-dashboard's node modules are CommonJS */
  const dashboardNodes = ['ui_base', 'ui_tab', 'ui_group'].map(
    (n) => require(`node-red-dashboard/nodes/${n}.js`) as NodeModule,
  );
  /* eslint-enable @typescript-eslint/no-require-imports */
  await helper.startServer();
  const sockets: Socket[] = [];
  try {
    let mounted = false;
    const mountHttpNode: NodeModule = (RED) => {
      if (mounted) return;
      mounted = true;
      (helper as unknown as { _app: { use(app: unknown): void } })._app.use(RED.httpNode);
    };
    await helper.load(
      [mountHttpNode, ...dashboardNodes, storeNode, uiConfigNode, recordingsNode],
      [
        { id: 'tab', type: 'tab', label: 'Dashboard' },
        { id: 'uitab', type: 'ui_tab', name: 'Screens', order: 1 },
        { id: 'group', type: 'ui_group', name: 'Main', tab: 'uitab', width: '24', order: 1 },
        {
          id: 'store',
          type: 'pfcam-store',
          databaseFile: join(dir, 'push.sqlite'),
          mediaDir: join(dir, 'push-media'),
        },
        { id: 'uicfg', type: 'pfcam-ui-config', store: 'store', timeZone: 'UTC' },
        {
          id: 'w',
          type: 'pfcam-ui-recordings',
          z: 'tab',
          group: 'group',
          config: 'uicfg',
          x: 100,
          y: 100,
          wires: [],
        },
      ],
    );
    await Promise.all(
      Array.from({ length: clients }, () => {
        const s = io(helper.url(), { path: '/ui/socket.io', forceNew: true });
        sockets.push(s);
        return new Promise<void>((resolve) => s.once('ui-controls', () => resolve()));
      }),
    );
    const latencies: number[] = [];
    const widget = helper.getNode('w');
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const all = Promise.all(
        sockets.map(
          (s) =>
            new Promise<void>((resolve) => {
              const on = (m: { id: string }): void => {
                if (m.id !== 'w') return;
                s.off('update-value', on);
                latencies.push(performance.now() - t0);
                resolve();
              };
              s.on('update-value', on);
            }),
        ),
      );
      widget.receive({ payload: { cameraSerial: `SN-${r % 10}`, fileName: `new-${r}` } });
      await all;
    }
    return latencies;
  } finally {
    for (const s of sockets) s.close();
    await helper.unload();
    await helper.stopServer();
  }
}

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CAMERAS = 10;
const START = Date.parse('2025-01-01T00:00:00Z');
const SPAN_MS = 365 * 24 * 3600_000;
const NAMES = ['door open', 'forklift', 'gate north', 'gate south', 'intrusion', 'conveyor jam'];
const COLUMNS = [
  'camera_id',
  'file_name',
  'event_name',
  'triggered_at',
  'triggered_at_utc',
  'playback_time',
  'vid_ext',
  'thmb_ext',
  'dir',
  'state',
  'video_path',
  'video_size',
  'thumb_size',
  'flagged',
  'viewed',
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function seed(store: EventStore, ids: readonly number[]): Promise<void> {
  const random = lcg(42);
  const batch = 500;
  const one = `(${COLUMNS.map(() => '?').join(', ')})`;
  for (let tx0 = 0; tx0 < EVENTS; tx0 += 50_000) {
    await store.db.transaction(async (tx) => {
      for (let b = tx0; b < Math.min(EVENTS, tx0 + 50_000); b += batch) {
        const n = Math.min(batch, EVENTS - b);
        const params: SqlValue[] = [];
        for (let i = b; i < b + n; i++) {
          const cam = Math.floor(random() * CAMERAS);
          const t = new Date(START + Math.floor((i / EVENTS) * SPAN_MS + random() * 30_000)).toISOString();
          const name = random() < 0.4 ? null : `${NAMES[Math.floor(random() * NAMES.length)]!} ${i % 20}`;
          const file = `${t.slice(0, 19).replace(/[-:T]/g, '')}_${i}`;
          params.push(
            ids[cam]!,
            file,
            name,
            t.slice(0, 19),
            t,
            20,
            '.mp4',
            '.jpg',
            name ? 'named' : 'unnamed',
            'stored',
            `SN-${cam}/${file}.mp4`,
            4_000_000,
            30_000,
            random() < 0.01 ? 1 : 0,
            random() < 0.5 ? 1 : 0,
          );
        }
        await tx.run(
          `INSERT INTO events (${COLUMNS.join(', ')}) VALUES ${Array(n).fill(one).join(', ')}`,
          params,
        );
      }
    });
  }
}

function p95(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await work();
  return performance.now() - t;
}

/** Bump when the seeded rows change: a cached database of another version is seeded again. */
const SEED_VERSION = 1;

/**
 * The seeded archive's data folder (database `pfcam.sqlite`, media folder), kept between runs in the temp folder:
 * seeding a million rows takes minutes, and the routes under test only read them. Seeded into a scratch file and
 * renamed when complete, so an interrupted seeding is never reused.
 */
export async function seededDataDir(): Promise<string> {
  const dir = join(tmpdir(), `pfcam-bench-dashboard-v${SEED_VERSION}-${EVENTS}`);
  const file = join(dir, 'pfcam.sqlite');
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return dir;
  await mkdir(dir, { recursive: true });
  const scratch = join(dir, 'seeding.sqlite');
  for (const f of [scratch, `${scratch}-wal`, `${scratch}-shm`]) await rm(f, { force: true });
  const store = await EventStore.open({ databaseFile: scratch, mediaDir: join(dir, 'media') });
  try {
    const ids: number[] = [];
    for (let c = 0; c < CAMERAS; c++) ids.push(await store.upsertCamera(`SN-${c}`, { name: `Camera ${c}` }));
    await seed(store, ids);
    await store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    await store.close();
  }
  await rename(scratch, file);
  return dir;
}

/** What each simulated user does, in a worker thread (the users' side must not share the server's thread). */
const BROWSE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, cookies, perUser, filters } = workerData;
async function call(cookie, path) {
  const res = await fetch(url + '/pfcam/api' + path, { headers: { cookie } });
  const body = await res.json();
  if (res.status !== 200) throw new Error(path + ': ' + res.status + ' ' + JSON.stringify(body));
  return body;
}
async function browse(cookie, u, baseline) {
  const times = [];
  const timed = async (path) => {
    const t = performance.now();
    const body = await call(cookie, path);
    times.push(performance.now() - t);
    return body;
  };
  let cursor = null;
  for (let i = 0; i < perUser; i++) {
    const f = filters[(u + i) % filters.length];
    const next = i % 2 === 1;
    const q = baseline
      ? '/baseline/recordings?' + f + '&page=' + (next ? 1 : 0)
      : '/recordings?' + f + (cursor && next ? '&cursor=' + cursor : '');
    const body = await timed(q);
    cursor = body.nextCursor || null;
    const first = body.recordings[0];
    if (first) await timed((baseline ? '/baseline/recordings/' : '/recordings/') + first.id);
  }
  return times;
}
(async () => {
  const out = {};
  for (const mode of ['ours', 'baseline']) {
    const all = await Promise.all(cookies.map((c, u) => browse(c, u, mode === 'baseline')));
    out[mode] = all.flat();
  }
  parentPort.postMessage(out);
})().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }));
`;

/**
 * N users signed in through the login (password + TOTP) of the security module, browsing at once over its API
 * server (session cookie, permission and scope checks, as in the application); then the same users on the
 * hand-made baseline pages. The users' requests come from a worker thread. Returns each request's latency (ms).
 */
async function loggedInBrowsing(
  dataDir: string,
  routes: readonly ApiRoute[],
  users: number,
  perUser: number,
): Promise<{ ours: number[]; baseline: number[] }> {
  const secured = createSecurity({ dataDir, env: {}, log: () => undefined });
  const unregister = registerRoutes('bench-dashboard', routes);
  const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
  const server = createServer((req, res) =>
    secured.security.handler(req, res, () => {
      res.statusCode = 404;
      res.end();
    }),
  );
  try {
    await secured.ready;
    const accounts = await Users.open(db, SecretBox.forDataDir(dataDir, {}));
    const people: { name: string; password: string; secret: string }[] = [];
    for (let u = 0; u < users; u++) {
      const person = { name: `viewer-${u}`, password: `browsing password ${u}`, secret: newTotpSecret() };
      await accounts.create({ ...person, role: 'viewer', totpSecret: person.secret });
      people.push(person);
    }
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    // every user signs in (not timed): password and the current TOTP code, a session cookie back; a few at a
    // time, so that a code is not of a past step by the time its password hash is checked
    const login = async (p: { name: string; password: string; secret: string }): Promise<string> => {
      const res = await fetch(`${url}/pfcam/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: p.name, password: p.password, code: totpCode(p.secret) }),
      });
      if (res.status !== 200) throw new Error(`login of ${p.name}: ${res.status} ${await res.text()}`);
      return res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
    };
    const cookies: string[] = [];
    for (let u = 0; u < people.length; u += 4)
      cookies.push(...(await Promise.all(people.slice(u, u + 4).map(login))));
    // each page starts with the session (user, CSRF token), as the dashboard's does: not timed (a new session's
    // first request records its last-seen time, a write a page load makes once)
    for (const cookie of cookies) {
      const res = await fetch(`${url}/pfcam/api/session`, { headers: { cookie } });
      if (res.status !== 200) throw new Error(`session: ${res.status}`);
    }
    const filters = ['', 'flagged=true', 'viewed=false', 'camera=SN-4', 'name=gate', 'camera=SN-7&name=door'];
    const worker = new Worker(BROWSE_WORKER, { eval: true, workerData: { url, cookies, perUser, filters } });
    const out = await new Promise<{ ours?: number[]; baseline?: number[]; error?: string }>((done, fail) => {
      worker.once('message', done);
      worker.once('error', fail);
    });
    await worker.terminate();
    if (out.error || !out.ours || !out.baseline) throw new Error(out.error ?? 'the users did not finish');
    return { ours: out.ours, baseline: out.baseline };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    unregister();
    await db.close();
    await secured.close();
  }
}

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** The shipped dashboard's config node and its Recordings tab, over a store in the data folder. */
function shippedRecordingsTab(): FlowNode[] {
  const root = resolve(__dirname, '..');
  const shipped = JSON.parse(readFileSync(join(root, 'flows', 'dashboard.json'), 'utf8')) as FlowNode[];
  const config = shipped.find((n) => n.type === 'pfcam-ui-config');
  if (!config) throw new Error('the shipped dashboard has no pfcam-ui-config node');
  const { retention: _retention, ...withoutRetention } = config;
  return [
    ...shipped.filter((n) => n.id === 'tab-dashboard' || /^ui-(tab|group|w)-recordings$/.test(n.id)),
    withoutRetention,
    { id: String(config['store']), type: 'pfcam-store', name: 'Archive', databaseFile: '', mediaDir: '' },
  ];
}

/**
 * Login to a usable Recordings page, in headless Chromium against a real Node-RED process with the shipped
 * settings.js (security) and the shipped Recordings tab over the archive in `dataDir`: from opening
 * /pfcam/login, filling user name, password and TOTP code, to the Recordings table showing its first rows in
 * /ui. Each run is a new browser context and a user of its own (a TOTP step is accepted once per user).
 */
export async function loginToRecordings(dataDir: string, runs: number): Promise<number[]> {
  const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
  const people: { name: string; password: string; secret: string }[] = [];
  try {
    const accounts = await Users.open(db, SecretBox.forDataDir(dataDir, {}));
    for (let r = 0; r < runs + 1; r++) {
      const person = { name: `operator-${r}`, password: `operator password ${r}`, secret: newTotpSecret() };
      await accounts.create({ ...person, role: 'viewer', totpSecret: person.secret });
      people.push(person);
    }
  } finally {
    await db.close();
  }
  const userDir = join(dataDir, 'node-red');
  await mkdir(userDir, { recursive: true });
  await writeFile(join(userDir, 'flows.json'), JSON.stringify(shippedRecordingsTab()));
  const nodeRed = await NodeRedProcess.start({
    userDir,
    shippedSettings: true,
    env: {
      ...(process.env as Record<string, string>),
      PFCAM_DATA: dataDir,
      PFCAM_CREDENTIAL_SECRET: 'bench',
    },
  });
  const browser = await chromium.launch({
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
  try {
    const times: number[] = [];
    // the first sign-in warms the browser's and the server's caches and is not counted
    for (const [r, person] of people.entries()) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      try {
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(`${nodeRed.url}/pfcam/login?next=/ui/`);
        await page.getByLabel('User name').fill(person.name);
        await page.getByLabel('Password', { exact: true }).fill(person.password);
        await page.getByLabel('Authenticator code or recovery code').fill(totpCode(person.secret));
        const tFill = performance.now();
        await page.click('#submit');
        await page.waitForURL('**/ui/**');
        const tUi = performance.now();
        await page.waitForSelector('.pfcam-view[data-screen="recordings"]');
        const tView = performance.now();
        await page.waitForSelector('.pfcam-view[data-screen="recordings"] tr[data-recording]', {
          timeout: 60_000,
        });
        if (r > 0) times.push(performance.now() - t0);
        if (process.env.BENCH_PHASES)
          console.log(
            `login ${r}: form ${(tFill - t0).toFixed(0)} ui ${(tUi - tFill).toFixed(0)} view ${(tView - tUi).toFixed(0)} rows ${(performance.now() - tView).toFixed(0)}`,
          );
      } finally {
        await context.close();
      }
    }
    return times;
  } finally {
    await browser.close();
    await nodeRed.stop();
  }
}

function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

export async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-bench-dashboard-'));
  const rows: BenchRow[] = [];
  const load: string[] = [];
  const noteLoad = (when: string): void => {
    load.push(
      `${when} ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  };
  noteLoad('start');
  // this run's archive: a copy of the seeded one (the application's file: store and security tables in one)
  const seeded = await seededDataDir();
  await copyFile(join(seeded, 'pfcam.sqlite'), join(dir, 'pfcam.sqlite'));
  const store = await EventStore.open({
    databaseFile: join(dir, 'pfcam.sqlite'),
    mediaDir: join(dir, 'media'),
  });
  const routes: ApiRoute[] = dashboardRoutes({
    store: () => Promise.resolve(store),
    cameras: new CameraRegistry(),
    timeZone: 'Europe/Zurich',
    jobs: new JobBoard(),
    reboots: new RebootCounter(),
    retentionPolicy: () => null,
    changed: () => undefined,
  });
  // The baseline routes: what a hand-made http in + sqlite flow serves (LIKE, OFFSET, the row as stored).
  routes.push(
    {
      method: 'GET',
      path: '/baseline/recordings',
      permission: 'events:view',
      summary: 'baseline',
      handler: async (req) => {
        const page = Number(req.query.page ?? 0);
        const where: string[] = [];
        const params: SqlValue[] = [];
        if (req.query.camera) {
          where.push('c.serial_number = ?');
          params.push(req.query.camera);
        }
        if (req.query.name) {
          where.push('e.event_name LIKE ?');
          params.push(`%${req.query.name}%`);
        }
        for (const key of ['flagged', 'viewed'] as const) {
          if (req.query[key] === undefined) continue;
          where.push(`e.${key} = ?`);
          params.push(req.query[key] === 'true' ? 1 : 0);
        }
        const list = await store.db.all(
          `SELECT e.*, c.serial_number FROM events e JOIN cameras c ON c.id = e.camera_id
           WHERE ${where.length > 0 ? where.join(' AND ') : '1'}
           ORDER BY e.triggered_at_utc DESC LIMIT 50 OFFSET ?`,
          [...params, page * 50],
        );
        return { json: { recordings: list } };
      },
    },
    {
      method: 'GET',
      path: '/baseline/recordings/:id',
      permission: 'events:view',
      summary: 'baseline',
      handler: async (req) => ({
        json: await store.db.get(
          'SELECT e.*, c.serial_number FROM events e JOIN cameras c ON c.id = e.camera_id WHERE e.id = ?',
          [Number(req.params.id)],
        ),
      }),
    },
  );
  const api = await startTestApi(routes);
  const viewer = PRINCIPALS.viewer;
  try {
    noteLoad('seeded');
    // filtered page and its next pages (keyset) vs the baseline at the same depth (OFFSET)
    const ours: number[] = [];
    const base: number[] = [];
    for (let r = 0; r < 6; r++) {
      const cam = `SN-${r % CAMERAS}`;
      const name = NAMES[r % NAMES.length]!.split(' ')[0]!;
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const q = `/recordings?camera=${cam}&name=${encodeURIComponent(name)}${cursor ? `&cursor=${cursor}` : ''}`;
        let body: RecordingsPage | undefined;
        ours.push(
          await timed(async () => {
            body = (await api.call(viewer, 'GET', q)).json as RecordingsPage;
          }),
        );
        cursor = body?.nextCursor ?? null;
        base.push(
          await timed(() =>
            api.call(
              viewer,
              'GET',
              `/baseline/recordings?camera=${cam}&name=${encodeURIComponent(name)}&page=${page}`,
            ),
          ),
        );
        if (!cursor) break;
      }
    }
    rows.push({
      name: `filtered Recordings page API p95 (camera + name, pages 1-5), ${EVENTS} recordings (target < 50 ms)`,
      value: p95(ours),
      unit: 'ms',
      baseline: p95(base),
      better: 'lower',
    });

    // 100 concurrent users, signed in, browsing
    const users = 100;
    const browsing = await loggedInBrowsing(dir, routes, users, 6);
    rows.push({
      name: `${users} concurrent signed-in users browsing, API p95 (${browsing.ours.length} requests; target < 500 ms)`,
      value: p95(browsing.ours),
      unit: 'ms',
      baseline: p95(browsing.baseline),
      better: 'lower',
    });
    noteLoad('after the users');
    const pushes = await pushLatencies(dir, 100, 20);
    rows.push({
      name: 'a new recording to 100 connected dashboard clients, p95 (20 recordings; target < 300 ms)',
      value: p95(pushes),
      unit: 'ms',
      better: 'lower',
    });
    noteLoad('after the pushes');
  } finally {
    await api.close();
    await store.close();
  }
  try {
    const logins = await loginToRecordings(dir, 5);
    rows.push(
      {
        name: 'login to a usable Recordings page in Chromium, median (5 logins; target < 1.5 s)',
        value: median(logins),
        unit: 'ms',
        better: 'lower',
      },
      {
        name: 'login to a usable Recordings page in Chromium, p95 (5 logins; target < 1.5 s)',
        value: p95(logins),
        unit: 'ms',
        better: 'lower',
      },
    );
    noteLoad('after the logins');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    title: 'Dashboard at archive scale',
    baseline:
      'a hand-made http in + sqlite page: LIKE for the name, OFFSET for the page, the row as stored, same filters and depth',
    rows,
    notes: [
      'The filtered page is served over HTTP on 127.0.0.1 by the routes with a fixed principal; the signed-in users go through the security module (login with password and TOTP, session cookie, permission checks), their requests sent from a worker thread.',
      'The login runs a real Node-RED with the shipped settings.js and Recordings tab over the same archive; the first login warms the caches and is not counted.',
      `Load average (1, 5, 15 min): ${load.join('; ')}`,
    ],
  };
}
