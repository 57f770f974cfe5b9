/**
 * The role x action matrix of the shipped application: one real Node-RED with the shipped settings.js, two
 * simulated cameras behind pfcam-camera nodes, a store with a recording on each, the dashboard and live view
 * nodes, and pfcam-guard nodes behind dashboard buttons. The routes are the ones the running process serves
 * (`GET /pfcam/api/routes`); every cell's expected outcome is computed from the permission map the code uses
 * (ROLE_PERMISSIONS / TOKEN_SCOPES through isAllowed), so a route or a permission added later is in the matrix
 * without editing it, and a state-changing route with no harmless request known here fails the test.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { isAccountRoute, type RouteView } from '../../dashboard/api/security-routes';
import {
  inCameraScope,
  isAllowed,
  isPermission,
  PERMISSIONS,
  principalHas,
  ROLES,
  TOKEN_SCOPES,
  type Permission,
  type Principal,
  type Role,
} from '../../lib/auth/permissions';
import { SecretBox } from '../../lib/auth/secret-box';
import { Tokens } from '../../lib/auth/tokens';
import { newTotpSecret } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { storedRecording } from '../helpers/dashboard-fixtures';
import { NodeRedProcess } from '../helpers/node-red-process';
import { waitForDone as waitFor } from '../helpers/wait-for';
import { freshTotpCode } from '../helpers/totp-codes';

const root = resolve(__dirname, '..', '..');
/**
 * Sessions of this process end after this long without a request (PFCAM_SESSION_IDLE_SECONDS). The sessions of
 * the matrix are kept alive by a request every 2 s (as an open page does); the idle session is checked once
 * this much time has passed since its last request, which mostly overlaps the rest of the run. Long enough that
 * a loaded machine stalling the process for a few seconds does not end the kept-alive sessions.
 */
const IDLE_SECONDS = 20;
/** How many requests are in flight at once. */
const BATCH = 6;
const FOREIGN_ORIGIN = 'http://evil.example';
const UNKNOWN_ID = '999999';

interface Account {
  name: string;
  role: Role;
  cameras: string[] | null;
  password: string;
  secret: string;
}

/** A caller of the API: how it authenticates, and who the permission map says it is. */
interface Caller {
  label: string;
  principal: Principal;
  headers: Record<string, string>;
  /** Sessions only: the CSRF token of the session. */
  csrf?: string;
}

interface Answer {
  status: number;
  text: string;
}

/**
 * The request a state-changing route gets in the matrix: inputs its handler refuses without changing anything
 * (unknown ids, invalid bodies) unless the action is harmless here; `endsSession` for the one route that ends
 * the caller's own sessions (run last).
 */
interface HarmlessRequest {
  body?: unknown;
  params?: Readonly<Record<string, string>>;
  endsSession?: boolean;
}

const HARMLESS: Readonly<Record<string, HarmlessRequest>> = {
  'POST /users': { body: {} }, // no role: 400
  'PATCH /users/:id': { body: { role: 'viewer' } }, // unknown id: 404
  'DELETE /users/:id': {},
  'POST /users/:id/reset-mfa': { body: {} },
  'POST /tokens': { body: { label: 'matrix' } }, // no scopes: 400
  'DELETE /tokens/:id': {},
  'DELETE /account/sessions': { endsSession: true },
  'DELETE /account/sessions/:handle': {}, // unknown handle: 404
  'POST /account/password': { body: {} }, // no new password: 400
  'POST /account/totp/start': { body: {} }, // enrolled already: 409
  'POST /account/totp/confirm': { body: {} }, // no pending enrolment: 400
  'POST /account/recovery-codes': { body: {} }, // new recovery codes: harmless
  'POST /recordings/:id/viewed': { body: { viewed: true } }, // harmless
  'PATCH /recordings/:id': { body: { matrix: true } }, // unknown field: 400
  'DELETE /recordings/:id': { params: { id: UNKNOWN_ID } },
  'POST /cameras/:serial/trigger': { body: { matrix: true } }, // unknown field: 400
  'POST /cameras/:serial/stop': { body: { eventName: 5 } }, // not a text: 400
  'POST /cameras/:serial/reboot': { params: { serial: 'NO-SUCH-CAMERA' } }, // 404
  'POST /cameras/:serial/clock/fix': { body: {} }, // no ntpServer: 400
  'POST /cameras/:serial/settings/preview': { body: { changes: { matrix: 1 } } }, // nothing is sent
  'PUT /cameras/:serial/settings': { body: { changes: { matrix: 1 } } }, // unknown setting: 400
  'PUT /cameras/:serial/live/:resource': { body: { matrix: 1 } }, // unknown control: 400
  'PUT /alerts/preferences': { body: { kinds: ['matrix'] } }, // unknown kind: 400
  'POST /system/retention/dry-run': { body: {} }, // nothing is deleted
  'POST /system/rebuild-index': { body: {} }, // no S3 backup named by this dashboard: 409
  'POST /live/:camera/snapshot/record': { body: {} }, // a recording on a simulated camera: harmless
};

