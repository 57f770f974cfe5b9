/**
 * `pfcam-ui-live`: the live view widget of the dashboard (node-red-dashboard 3.x): a grid of every camera the
 * signed-in user may watch, a live panel per camera. It serves the front end, registers the live API routes
 * with the dashboard API and the fMP4 WebSocket on Node-RED's HTTP server, and sets the relay's frame-rate cap.
 * Wiring only: the relay is lib/live, the routes dashboard/api/live-routes.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ApiRoute } from '../../dashboard/api/api-route';
import { createLiveApi, type LiveSecurity } from '../../dashboard/api/live-routes';
import { cameras } from '../../lib/cameras/camera-registry';
import { liveHub } from '../../lib/live/live-hub';
import { liveUiOptions, liveWidgetHtml, type LiveUiOptions } from '../../lib/live/live-ui-options';
import { handleClose } from '../shared/input';
import { Status } from '../shared/status';

interface LiveUiNodeDef extends NodeDef {
  group?: string;
  mode?: string;
  maxFps?: string | number;
  width?: string | number;
  height?: string | number;
  order?: string | number;
}

interface DashboardUi {
  addWidget(options: Record<string, unknown>): (() => void) | undefined;
}

type RegisterRoutes = (owner: string, routes: readonly ApiRoute[]) => () => void;

export const SCRIPT_PATH = '/pfcam/ui/live/live-view.js';

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

function dashboardUi(RED: NodeAPI): DashboardUi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const factory = require('node-red-dashboard') as (red: NodeAPI) => DashboardUi;
    return factory(RED);
  } catch {
    return undefined;
  }
}

let scriptServed = false;

export default function (RED: NodeAPI): void {
  function PfcamUiLiveNode(this: Node, def: LiveUiNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  function serveScript(): void {
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

  function start(node: Node, def: LiveUiNodeDef): void {
    const status = new Status(node, RED);
    let options: LiveUiOptions;
    try {
      options = liveUiOptions(def as unknown as Record<string, unknown>);
    } catch (err) {
      status.failed(err);
      node.error(err instanceof Error ? err.message : String(err));
      return;
    }
    liveHub.setDefaultMaxFps(options.maxFps);
    const settings = RED.settings as unknown as { pfcam?: { security?: LiveSecurity } };
    const security = settings.pfcam?.security;
    const api = createLiveApi({ cameras, hub: liveHub, security });
    const server = (RED as unknown as { server?: Server }).server;
    if (server) api.attach(server);
    const register = routeRegistry();
    const unregister = register ? register('pfcam-ui-live', api.routes) : undefined;
    serveScript();

    const ui = dashboardUi(RED);
    const removeWidget = ui?.addWidget({
      node,
      group: def.group,
      order: options.order,
      width: options.width || undefined,
      height: options.height || undefined,
      format: liveWidgetHtml(options, SCRIPT_PATH),
      templateScope: 'local',
      emitOnlyNewValues: false,
      forwardInputMessages: false,
      storeFrontEndInputAsState: false,
      persistantFrontEndValue: false,
    });

    if (!security || !unregister) status.text('red', 'ring', RED._('pfcam-ui-live.status.noSecurity'));
    else if (!ui) status.text('red', 'ring', RED._('pfcam-ui-live.status.noDashboard'));
    else status.text('green', 'dot', RED._('pfcam-ui-live.status.ready'));

    let closed = false;
    handleClose(node, () => {
      if (closed) return;
      closed = true;
      unregister?.();
      api.close();
      removeWidget?.();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-ui-live', PfcamUiLiveNode);
}
