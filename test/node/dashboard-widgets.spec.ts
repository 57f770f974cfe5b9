/**
 * The dashboard widget nodes in the real Node-RED runtime with node-red-dashboard: they register as widgets,
 * serve their front-end module, and push only "changed" (+ a camera serial) over the dashboard's socket,
 * whatever the message they receive carries.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { io, type Socket } from 'socket.io-client';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import uiConfigNode from '../../nodes/pfcam-ui-config/pfcam-ui-config';
import alertsNode from '../../nodes/pfcam-ui-alerts/pfcam-ui-alerts';
import cameraSettingsNode from '../../nodes/pfcam-ui-camera-settings/pfcam-ui-camera-settings';
import camerasNode from '../../nodes/pfcam-ui-cameras/pfcam-ui-cameras';
import overviewNode from '../../nodes/pfcam-ui-overview/pfcam-ui-overview';
import recordingsNode from '../../nodes/pfcam-ui-recordings/pfcam-ui-recordings';
import systemNode from '../../nodes/pfcam-ui-system/pfcam-ui-system';
import accountNode from '../../nodes/pfcam-ui-account/pfcam-ui-account';
import usersNode from '../../nodes/pfcam-ui-users/pfcam-ui-users';
import auditNode from '../../nodes/pfcam-ui-audit/pfcam-ui-audit';
import { helper, type FlowNode } from '../helpers/node-red';

type NodeModule = (RED: NodeAPI) => void;
/* eslint-disable @typescript-eslint/no-require-imports -- node-red-dashboard's node modules are CommonJS */
const dashboardNodes = [
  require('node-red-dashboard/nodes/ui_base.js') as NodeModule,
  require('node-red-dashboard/nodes/ui_tab.js') as NodeModule,
  require('node-red-dashboard/nodes/ui_group.js') as NodeModule,
];
/* eslint-enable @typescript-eslint/no-require-imports */

const SCREENS: [string, NodeModule][] = [
  ['overview', overviewNode],
  ['recordings', recordingsNode],
  ['cameras', camerasNode],
  ['camera-settings', cameraSettingsNode],
  ['alerts', alertsNode],
  ['system', systemNode],
  ['account', accountNode],
  ['users', usersNode],
  ['audit', auditNode],
];
const SECURITY_SCREENS = new Set(['account', 'users', 'audit']);

interface UiControl {
  id: string;
  type: string;
  format?: string;
  initController?: string;
}
interface UiControls {
  menu: { items: { items: UiControl[] }[] }[];
}

