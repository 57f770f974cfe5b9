/**
 * `pfcam-ui-live`: the live view widget of the dashboard (node-red-dashboard 3.x): a grid of every camera the
 * signed-in user may watch, a live panel per camera. It serves the front end, registers the live API routes
 * with the dashboard API and the fMP4 WebSocket on Node-RED's HTTP server, and sets the relay's frame-rate cap.
 * Wiring only: the relay is lib/live, the routes dashboard/api/live-routes.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { liveHub } from '../../lib/live/live-hub';
import { liveUiOptions, liveWidgetHtml, type LiveUiOptions } from '../../lib/live/live-ui-options';
import { handleClose } from '../shared/input';
import { Status } from '../shared/status';
import { acquireLive, SCRIPT_PATH } from './live-wiring';

export { SCRIPT_PATH } from './live-wiring';

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

function dashboardUi(RED: NodeAPI): DashboardUi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const factory = require('node-red-dashboard') as (red: NodeAPI) => DashboardUi;
    return factory(RED);
  } catch {
    return undefined;
  }
}

export default function (RED: NodeAPI): void {
  function PfcamUiLiveNode(this: Node, def: LiveUiNodeDef): void {
    RED.nodes.createNode(this, def);
    start(this, def);
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
    const live = acquireLive(RED);

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

    if (!live.served) status.text('red', 'ring', RED._('pfcam-ui-live.status.noSecurity'));
    else if (!ui) status.text('red', 'ring', RED._('pfcam-ui-live.status.noDashboard'));
    else status.text('green', 'dot', RED._('pfcam-ui-live.status.ready'));

    let closed = false;
    handleClose(node, () => {
      if (closed) return;
      closed = true;
      live.release();
      removeWidget?.();
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-ui-live', PfcamUiLiveNode);
}