type Expectation = 'allowed' | 'forbidden' | 'outside-scope';

/** The cell of the table: from the permission map, the camera scope, and the account-route rule. */
function expectation(who: Principal, route: RouteView, serial: string): Expectation {
  if (!principalHas(who, route.permission as Permission)) return 'forbidden';
  if (who.kind === 'token' && isAccountRoute(route.path)) return 'forbidden';
  if (route.cameraScoped && !inCameraScope(who, serial)) return 'outside-scope';
  // the same answer through the one check every route, guard and stream makes
  assert.equal(isAllowed(who, route.permission as Permission, route.cameraScoped ? serial : undefined), true);
  return 'allowed';
}

/** Runs `work` over `items`, BATCH at a time. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += BATCH)
    out.push(...(await Promise.all(items.slice(i, i + BATCH).map(work))));
  return out;
}

describe('role x action matrix over every API route and guarded action (real Node-RED, shipped settings.js)', function () {
  this.timeout(60_000);
  let dir: string;
  let nodeRed: NodeRedProcess | undefined;
  let base: string;
  const sims: SimulatedCamera[] = [];
  const sockets: Socket[] = [];
  let serialA = '';
  let serialB = '';
  const recordingOf: Record<string, number> = {};
  let keepAlive: NodeJS.Timeout | undefined;
  const alive = new Set<Caller>();

  const accounts = {
    viewer: account('vera', 'viewer'),
    manager: account('max', 'manager'),
    admin: account('ada', 'admin'),
    /** Filled in once camera A's serial is known. */
    limited: account('sami', 'viewer'),
    idle: account('ida', 'viewer'),
    leaving: account('leo', 'viewer'),
  };
  const callers = {} as Record<keyof typeof accounts, Caller>;
  const tokenCallers: Caller[] = [];
  let routes: RouteView[] = [];
  let idleLastSeen = 0;
  let idleSocketDropped: Promise<string> | undefined;

  function account(name: string, role: Role): Account {
    return { name, role, cameras: null, password: `${name} password 0123`, secret: newTotpSecret() };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-matrix-'));
    const dataDir = join(dir, 'data');
    const userDir = join(dir, 'node-red');
    mkdirSync(join(userDir, 'node_modules', '@pfcam'), { recursive: true });
    symlinkSync(root, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'), 'dir');
    mkdirSync(dataDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PFCAM_DATA: dataDir,
      PFCAM_CREDENTIAL_SECRET: 'test-secret',
    };
    delete env['PFCAM_AUTH_KEY'];
    delete env['PFCAM_ADMIN_USER'];
    delete env['PFCAM_ADMIN_PASSWORD'];
    delete env['PFCAM_ADMIN_TOTP_SECRET'];

    sims.push(
      await startCamera({ seed: 901, name: 'Camera A' }),
      await startCamera({ seed: 902, name: 'Camera B' }),
    );
    serialA = sims[0]!.serialNumber;
    serialB = sims[1]!.serialNumber;
    assert.notEqual(serialA, serialB);
    accounts.limited.cameras = [serialA];

    // The archive holds one recording per camera; users and tokens exist before the start.
    const store = await EventStore.open({
      databaseFile: join(dataDir, 'pfcam.sqlite'),
      mediaDir: join(dataDir, 'media'),
    });
    try {
      recordingOf[serialA] = (await storedRecording(store, serialA, 'matrix-a')).id;
      recordingOf[serialB] = (await storedRecording(store, serialB, 'matrix-b')).id;
      const users = await Users.open(store.db, SecretBox.forDataDir(dataDir, env));
      await Promise.all(
        Object.values(accounts).map((a) =>
          users.create({
            name: a.name,
            password: a.password,
            role: a.role,
            cameras: a.cameras,
            totpSecret: a.secret,
          }),
        ),
      );
      const tokens = await Tokens.open(store.db);
      for (const scope of TOKEN_SCOPES) {
        const { token, info } = await tokens.create({
          label: `token ${scope}`,
          scopes: [scope],
          createdBy: 'test',
        });
        tokenCallers.push({
          label: `token ${scope}`,
          principal: {
            kind: 'token',
            id: info.id,
            name: info.label,
            scopes: info.scopes,
            cameras: info.cameras,
          },
          headers: { authorization: `Bearer ${token}` },
        });
      }
    } finally {
      await store.close();
    }

    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows()));
    nodeRed = await NodeRedProcess.start({
      userDir,
      shippedSettings: true,
      env: { ...env, PFCAM_SESSION_IDLE_SECONDS: String(IDLE_SECONDS) },
    });
    base = nodeRed.url;

    await Promise.all(
      (Object.keys(accounts) as (keyof typeof accounts)[]).map(async (key) => {
        callers[key] = await login(accounts[key]);
      }),
    );
    // Open dashboard pages keep their sessions alive; the idle one is left alone from here on.
    for (const key of ['viewer', 'manager', 'admin', 'limited', 'leaving'] as const) alive.add(callers[key]);
    keepAlive = setInterval(() => {
      for (const c of alive)
        fetch(`${base}/pfcam/api/session`, { headers: c.headers })
          .then((r) => r.body?.cancel())
          .catch(() => undefined);
    }, 2_000);
    const idle = await call(callers.idle, 'GET', '/session');
    idleLastSeen = Date.now();
    assert.equal(idle.status, 200);
    // an open dashboard socket on the idle session: it must drop when the session expires, unasked
    const idleSocket = io(base, {
      path: '/ui/socket.io',
      extraHeaders: { ...callers.idle.headers, origin: base },
      reconnection: false,
      forceNew: true,
    });
    sockets.push(idleSocket);
    await new Promise<void>((ok, fail) => {
      idleSocket.once('connect', () => ok());
      idleSocket.once('connect_error', fail);
    });
    idleSocketDropped = new Promise<string>((ok) => idleSocket.once('disconnect', (reason) => ok(reason)));

    // both cameras probed (serial numbers known) before any camera-scoped cell
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await call(callers.admin, 'GET', '/live/cameras');
      const listed =
        res.status === 200 ? (JSON.parse(res.text) as { cameras: { serial: string }[] }).cameras : [];
      if ([serialA, serialB].every((s) => listed.some((c) => c.serial === s))) break;
      if (Date.now() > deadline) throw new Error(`the cameras were not probed: ${res.status} ${res.text}`);
      await sleep(200);
    }
    const listed = await call(callers.admin, 'GET', '/routes');
    assert.equal(listed.status, 200, listed.text);
    routes = (JSON.parse(listed.text) as { routes: RouteView[] }).routes;
  });

  afterEach(function () {
    // what Node-RED logged, to tell a failed cell's cause
    if (this.currentTest?.state === 'failed') console.log(nodeRed?.log.slice(-3000));
  });

  after(async () => {
    if (keepAlive) clearInterval(keepAlive);
    for (const s of sockets) s.close();
    await nodeRed?.stop();
    await Promise.all(sims.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  // ------------------------------------------------------------------------------------------ flows and calls

  const GUARDED = PERMISSIONS.map((permission, i) => ({
    permission,
    plain: `guard-plain-${i}`,
    cam: `guard-cam-${i}`,
  }));

  /** Store, cameras, dashboard config and live view, and a button per camera choice wired through every guard. */
  function flows(): unknown[] {
    const nodes: Record<string, unknown>[] = [
      { id: 'tab', type: 'tab', label: 'matrix' },
      {
        id: 'store',
        type: 'pfcam-store',
        name: '',
        databaseFile: '',
        mediaDir: '',
        recoverOnStart: true,
        verifyFiles: false,
      },
      ...sims.map((s, i) => ({
        id: `cam-${i}`,
        type: 'pfcam-camera',
        name: `Camera ${'AB'[i]}`,
        url: s.url,
        probeInterval: 5,
        timeout: 10,
        connections: 2,
        tlsVerify: true,
        ca: '',
      })),
      { id: 'ui-config', type: 'pfcam-ui-config', name: '', store: 'store', timeZone: 'UTC', retention: '' },
      { id: 'uitab', type: 'ui_tab', name: 'Home', icon: 'dashboard', order: 1 },
      { id: 'uigroup', type: 'ui_group', name: 'G', tab: 'uitab', order: 1, width: 12 },
      {
        id: 'live',
        type: 'pfcam-ui-live',
        z: 'tab',
        group: 'uigroup',
        order: 3,
        width: 12,
        height: 6,
        wires: [],
      },
      {
        id: 'outcome-text',
        type: 'ui_text',
        z: 'tab',
        group: 'uigroup',
        order: 2,
        label: 'guard outcome',
        format: '{{msg.payload}}',
        layout: 'row-spread',
        wires: [],
      },
      {
        id: 'caught',
        type: 'catch',
        z: 'tab',
        scope: GUARDED.flatMap((g) => [g.plain, g.cam]),
        uncaught: false,
        wires: [['denied']],
      },
      {
        id: 'denied',
        type: 'change',
        z: 'tab',
        rules: [
          {
            t: 'set',
            p: 'payload',
            pt: 'msg',
            to: '$string({"guard": error.source.id, "key": payload, "clicker": meta.clicker, "outcome": "denied", "socket": socketid})',
            tot: 'jsonata',
          },
        ],
        wires: [['outcome-text']],
      },
    ];
    const button = (id: string, payload: string, targets: string[]): Record<string, unknown> => ({
      id,
      type: 'ui_button',
      z: 'tab',
      group: 'uigroup',
      order: 1,
      label: `click ${id}`,
      payload,
      payloadType: 'str',
      topic: '',
      wires: [targets],
    });
    nodes.push(
      button(
        'button-plain',
        'plain',
        GUARDED.map((g) => g.plain),
      ),
      button(
        'button-a',
        serialA,
        GUARDED.map((g) => g.cam),
      ),
      button(
        'button-b',
        serialB,
        GUARDED.map((g) => g.cam),
      ),
    );
    for (const g of GUARDED) {
      for (const [id, camera] of [
        [g.plain, ''],
        [g.cam, 'payload'],
      ] as const) {
        nodes.push(
          { id, type: 'pfcam-guard', z: 'tab', permission: g.permission, camera, wires: [[`${id}-passed`]] },
          {
            id: `${id}-passed`,
            type: 'change',
            z: 'tab',
            rules: [
              {
                t: 'set',
                p: 'payload',
                pt: 'msg',
                to: `$string({"guard": "${id}", "key": payload, "clicker": meta.clicker, "outcome": "passed", "socket": socketid, "user": user.name})`,
                tot: 'jsonata',
              },
            ],
            wires: [['outcome-text']],
          },
        );
      }
    }
    return nodes;
  }

  async function login(who: Account): Promise<Caller> {
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
    const cookie = /pfcam\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    return {
      label: `${who.role} ${who.name}${who.cameras ? ` (cameras ${who.cameras.join(',')})` : ''}`,
      principal: { kind: 'user', id: 0, name: who.name, role: who.role, cameras: who.cameras },
      headers: { cookie },
      csrf: csrfToken,
    };
  }

  const ANONYMOUS: Caller = {
    label: 'no session',
    principal: { kind: 'user', id: 0, name: '', cameras: null },
    headers: {},
  };

  /** One API request as `who`; a session's state change carries its CSRF token and the same Origin. */
  async function call(
    who: Caller,
    method: string,
    path: string,
    body?: unknown,
    csrf: 'send' | 'omit' | 'foreign-origin' = 'send',
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...who.headers };
    if (method !== 'GET' && who.csrf !== undefined) {
      if (csrf !== 'omit') headers['x-csrf-token'] = who.csrf;
      headers['origin'] = csrf === 'foreign-origin' ? FOREIGN_ORIGIN : base;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}/pfcam/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // a live stream never ends: its status is the answer
    if ((res.headers.get('content-type') ?? '').startsWith('multipart/')) {
      await res.body?.cancel();
      return { status: res.status, text: '' };
    }
    return { status: res.status, text: await res.text() };
  }

  /** The concrete request of a route for a camera: path parameters filled in, the harmless body. */
  function requestFor(
    route: RouteView,
    serial: string,
  ): { path: string; body?: unknown; endsSession: boolean } {
    const key = `${route.method} ${route.path}`;
    const harmless = route.method === 'GET' ? {} : HARMLESS[key];
    if (!harmless)
      throw new Error(
        `${key} changes state and the matrix knows no harmless request for it: add one to HARMLESS`,
      );
    const path = route.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
      const value = harmless.params?.[name] ?? defaultParam(route.path, name, serial);
      return encodeURIComponent(value);
    });
    return { path, body: harmless.body, endsSession: harmless.endsSession === true };
  }

  function defaultParam(path: string, name: string, serial: string): string {
    if (name === 'serial' || name === 'camera') return serial;
    if (name === 'id') return path.startsWith('/recordings/') ? String(recordingOf[serial]) : UNKNOWN_ID;
    if (name === 'handle') return 'no-such-session';
    if (name === 'resource') return 'exposure';
    throw new Error(`the matrix has no value for :${name} of ${path}`);
  }

  interface Cell {
    who: Caller;
    route: RouteView;
    serial: string;
  }

  /** Sends every cell and checks each answer against its expectation; all mismatches are reported together. */
  async function check(cells: readonly Cell[]): Promise<void> {
    const wrong = (
      await inBatches(cells, async ({ who, route, serial }) => {
        const want = expectation(who.principal, route, serial);
        const req = requestFor(route, serial);
        const got = await call(who, route.method, req.path, req.body);
        const ok =
          want === 'allowed'
            ? got.status !== 401 && got.status !== 403
            : want === 'forbidden'
              ? got.status === 403
              : got.status === 403 || got.status === 404;
        return ok
          ? undefined
          : `${who.label}: ${route.method} ${req.path} answered ${got.status}, expected ${want}: ${got.text.slice(0, 160)}`;
      })
    ).filter((w): w is string => w !== undefined);
    assert.deepEqual(wrong, [], `${wrong.length} of ${cells.length} cells differ from the table`);
  }

  const notEnding = (r: RouteView): boolean => !requestFor(r, serialA).endsSession;

  /** Every route answers 401 to this caller. */
  async function allUnauthenticated(who: Caller): Promise<void> {
    const wrong = (
      await inBatches(routes, async (route) => {
        const req = requestFor(route, serialA);
        const got = await call(who, route.method, req.path, req.body);
        return got.status === 401 ? undefined : `${route.method} ${req.path} answered ${got.status}`;
      })
    ).filter((w): w is string => w !== undefined);
    assert.deepEqual(wrong, [], `${who.label}: not every route answered 401`);
  }

  // ------------------------------------------------------------------------------------------------- tests

  it('lists every served route to an admin, each with a permission of the map, from all three route owners', () => {
    assert.ok(routes.length > 0);
    const unknown = routes
      .filter((r) => !isPermission(r.permission))
      .map((r) => `${r.method} ${r.path}: ${r.permission}`);
    assert.deepEqual(unknown, [], 'routes whose permission is not in PERMISSIONS');
    const owners = new Set(routes.map((r) => r.owner.replace(/:.*$/, '')));
    for (const owner of ['pfcam-security', 'pfcam-ui-config', 'pfcam-live'])
      assert.ok(owners.has(owner), `no route of ${owner} is served`);
    assert.ok(
      routes.some((r) => r.method === 'GET' && r.path === '/routes' && r.permission === 'system:manage'),
    );
    // every route has the request the matrix sends (a state-changing route without one fails here)
    for (const r of routes) requestFor(r, serialA);
  });

  it('answers 401 on every route without a session or token', async () => {
    await allUnauthenticated(ANONYMOUS);
  });

  it('allows or refuses viewer, manager and admin on every route exactly as ROLE_PERMISSIONS says', async () => {
    const cells: Cell[] = [];
    for (const key of ['viewer', 'manager', 'admin'] as const)
      for (const route of routes.filter(notEnding)) cells.push({ who: callers[key], route, serial: serialA });
    // every role of the map is in the matrix
    assert.deepEqual([...new Set(cells.map((c) => c.who.principal.role))].sort(), [...ROLES].sort());
    await check(cells);
  });

  it('keeps the viewer limited to camera A inside it: allowed on camera A, refused (403/404) on camera B', async () => {
    const limited = callers.limited;
    const cells: Cell[] = routes.filter(notEnding).map((route) => ({ who: limited, route, serial: serialA }));
    for (const route of routes.filter((r) => r.cameraScoped && notEnding(r)))
      cells.push({ who: limited, route, serial: serialB });
    assert.ok(
      cells.some(
        (c) => c.serial === serialB && expectation(limited.principal, c.route, serialB) === 'outside-scope',
      ),
    );
    await check(cells);
    // the lists show camera A only
    const cameras = JSON.parse((await call(limited, 'GET', '/cameras')).text) as {
      cameras: { serial?: string; serialNumber?: string }[];
    };
    const live = JSON.parse((await call(limited, 'GET', '/live/cameras')).text) as {
      cameras: { serial: string }[];
    };
    assert.deepEqual(
      live.cameras.map((c) => c.serial),
      [serialA],
    );
    assert.equal(JSON.stringify(cameras).includes(serialB), false, 'GET /cameras names camera B');
    const recordings = await call(limited, 'GET', '/recordings');
    assert.equal(recordings.status, 200);
    assert.equal(recordings.text.includes(serialB), false, 'GET /recordings lists camera B');
    assert.equal(recordings.text.includes(serialA), true);
  });

  it('allows an API token of each scope only the routes of that permission, never an account, user, token or audit route', async () => {
    assert.equal(tokenCallers.length, TOKEN_SCOPES.length);
    const cells: Cell[] = [];
    for (const who of tokenCallers) for (const route of routes) cells.push({ who, route, serial: serialA });
    // the table itself never lets a token manage accounts, users, tokens or the audit log
    for (const c of cells)
      if (/^\/(account|users|tokens|audit|routes)(\/|$)/.test(c.route.path))
        assert.equal(
          expectation(c.who.principal, c.route, serialA),
          'forbidden',
          `${c.who.label} ${c.route.path}`,
        );
    await check(cells);
  });

  it('refuses every state-changing route with a session but without the CSRF token, or from a foreign Origin', async () => {
    const admin = callers.admin;
    const changing = routes.filter((r) => r.method !== 'GET');
    assert.ok(changing.length > 0);
    const wrong = (
      await inBatches(
        changing.flatMap((route) => (['omit', 'foreign-origin'] as const).map((csrf) => ({ route, csrf }))),
        async ({ route, csrf }) => {
          const req = requestFor(route, serialA);
          const got = await call(admin, route.method, req.path, req.body, csrf);
          return got.status === 403 && /CSRF/.test(got.text)
            ? undefined
            : `${route.method} ${req.path} (${csrf}) answered ${got.status}: ${got.text.slice(0, 120)}`;
        },
      )
    ).filter((w): w is string => w !== undefined);
    assert.deepEqual(wrong, []);
    // the admin's session is still there (nothing above ended it)
    assert.equal((await call(admin, 'GET', '/session')).status, 200);
  });

  it('lets a dashboard action through each pfcam-guard exactly when isAllowed says so, whatever socketid the page sends', async () => {
    const connect = (headers: Record<string, string>): Socket => {
      const socket = io(base, {
        path: '/ui/socket.io',
        extraHeaders: headers,
        reconnection: false,
        forceNew: true,
      });
      sockets.push(socket);
      return socket;
    };
    const opened = (socket: Socket): Promise<string> =>
      waitFor('the socket connecting or being refused', 10_000, (done) => {
        socket.once('connect', () => done('connected'));
        socket.once('connect_error', (err: Error) => done(`refused: ${err.message}`));
      });
    // no session, and a session from a foreign origin: no socket at all
    assert.match(await opened(connect({ origin: base })), /^refused: login required/);
    assert.match(
      await opened(connect({ ...callers.viewer.headers, origin: FOREIGN_ORIGIN })),
      /^refused: cross-origin/,
    );

    const who = [callers.viewer, callers.manager, callers.admin, callers.limited];
    const open = who.map((c) => connect({ ...c.headers, origin: base }));
    assert.deepEqual(
      await Promise.all(open.map(opened)),
      who.map(() => 'connected'),
    );
    const clicks = [
      { button: 'button-plain', key: 'plain', camera: undefined },
      { button: 'button-a', key: serialA, camera: serialA },
      { button: 'button-b', key: serialB, camera: serialB },
    ] as const;
    // The page tags its clicks (msg.meta, which the dashboard passes on) so that the test knows whose click each
    // outcome is; the outcome text goes to every page, with the socket id and user the guard saw.
    interface Outcome {
      guard: string;
      key: string;
      clicker: string;
      outcome: string;
      socket: string;
      user?: string;
    }
    const outcomes = new Map<string, Outcome>();
    const expectedCount = who.length * clicks.length * GUARDED.length;
    const all = waitFor<void>(`the ${expectedCount} guard outcomes`, 20_000, (done) => {
      for (const socket of open)
        socket.on('update-value', (data: { id?: string; msg?: { payload?: unknown } }) => {
          if (data.id !== 'outcome-text') return;
          const o = JSON.parse(String(data.msg?.payload)) as Outcome;
          outcomes.set(`${o.clicker}|${o.guard}|${o.key}`, o);
          if (outcomes.size === expectedCount) done();
        });
    });
    who.forEach((caller, i) => {
      // each page claims to be the next user's socket (a forged socketid)
      const forged = open[(i + 1) % open.length]!.id!;
      for (const c of clicks)
        open[i]!.emit('update-value', {
          id: c.button,
          value: true,
          socketid: forged,
          msg: { socketid: forged },
          meta: { clicker: caller.principal.name },
        });
    });
    await all;
    const wrong: string[] = [];
    who.forEach((caller, i) => {
      for (const g of GUARDED)
        for (const c of clicks) {
          const id = c.camera === undefined ? g.plain : g.cam;
          const o = outcomes.get(`${caller.principal.name}|${id}|${c.key}`);
          const want = isAllowed(caller.principal, g.permission, c.camera) ? 'passed' : 'denied';
          const cell = `${caller.label}: ${g.permission} ${c.key}`;
          if (o?.outcome !== want) wrong.push(`${cell}: ${o?.outcome}, expected ${want}`);
          if (o?.socket !== open[i]!.id) wrong.push(`${cell}: the guard saw socket ${o?.socket}`);
          if (o?.outcome === 'passed' && o.user !== caller.principal.name)
            wrong.push(`${cell}: passed as ${o.user}`);
        }
    });
    assert.deepEqual(wrong, []);
  });

  it('ends the session of every role with DELETE /account/sessions (allowed to each): its next request gets 401', async () => {
    const ending = routes.filter((r) => !notEnding(r));
    assert.ok(ending.length > 0);
    for (const key of ['viewer', 'manager', 'admin', 'limited'] as const) {
      const who = callers[key];
      for (const route of ending) {
        assert.equal(expectation(who.principal, route, serialA), 'allowed');
        const req = requestFor(route, serialA);
        const got = await call(who, route.method, req.path, req.body);
        assert.equal(got.status, 200, `${who.label}: ${route.method} ${req.path}: ${got.text}`);
      }
      alive.delete(who);
      assert.equal((await call(who, 'GET', '/session')).status, 401, who.label);
    }
  });

  it('answers 401 on every route to a session after its logout', async () => {
    const who = callers.leaving;
    alive.delete(who);
    const out = await fetch(`${base}/pfcam/logout`, {
      method: 'POST',
      headers: { ...who.headers, 'x-csrf-token': who.csrf ?? '', origin: base },
    });
    assert.equal(out.status, 200);
    await allUnauthenticated(who);
  });

  it('answers 401 on every route to a session idle for longer than PFCAM_SESSION_IDLE_SECONDS', async () => {
    // Expiry is a matter of time: the session has had no request since the start; let the idle time pass.
    await sleep(Math.max(0, idleLastSeen + IDLE_SECONDS * 1000 + 500 - Date.now()));
    // its open socket was cut by the expiry sweep, with no request on the session
    assert.equal(await idleSocketDropped, 'io server disconnect');
    await allUnauthenticated(callers.idle);
  });
});
