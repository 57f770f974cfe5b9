/**
 * The live view's HTTP API (session-checked `ApiRoute`s; the API server authenticates, checks the permission
 * and the camera scope before any handler runs) and its fMP4 WebSocket, which this module authenticates
 * itself on the HTTP server's `upgrade` event, before upgrading: session, same Origin, permission, scope.
 * Cameras are addressed by serial number (what the camera scope lists). Viewers of a revoked session are cut.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { inCameraScope, isAllowed, type Principal } from '../../lib/auth/permissions';
import type { CameraRegistry, RegisteredCamera } from '../../lib/cameras/camera-registry';
import { errorText } from '../../lib/errors';
import type { LiveHub } from '../../lib/live/live-hub';
import { MJPEG_CONTENT_TYPE } from '../../lib/live/mjpeg-relay';
import { API_PREFIX, type ApiRequest, type ApiRoute } from './api-route';

/** What the live API needs of the security runtime (`RED.settings.pfcam.security`). */
export interface LiveSecurity {
  authenticate(req: IncomingMessage): Promise<Principal | undefined>;
  /** Called when a session or user is revoked; returns the unsubscribe function when it gives one. */
  onRevoke(listener: (...args: unknown[]) => void): (() => void) | void;
}

export interface LiveApiDeps {
  cameras: CameraRegistry;
  hub: LiveHub;
  security?: LiveSecurity;
}

const SERIAL = /^[A-Za-z0-9._-]{1,64}$/;

/** An open viewer (MJPEG response or fMP4 socket), re-checked when a session is revoked. */
interface OpenViewer {
  req: IncomingMessage;
  serial: string;
  cut(): void;
}

