/**
 * Fixtures of the dashboard specs: fixed principals (viewer, manager, admin, a viewer limited to one camera), a
 * camera registered the way `pfcam-camera` registers one (real client, real health probe on a simulated camera),
 * stored recordings with real files, and a small API server that serves `ApiRoute`s with a principal chosen by a
 * test header, checking each route's permission and camera scope like the security module's server does.
 * This server is a test fixture only: the application serves the routes through the security module.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { dirname } from 'node:path';
import { isAllowed, type Principal } from '../../lib/auth/permissions';
import { CameraClient } from '../../lib/camera/camera-client';
import { CameraHealth } from '../../lib/camera/camera-health';
import { WriteLock } from '../../lib/camera/write-lock';
import type { RegisteredCamera } from '../../lib/cameras/camera-registry';
import type { EventRecord, EventStore } from '../../lib/store/event-store';
import { API_PREFIX, type ApiRequest, type ApiRoute } from '../../dashboard/api/api-route';
import type { SimulatedCamera } from '../../simulator';

export const PRINCIPALS = {
  viewer: { kind: 'user', id: 1, name: 'vera', role: 'viewer', cameras: null },
  manager: { kind: 'user', id: 2, name: 'max', role: 'manager', cameras: null },
  admin: { kind: 'user', id: 3, name: 'ada', role: 'admin', cameras: null },
} satisfies Record<string, Principal>;

/** A viewer (or any role) limited to the given cameras. */
export function scopedPrincipal(
  cameras: string[],
  role: 'viewer' | 'manager' | 'admin' = 'viewer',
): Principal {
  return { kind: 'user', id: 9, name: 'scoped', role, cameras };
}

export interface TestCamera {
  camera: RegisteredCamera;
  close(): Promise<void>;
}

/** A camera as the registry holds it, over a simulated camera (fast probe). */
export async function registeredCamera(sim: SimulatedCamera, id = 'cam-1'): Promise<TestCamera> {
  const client = new CameraClient({ baseUrl: sim.url, timeouts: { requestMs: 3_000 } });
  const health = new CameraHealth((signal) => client.getSystemInfo({ signal, timeoutMs: 2_000 }), {
    intervalMs: 200,
    restartSettleMs: 1_000,
  });
  const lock = new WriteLock();
  health.start();
  await health.probeNow();
  const camera: RegisteredCamera = {
    id,
    get displayName() {
      return health.snapshot.name ?? id;
    },
    get serialNumber() {
      return health.snapshot.serialNumber;
    },
    client,
    health,
    get snapshot() {
      return health.snapshot;
    },
    exclusive: (work) => lock.run(work),
  };
  return {
    camera,
    async close() {
      health.stop();
      await client.close();
    },
  };
}

/** Records a recording and stores a real video (and thumbnail) file for it. */
export async function storedRecording(
  store: EventStore,
  serial: string,
  fileName: string,
  options: { triggeredAt?: string; eventName?: string | null; video?: Buffer } = {},
): Promise<EventRecord> {
  const { event } = await store.recordDiscovered(serial, {
    fileName,
    eventName: options.eventName ?? null,
    triggeredAt: options.triggeredAt ?? '2026-12-01T10:00:00Z',
    vidExt: '.mp4',
    thmbExt: '.jpg',
    playbackTime: 10,
    age: 5,
    dir: options.eventName ? 'named' : 'unnamed',
  });
  const video = options.video ?? Buffer.from(`video of ${fileName} `.repeat(64));
  const thumb = Buffer.from(`thumb of ${fileName}`);
  const files = { video: `${serial}/${fileName}.mp4`, thumbnail: `${serial}/${fileName}.jpg` };
  for (const [rel, data] of [
    [files.video, video],
    [files.thumbnail, thumb],
  ] as const) {
    const abs = store.media.resolve(rel);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, data);
  }
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  return store.markStored(event.id, {
    video: { path: files.video, size: video.length, sha256: sha(video) },
    thumbnail: { path: files.thumbnail, size: thumb.length, sha256: sha(thumb) },
  });
}

export interface TestApi {
  url: string;
  /** Calls a route as `who` (a principal); JSON bodies; resolves with the status and the parsed JSON or text. */
  call(
    who: Principal | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: unknown; text: string; headers: Headers; bytes: Buffer }>;
  /** Registers a principal; its key as the `test-principal` cookie signs a browser in. */
  signIn(who: Principal): string;
  close(): Promise<void>;
}

function match(route: ApiRoute, path: string): Record<string, string> | undefined {
  const want = route.path.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(g);
    else if (w !== g) return undefined;
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/**
 * Serves the routes under API_PREFIX. The principal is the one registered for the `x-test-principal` header
 * (none: 401); permission and camera scope are checked as the route declares them (403).
 */
export async function startTestApi(
  routes: readonly ApiRoute[],
  options: { files?: Readonly<Record<string, { type: string; body: string | Buffer }>> } = {},
): Promise<TestApi> {
  const principals = new Map<string, Principal>();
  let next = 0;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const file = options.files?.[url.pathname];
      if (file) {
        res.writeHead(200, { 'Content-Type': file.type });
        res.end(file.body);
        return;
      }
      const path = url.pathname.startsWith(API_PREFIX) ? url.pathname.slice(API_PREFIX.length) : '';
      let found: { route: ApiRoute; params: Record<string, string> } | undefined;
      for (const route of routes) {
        const method = req.method === 'HEAD' ? 'GET' : req.method;
        const params = route.method === method ? match(route, path) : undefined;
        if (params) {
          found = { route, params };
          break;
        }
      }
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!found) return send(404, { error: 'no route' });
      const cookie = /(?:^|;\s*)test-principal=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const principal = principals.get(String(req.headers['x-test-principal'] ?? cookie ?? ''));
      if (!principal) return send(401, { error: 'unauthenticated' });
      const api: ApiRequest = {
        principal,
        params: found.params,
        query: Object.fromEntries(url.searchParams),
        body: await readBody(req),
        ip: '127.0.0.1',
        raw: req,
      };
      if (!isAllowed(principal, found.route.permission)) return send(403, { error: 'forbidden' });
      if (found.route.camera) {
        const serial = await found.route.camera(api);
        if (serial !== undefined && !isAllowed(principal, found.route.permission, serial))
          return send(403, { error: 'camera scope' });
      }
      const result = await found.route.handler(api, res);
      if ('json' in result) send(result.status ?? 200, result.json);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    async call(who, method, path, body, headers = {}) {
      const h: Record<string, string> = { ...headers };
      if (who) {
        const key = `p${next++}`;
        principals.set(key, who);
        h['x-test-principal'] = key;
      }
      if (body !== undefined) h['content-type'] = 'application/json';
      const res = await fetch(url + API_PREFIX + path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      const text = bytes.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text, headers: res.headers, bytes };
    },
    signIn(who) {
      const key = `p${next++}`;
      principals.set(key, who);
      return key;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