describe('dashboard widget nodes', function () {
  this.timeout(20_000);
  let dir: string;
  let socket: Socket | undefined;

  before(async () => {
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-ui-node-'));
  });
  afterEach(async () => {
    socket?.close();
    socket = undefined;
    await helper.unload();
    await rm(dir, { recursive: true, force: true });
  });

  function flow(): FlowNode[] {
    const nodes: FlowNode[] = [
      { id: 'tab', type: 'tab', label: 'Dashboard' },
      { id: 'base', type: 'ui_base', theme: { name: 'theme-light' } },
      { id: 'uitab', type: 'ui_tab', name: 'Screens', order: 1 },
      { id: 'group', type: 'ui_group', name: 'Main', tab: 'uitab', width: '24', order: 1 },
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(dir, 'db.sqlite'),
        mediaDir: join(dir, 'media'),
      },
      { id: 'uicfg', type: 'pfcam-ui-config', store: 'store', timeZone: 'Europe/Zurich' },
    ];
    SCREENS.forEach(([screen], i) =>
      nodes.push({
        id: `w-${screen}`,
        type: `pfcam-ui-${screen}`,
        z: 'tab',
        group: 'group',
        config: 'uicfg',
        order: i + 1,
        x: 100,
        y: 40 * (i + 1),
        wires: [],
      }),
    );
    return nodes;
  }

  /** The test runtime does not serve `RED.httpNode` on its server: mount it once, as Node-RED does. */
  let mounted = false;
  const mountHttpNode: NodeModule = (RED) => {
    if (mounted) return;
    mounted = true;
    (helper as unknown as { _app: { use(app: unknown): void } })._app.use(RED.httpNode);
  };

  async function load(): Promise<void> {
    await helper.load(
      [mountHttpNode, ...dashboardNodes, storeNode, uiConfigNode, ...SCREENS.map((s) => s[1])],
      flow(),
    );
  }

  function connect(): Promise<{ socket: Socket; controls: Promise<UiControls> }> {
    const s = io(helper.url(), { path: '/ui/socket.io', forceNew: true });
    socket = s;
    const controls = new Promise<UiControls>((resolve) => s.once('ui-controls', resolve));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no socket connection')), 10_000);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve({ socket: s, controls });
      });
    });
  }

  it('registers every screen as a dashboard widget whose markup holds no data and no expression', async () => {
    await load();
    const { controls } = await connect();
    const items = (await controls).menu.flatMap((tab) => tab.items.flatMap((g) => g.items));
    for (const [screen] of SCREENS) {
      const item = items.find((i) => i.id === `w-${screen}`);
      assert.ok(item, `widget ${screen} is on the dashboard`);
      assert.equal(
        item.format,
        `<div class="pfcam-screen" data-pfcam-node="w-${screen}" data-pfcam-screen="${screen}" ng-non-bindable></div>`,
      );
      assert.ok(!/\{\{/.test(item.format ?? ''), 'no AngularJS interpolation');
      assert.match(item.initController ?? '', /import\(cfg\.asset\)/);
      const module = SECURITY_SCREENS.has(screen) ? 'security-screens.mjs' : 'pfcam-ui.mjs';
      assert.ok(
        (item.initController ?? '').includes(`"asset":"/pfcam-ui/assets/${module}"`),
        `${screen} loads ${module}`,
      );
    }
  });

  it('serves the account, user and audit screens module, built on the shared helpers and rendering text only', async () => {
    await load();
    const res = await fetch(`${helper.url()}/pfcam-ui/assets/security-screens.mjs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/javascript/);
    const js = await res.text();
    assert.match(js, /export function mount/);
    assert.match(js, /from '\.\/pfcam-ui\.mjs'/);
    assert.ok(!/innerHTML|insertAdjacentHTML|outerHTML/.test(js), 'no markup from strings');
    const shared = await (await fetch(`${helper.url()}/pfcam-ui/assets/pfcam-ui.mjs`)).text();
    assert.match(shared, /export function mountScreen/);
  });

  it('serves its front-end module and style, and nothing else from that folder', async () => {
    await load();
    const js = await fetch(`${helper.url()}/pfcam-ui/assets/pfcam-ui.mjs`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(await js.text(), /export function mount/);
    assert.equal((await fetch(`${helper.url()}/pfcam-ui/assets/pfcam-ui.css`)).status, 200);
    assert.equal((await fetch(`${helper.url()}/pfcam-ui/assets/eslint.config.mjs`)).status, 404);
    assert.equal((await fetch(`${helper.url()}/pfcam-ui/assets/..%2Fapi%2Fdashboard-routes.js`)).status, 404);
  });

  it('pushes only "changed" and the camera serial, never the recording a flow sends it', async () => {
    await load();
    const { socket: s } = await connect();
    const update = new Promise<{
      id: string;
      msg: { payload: Record<string, unknown> } & Record<string, unknown>;
    }>((resolve) =>
      s.on('update-value', (m: { id: string; msg: { payload: Record<string, unknown> } }) => {
        if (m.id === 'w-recordings') resolve(m);
      }),
    );
    helper.getNode('w-recordings').receive({
      payload: { cameraSerial: 'PFC4-1', eventName: 'secret name', videoPath: '/data/x.mp4' },
      topic: 'confidential',
    });
    const m = await update;
    assert.deepEqual(Object.keys(m.msg).sort(), ['payload']);
    assert.deepEqual(Object.keys(m.msg.payload).sort(), ['at', 'camera', 'changed']);
    assert.equal(m.msg.payload.changed, 'recordings');
    assert.equal(m.msg.payload.camera, 'PFC4-1');
  });

  it('reaches every widget when its dashboard config node says something changed', async () => {
    await load();
    const { socket: s } = await connect();
    const seen = new Set<string>();
    const all = new Promise<void>((resolve) =>
      s.on('update-value', (m: { id: string; msg: { payload: { changed: string } } }) => {
        if (m.msg.payload.changed === 'cameras') seen.add(m.id);
        if (seen.size === SCREENS.length) resolve();
      }),
    );
    (helper.getNode('uicfg') as unknown as { changed(c: { changed: string }): void }).changed({
      changed: 'cameras',
    });
    await all;
    assert.equal(seen.size, SCREENS.length);
  });
});
