/**
 * The live view's server side, shared by every node that shows live pictures (`pfcam-ui-live`, and the
 * Cameras screen `pfcam-ui-cameras`): the live API routes registered once with the dashboard API, the fMP4
 * WebSocket on Node-RED's HTTP server, and the front end script. Reference-counted: made by the first node that
 * needs it, closed when the last one closes. Wiring only: the relays are lib/live, the routes dashboard/api.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import type { ApiRoute } from '../../dashboard/api/api-route';
import { createLiveApi, type LiveApi, type LiveSecurity } from '../../dashboard/api/live-routes';
import { cameras } from '../../lib/cameras/camera-registry';
import { liveHub } from '../../lib/live/live-hub';

export const SCRIPT_PATH = '/pfcam/ui/live/live-view.js';

type RegisterRoutes = (owner: string, routes: readonly ApiRoute[]) => () => void;

/** The dashboard API's route registry, once the security module provides it (dashboard/api/registry). */
function routeRegistry(): RegisterRoutes | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(__dirname, '..', '..', 'dashboard', 'api', 'registry')) as {
      registerRoutes?: RegisterRoutes;
    };
    return typeof mod.registerRoutes === 'function' ? mod.registerRoutes : undefined;
  } catch {
    return undefined;
  }
}

let scriptServed = false;

function serveScript(RED: NodeAPI): void {
  if (scriptServed || !(RED.httpNode as unknown)) return;
  scriptServed = true;
  const file = join(__dirname, '..', '..', 'dashboard', 'ui', 'live', 'live-view.js');
  RED.httpNode.get(SCRIPT_PATH, (_req, res) => {
    let body: string;
    try {
      body = readFileSync(file, 'utf8');
    } catch {
      res.status(404).end();
      return;
    }
    res.set('Content-Type', 'text/javascript; charset=utf-8');
    res.set('Cache-Control', 'no-cache');
    res.set('X-Content-Type-Options', 'nosniff');
    res.send(body);
  });
}

interface Shared {
  api: LiveApi;
  unregister: (() => void) | undefined;
  security: LiveSecurity | undefined;
  users: number;
}

let shared: Shared | undefined;

export interface LiveWiring {
  /** False when the security module (sessions, route registry) is missing: the live routes are not served. */
  readonly served: boolean;
  release(): void;
}

/** Takes a reference on the live view's server side (made on the first); `release` is idempotent. */
export function acquireLive(RED: NodeAPI): LiveWiring {
  if (!shared) {
    const settings = RED.settings as unknown as { pfcam?: { security?: LiveSecurity } };
    const security = settings.pfcam?.security;
    const api = createLiveApi({ cameras, hub: liveHub, security });
    const server = (RED as unknown as { server?: Server }).server;
    if (server) api.attach(server);
    const register = routeRegistry();
    shared = { api, unregister: register?.('pfcam-live', api.routes), security, users: 0 };
  }
  serveScript(RED);
  const mine = shared;
  mine.users++;
  let released = false;
  return {
    served: mine.security !== undefined && mine.unregister !== undefined,
    release(): void {
      if (released) return;
      released = true;
      mine.users--;
      if (mine.users > 0 || shared !== mine) return;
      shared = undefined;
      mine.unregister?.();
      mine.api.close();
    },
  };
}
