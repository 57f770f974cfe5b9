/**
 * Set-up of the live view specs: simulated cameras registered like `pfcam-camera` registers them (a real
 * client and health probe), an API server that serves `ApiRoute`s the way the security module's server does
 * (Bearer token -> principal, 401 / 403 / scope from `route.camera`), a small security runtime (authenticate,
 * revoke), hostile MJPEG upstreams, and waits on conditions (no sleeps).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAllowed, type Principal } from '../../lib/auth/permissions';
import { CameraClient } from '../../lib/camera/camera-client';
import { CameraHealth } from '../../lib/camera/camera-health';
import type { RegisteredCamera } from '../../lib/cameras/camera-registry';
import { API_PREFIX, type ApiRoute } from '../../dashboard/api/api-route';
import type { LiveSecurity } from '../../dashboard/api/live-routes';
import type { SimulatedCamera } from '../../simulator';

/** Resolves once `check()` is true (checked every 20 ms), rejects after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A simulated camera registered as `pfcam-camera` does: real client, probed once. */
export async function registerSimulated(
  sim: SimulatedCamera,
  id = `cam-${sim.port}`,
): Promise<RegisteredCamera & { close(): Promise<void> }> {
  const client = new CameraClient({
    baseUrl: sim.url,
    retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    timeouts: { connectMs: 2000, headersMs: 2000, bodyMs: 5000, requestMs: 5000 },
  });
  const health = new CameraHealth((signal) => client.getSystemInfo({ signal }), { intervalMs: 60_000 });
  await health.probeNow();
  return {
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
    exclusive: (work) => work(),
    close: async () => {
      health.stop();
      await client.close();
    },
  };
}

export const VIEWER = (cameras: string[] | null = null): Principal => ({
  kind: 'user',
  id: 2,
  name: 'vera',
  role: 'viewer',
  cameras,
});
export const MANAGER: Principal = { kind: 'user', id: 3, name: 'max', role: 'manager', cameras: null };

/** Tokens -> principals; `revoke` drops one and tells the listeners, as the security module does. */
export class TestSecurity implements LiveSecurity {
  private readonly tokens = new Map<string, Principal>();
  private readonly listeners = new Set<(...args: unknown[]) => void>();

  grant(token: string, principal: Principal): void {
    this.tokens.set(token, principal);
  }

  revoke(token: string): void {
    const principal = this.tokens.get(token);
    this.tokens.delete(token);
    for (const listener of this.listeners) listener(principal);
  }

  authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    const header = req.headers.authorization ?? '';
    const cookie = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const token = header.startsWith('Bearer ') ? header.slice(7) : cookie;
    return Promise.resolve(token === undefined ? undefined : this.tokens.get(token));
  }

  onRevoke(listener: (...args: unknown[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function matchRoute(route: ApiRoute, path: string): Record<string, string> | undefined {
  const want = route.path.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(got[i]!);
    else if (w !== got[i]) return undefined;
  }
  return params;
}

/** An HTTP server serving `routes` under API_PREFIX with the security module's checks. */
export async function startApiServer(
  routes: () => readonly ApiRoute[],
  security: TestSecurity,
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      if (extra?.(req, res)) return;
      const url = new URL(req.url ?? '/', 'http://x');
      if (!url.pathname.startsWith(API_PREFIX)) return send(res, 404, { error: 'not found' });
      const path = url.pathname.slice(API_PREFIX.length);
      for (const route of routes()) {
        if (route.method !== req.method) continue;
        const params = matchRoute(route, path);
        if (!params) continue;
        const principal = await security.authenticate(req);
        if (!principal) return send(res, 401, { error: 'sign in' });
        if (!isAllowed(principal, route.permission)) return send(res, 403, { error: 'forbidden' });
        const apiReq = {
          principal,
          params,
          query: Object.fromEntries(url.searchParams),
          body: undefined,
          ip: req.socket.remoteAddress ?? '',
          raw: req,
        };
        if (route.camera) {
          const serial = await route.camera(apiReq);
          if (serial === undefined || !isAllowed(principal, route.permission, serial)) {
            return send(res, 403, { error: 'outside your cameras' });
          }
        }
        const result = await route.handler(apiReq, res);
        if ('json' in result) send(res, result.status ?? 200, result.json);
        return;
      }
      send(res, 404, { error: 'not found' });
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, json: unknown): void {
  const body = JSON.stringify(json);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A JPEG-looking frame of `size` bytes (SOI ... EOI). */
export function fakeJpeg(size: number, fill = 0x55): Buffer {
  const frame = Buffer.alloc(Math.max(4, size), fill);
  frame[0] = 0xff;
  frame[1] = 0xd8;
  frame[frame.length - 2] = 0xff;
  frame[frame.length - 1] = 0xd9;
  return frame;
}

/** A real HTTP server whose one route answers `multipart/x-mixed-replace` and lets the test write the body. */
export async function startMjpegUpstream(
  onStream: (res: ServerResponse) => void,
): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = createServer((_req, res) => {
    connections++;
    res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame' });
    onStream(res);
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stream`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
