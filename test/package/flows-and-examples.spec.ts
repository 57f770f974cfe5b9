/**
 * Every shipped flow and every example loads in a real Node-RED with this package installed: no unknown node
 * type, no node that fails to start.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_RED_DIR } from '../helpers/node-red-install';
import { NodeRedProcess } from '../helpers/node-red-process';

const root = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { applyServices, composeFlows, flowsEnv } = require('../../scripts/flows.js') as {
  composeFlows: (dir: string) => FlowNode[];
  applyServices: (flows: FlowNode[], services: { s3: boolean; mqtt: boolean }) => FlowNode[];
  flowsEnv: (env: Record<string, string | undefined>) => Record<string, string>;
};

interface FlowNode {
  id: string;
  type: string;
  z?: string;
}

/** Types that are part of the flow format itself rather than registered nodes. */
const STRUCTURAL = new Set(['tab', 'subflow', 'group', 'junction']);

function flowFiles(dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

describe('shipped flows and examples', function () {
  this.timeout(120_000);
  let nodeRed: NodeRedProcess;
  let types: Set<string>;

  before(async () => {
    // the environment npm start gives the shipped flows when nothing is configured (cameras at 8081-8083)
    nodeRed = await NodeRedProcess.start({ flows: [], env: flowsEnv({}) });
    types = await nodeRed.registeredTypes();
  });

  after(async () => {
    await nodeRed?.dispose();
  });

  it('runs the Node-RED under test (the one PFCAM_NODE_RED names, else the project one) on this Node.js', () => {
    const { version } = JSON.parse(readFileSync(join(NODE_RED_DIR, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.match(nodeRed.log, new RegExp(`Node-RED version: v${version.replace(/\./g, '\\.')}\\b`));
    assert.match(nodeRed.log, new RegExp(`Node\\.js +version: ${process.version.replace(/\./g, '\\.')}\\b`));
  });

  it('loads node-red-dashboard and the package from the user directory, where a site installs them', async () => {
    const res = await fetch(`${nodeRed.url}/nodes`, { headers: { accept: 'application/json' } });
    const sets = (await res.json()) as { module: string; local?: boolean; types: string[] }[];
    for (const module of ['node-red-dashboard', '@pfcam/node-red-pfcam']) {
      const own = sets.filter((s) => s.module === module);
      assert.ok(own.length > 0, `${module} is not loaded`);
      assert.ok(
        own.every((s) => s.local === true),
        `${module} is not loaded from the user directory`,
      );
    }
    for (const type of ['ui_base', 'ui_tab', 'ui_group', 'ui_template', 'ui_toast', 'ui_ui_control'])
      assert.ok(types.has(type), `${type} is not registered`);
  });

  it('registers every node type of the package', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> };
    };
    for (const type of Object.keys(pkg['node-red'].nodes))
      assert.ok(types.has(type), `${type} is not registered`);
  });

  it('notices a node that fails to start (the check below can fail)', async () => {
    const log = await nodeRed.deploy([
      { id: 't', type: 'tab', label: 'broken' },
      { id: 'bad-cam', type: 'pfcam-camera', url: 'not a url' },
    ]);
    assert.match(log, /\[error\].*pfcam-camera/);
  });

  it('notices a flow that fails to start as a whole (the check below can fail)', async () => {
    const log = await nodeRed.deploy([
      { id: 't', type: 'tab', label: 'broken' },
      { id: 'pfcam-camera', type: 'pfcam-camera', url: 'http://127.0.0.1:9' },
      { id: 'status', type: 'pfcam-status', z: 't', scope: 'one', camera: 'pfcam-camera', wires: [] },
    ]);
    assert.match(log, /^\w*Error: /m);
  });

  const cases: [string, () => FlowNode[]][] = [
    [
      'the composed application flows (flows/), as npm start runs them with no S3 or MQTT configured',
      () => applyServices(composeFlows(join(root, 'flows')), { s3: false, mqtt: false }),
    ],
    ...flowFiles('examples').map((file): [string, () => FlowNode[]] => [
      file,
      () => JSON.parse(readFileSync(join(root, file), 'utf8')) as FlowNode[],
    ]),
  ];

  for (const [name, load] of cases) {
    it(`starts ${name} with no unknown type and no node error`, async () => {
      const flows = load();
      const unknown = [...new Set(flows.map((n) => n.type))].filter(
        (t) => !STRUCTURAL.has(t) && !types.has(t),
      );
      assert.deepEqual(unknown, [], `unknown node types in ${name}`);
      const log = await nodeRed.deploy(flows);
      assert.doesNotMatch(log, /Waiting for missing types/);
      // Node errors are logged as [error]; a flow that fails to start as a whole prints a bare stack.
      const errors = log.split('\n').filter((line) => /\[error\]|^\w*Error: /.test(line));
      assert.deepEqual(errors, [], `node errors while starting ${name}`);
    });
  }
});
