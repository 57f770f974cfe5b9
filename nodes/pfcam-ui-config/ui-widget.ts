/**
 * The shared shape of the dashboard's screen widgets (`pfcam-ui-overview`, `-recordings`, ...): a
 * node-red-dashboard widget (the widget API third-party widgets use) whose front end is our module
 * `dashboard/ui/pfcam-ui.mjs`, mounted in a static element. The widget carries no data: the page fetches from
 * the session-checked API; the only thing sent over the dashboard's socket is "changed" (+ a camera serial).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { handleClose } from '../shared/input';
import { Status } from '../shared/status';
import { ASSET_PATH } from './pfcam-ui-config';
import { isUiConfigHandle, pushOf, type ChangePush } from './ui-config-handle';

/** The widgets' texts live in the config node's catalog. */
const CATALOG = '@pfcam/node-red-pfcam/pfcam-ui-config:pfcam-ui-config.';

export const SCREENS = [
  'overview',
  'recordings',
  'cameras',
  'camera-settings',
  'alerts',
  'system',
  'account',
  'users',
  'audit',
] as const;
export type Screen = (typeof SCREENS)[number];

/** The screens of account, user and audit management: their front end is `security-screens.mjs`. */
const SECURITY_SCREENS: ReadonlySet<Screen> = new Set<Screen>(['account', 'users', 'audit']);

/** The front-end module that mounts a screen. */
export function screenModule(screen: Screen): string {
  return SECURITY_SCREENS.has(screen) ? 'security-screens.mjs' : 'pfcam-ui.mjs';
}

interface WidgetDef extends NodeDef {
  group: string;
  config: string;
  order?: number | string;
  width?: number | string;
  height?: number | string;
}

interface DashboardWidgetApi {
  addWidget(options: Record<string, unknown>): () => void;
}

/** node-red-dashboard's widget API (the dashboard installed beside Node-RED). */
function dashboardApi(RED: NodeAPI): DashboardWidgetApi | undefined {
  const load = (RED as unknown as { require?: (m: string) => unknown }).require;
  for (const get of [
    () => load?.('node-red-dashboard'), // eslint-disable-next-line @typescript-eslint/no-require-imports -- the dashboard is an optional peer, loaded when present
    () => require('node-red-dashboard') as unknown,
  ]) {
    try {
      const factory = get();
      if (typeof factory === 'function') return (factory as (r: NodeAPI) => DashboardWidgetApi)(RED);
    } catch {
      // try the next way
    }
  }
  return undefined;
}

/** The static markup of a widget: an element the front-end module mounts into. No data, no expressions. */
export function widgetFormat(nodeId: string, screen: Screen): string {
  const id = nodeId.replace(/[^A-Za-z0-9._-]/g, '');
  return `<div class="pfcam-screen" data-pfcam-node="${id}" data-pfcam-screen="${screen}" ng-non-bindable></div>`;
}

/**
 * The controller the dashboard evaluates in the page: loads the module, mounts the screen, forwards pushes,
 * unmounts when the scope goes. Values are embedded as JSON literals.
 */
export function widgetController(nodeId: string, screen: Screen, httpNodeRoot: string): string {
  const base = httpNodeRoot.replace(/\/+$/, '');
  const cfg = JSON.stringify({
    node: nodeId.replace(/[^A-Za-z0-9._-]/g, ''),
    screen,
    base,
    asset: `${base}${ASSET_PATH}/${screenModule(screen)}`,
  });
  return `function (scope) {
  var cfg = ${cfg};
  var handle = null;
  var gone = false;
  import(cfg.asset).then(function (m) {
    if (!gone) handle = m.mount(cfg);
  }, function (err) { console.error('pfcam-ui: ' + err); });
  scope.$watch('msg', function (msg) {
    if (handle && msg && msg.payload) handle.push(msg.payload);
  });
  scope.$on('$destroy', function () {
    gone = true;
    if (handle) handle.unmount();
  });
}`;
}

/**
 * Registers one screen widget type. `extra` (optional) runs when a widget starts and returns what undoes it at
 * close (the Cameras screen takes a reference on the live view's routes).
 */
export function registerScreenWidget(
  RED: NodeAPI,
  type: string,
  screen: Screen,
  defaultHeight: number,
  extra?: () => () => void,
): void {
  function PfcamUiWidgetNode(this: Node, def: WidgetDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: WidgetDef): void {
    const status = new Status(node, RED);
    const ui = dashboardApi(RED);
    const config = RED.nodes.getNode(def.config);
    if (!ui) {
      status.text('red', 'ring', RED._(`${CATALOG}errors.noDashboard`));
      return;
    }
    if (!isUiConfigHandle(config)) {
      status.text('red', 'ring', RED._(`${CATALOG}errors.noConfig`));
      return;
    }
    const done = ui.addWidget({
      node,
      group: def.group,
      order: Number(def.order ?? 0) || 0,
      width: Number(def.width ?? 0) || 0,
      height: Number(def.height ?? 0) || defaultHeight,
      format: widgetFormat(node.id, screen),
      templateScope: 'local',
      emitOnlyNewValues: false,
      forwardInputMessages: false,
      storeFrontEndInputAsState: false,
      persistantFrontEndValue: false,
      // Whatever comes in (a recording from the archive, a push of the config node), only this goes out.
      beforeEmit: (msg: unknown) => ({ msg: { payload: { ...pushOf(msg), at: Date.now() } } }),
      initController: widgetController(node.id, screen, RED.settings.httpNodeRoot || '/'),
    });
    const removePush = config.addWidget((change: ChangePush) => {
      node.receive({ payload: change, changed: change.changed });
    });
    const undoExtra = extra?.();
    handleClose(node, () => {
      removePush();
      undoExtra?.();
      done();
    });
  }
  RED.nodes.registerType(type, PfcamUiWidgetNode);
}