/** The live view's API: routes, the upgrade handler, and the revocation hook. */
export class LiveApi {
  readonly routes: readonly ApiRoute[];
  private readonly open = new Set<OpenViewer>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private unsubscribeRevoke: (() => void) | undefined;
  private readonly attached = new Set<Server>();
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this.matches(req)) return;
    this.upgrade(req, socket, head).catch(() => refuse(socket, 500, 'internal error'));
  };

  constructor(private readonly deps: LiveApiDeps) {
    this.routes = this.makeRoutes();
    const off = deps.security?.onRevoke(() => void this.recheck());
    if (typeof off === 'function') this.unsubscribeRevoke = off;
  }

  /** Serves the fMP4 WebSocket on `server`'s upgrade event (other paths are left to their owners). */
  attach(server: Server): void {
    if (this.attached.has(server)) return;
    this.attached.add(server);
    server.on('upgrade', this.onUpgrade);
  }

  /** Detaches, closes every viewer; idempotent. */
  close(): void {
    for (const server of this.attached) server.off('upgrade', this.onUpgrade);
    this.attached.clear();
    for (const viewer of [...this.open]) viewer.cut();
    this.open.clear();
    this.unsubscribeRevoke?.();
    this.unsubscribeRevoke = undefined;
    this.wss.close();
  }

  /** Viewers open right now (tests, metrics). */
  get openViewers(): number {
    return this.open.size;
  }

  /** Re-authenticates every open viewer and cuts those no longer allowed (after a revocation). */
  async recheck(): Promise<void> {
    const security = this.deps.security;
    if (!security) return;
    await Promise.all(
      [...this.open].map(async (viewer) => {
        let principal: Principal | undefined;
        try {
          principal = await security.authenticate(viewer.req);
        } catch {
          principal = undefined;
        }
        if (!principal || !isAllowed(principal, 'streams:view', viewer.serial)) viewer.cut();
      }),
    );
  }

  private track(viewer: OpenViewer): () => void {
    this.open.add(viewer);
    return () => this.open.delete(viewer);
  }

  private async cameraOf(serial: string | undefined): Promise<RegisteredCamera | undefined> {
    if (serial === undefined || !SERIAL.test(serial)) return undefined;
    return this.deps.cameras.bySerial(serial, { waitMs: 3000 });
  }

  private makeRoutes(): ApiRoute[] {
    const scope = (req: ApiRequest): string | undefined => req.params.camera;
    const notFound = { status: 404, json: { error: 'no such camera' } };
    return [
      {
        method: 'GET',
        path: '/live/cameras',
        permission: 'streams:view',
        summary: 'The cameras the user may watch live, with their live state',
        handler: async (req) => {
          const all = this.deps.cameras.list();
          await Promise.race([
            Promise.allSettled(
              all.filter((c) => c.serialNumber === undefined).map((c) => c.health.probeNow()),
            ),
            new Promise((resolve) => setTimeout(resolve, 3000).unref()),
          ]);
          const cameras = all
            .filter((c) => c.serialNumber !== undefined && inCameraScope(req.principal, c.serialNumber))
            .map((c) => ({
              serial: c.serialNumber!,
              name: c.displayName,
              ...this.deps.hub.state(c),
            }));
          return {
            json: {
              cameras,
              fmp4: this.deps.hub.fmp4Supported,
              canRecord: isAllowed(req.principal, 'events:trigger'),
            },
          };
        },
      },
      {
        method: 'GET',
        path: '/live/:camera/state',
        permission: 'streams:view',
        camera: scope,
        summary: "A camera's live state (connecting, live, reconnecting, offline, idle) and viewer count",
        handler: async (req) => {
          const camera = await this.cameraOf(req.params.camera);
          if (!camera) return notFound;
          return { json: { serial: req.params.camera, ...this.deps.hub.state(camera) } };
        },
      },
      {
        method: 'GET',
        path: '/live/:camera/mjpeg',
        permission: 'streams:view',
        camera: scope,
        summary: "A camera's live MJPEG stream, relayed (one upstream connection per camera)",
        handler: async (req, res) => {
          const camera = await this.cameraOf(req.params.camera);
          if (!camera) return notFound;
          const relay = this.deps.hub.mjpeg(camera);
          res.writeHead(200, {
            'Content-Type': MJPEG_CONTENT_TYPE,
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
          });
          res.flushHeaders();
          const untrack = this.track({
            req: req.raw,
            serial: req.params.camera!,
            cut: () => res.destroy(),
          });
          const viewer = relay.addViewer(res);
          res.once('close', () => {
            untrack();
            viewer.close();
          });
          return { streamed: true };
        },
      },
      {
        method: 'GET',
        path: '/live/:camera/snapshot',
        permission: 'streams:view',
        camera: scope,
        summary: 'One JPEG of the camera now (its snapshot URL, else the live stream)',
        handler: async (req, res) => {
          const camera = await this.cameraOf(req.params.camera);
          if (!camera) return notFound;
          let jpeg: Buffer;
          try {
            jpeg = await this.deps.hub.snapshot(camera);
          } catch (error) {
            return { status: 502, json: { error: `the camera gave no picture: ${errorText(error)}` } };
          }
          res.writeHead(200, {
            'Content-Type': 'image/jpeg',
            'Content-Length': jpeg.length,
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
          });
          res.end(jpeg);
          return { streamed: true };
        },
      },
      {
        method: 'POST',
        path: '/live/:camera/snapshot/record',
        permission: 'events:trigger',
        camera: scope,
        audit: true,
        summary: 'Save as recording: triggers an event on the camera',
        handler: async (req) => {
          const camera = await this.cameraOf(req.params.camera);
          if (!camera) return notFound;
          const eventName = `live-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
          try {
            await camera.client.triggerEvent({ eventName, overlayText: req.principal.name.slice(0, 64) });
          } catch (error) {
            return { status: 502, json: { error: `the camera refused the recording: ${errorText(error)}` } };
          }
          return { status: 202, json: { eventName } };
        },
      },
    ];
  }

  private matches(req: IncomingMessage): boolean {
    return /^\/pfcam\/api\/live\/[^/]+\/fmp4(?:\?.*)?$/.test(req.url ?? '');
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const security = this.deps.security;
    if (!security) return refuse(socket, 503, 'the live view needs the security module');
    if (!sameOrigin(req)) return refuse(socket, 403, 'cross-origin');
    const principal = await security.authenticate(req);
    if (!principal) return refuse(socket, 401, 'sign in first');
    const serial = decodeURIComponent(
      (req.url ?? '').slice(`${API_PREFIX}/live/`.length).split('/')[0] ?? '',
    );
    if (!isAllowed(principal, 'streams:view', serial)) return refuse(socket, 403, 'not allowed');
    const camera = await this.cameraOf(serial);
    if (!camera) return refuse(socket, 404, 'no such camera');
    const relay = await this.deps.hub.fmp4(camera).catch(() => undefined);
    if (!relay) return refuse(socket, 404, 'no RTSP stream (use the MJPEG stream)');
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const viewer = relay.addViewer(ws);
      const untrack = this.track({ req, serial, cut: () => ws.terminate() });
      ws.on('message', () => undefined);
      ws.once('close', () => {
        untrack();
        relay.removeViewer(viewer);
      });
      ws.on('error', () => ws.terminate());
    });
  }
}

/** True when the request's Origin is the host it was sent to (browsers always send Origin on WebSockets). */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const reason =
    {
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/** The live API over the process registry and hub (the widget node makes one). */
export function createLiveApi(deps: LiveApiDeps): LiveApi {
  return new LiveApi(deps);
}
