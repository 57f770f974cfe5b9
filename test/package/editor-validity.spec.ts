/**
 * Every shipped flow and every example opens in the real editor (a Node-RED process serving it, headless
 * Chromium) with no node the editor marks invalid, and with every property of the package's node types present
 * (a property missing from a file opens as undefined: an invalid node, or a default the file never chose).
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { NodeRedProcess } from '../helpers/node-red-process';

const root = join(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { composeFlows } = require('../../scripts/flows.js') as { composeFlows: (dir: string) => FlowNode[] };

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

interface EditorReport {
  /** Nodes the editor marks invalid, with the properties it rejects. */
  invalid: { id: string; type: string; properties: string[] }[];
  /** The editor's defaults of each node type in the flows. */
  defaults: Record<string, string[]>;
}

/** The part of the editor's `RED` object read here. */
interface EditorNode {
  type: string;
  valid?: boolean;
  validationErrors?: string[];
}
interface EditorRED {
  nodes: {
    node(id: string): EditorNode | undefined;
    workspace(id: string): unknown;
    group?(id: string): unknown;
    junction?(id: string): unknown;
    getType(type: string): { defaults?: Record<string, unknown> } | undefined;
  };
}
type EditorWindow = Window & { RED?: EditorRED };

const STRUCTURAL = new Set(['tab', 'subflow', 'group', 'junction']);

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Opens the editor on the deployed flows, waits until it holds all of `flows`, and reports what it marks. */
async function openInEditor(page: Page, url: string, flows: FlowNode[]): Promise<EditorReport> {
  await page.goto(url);
  const ids = flows.map((n) => n.id);
  await page.waitForFunction(
    (wanted: string[]) => {
      const RED = (window as EditorWindow).RED;
      if (!RED?.nodes?.node || !RED.nodes.workspace) return false;
      const nodes = RED.nodes;
      return wanted.every(
        (id) => nodes.node(id) || nodes.workspace(id) || nodes.group?.(id) || nodes.junction?.(id),
      );
    },
    ids,
    { timeout: 30_000 },
  );
  return page.evaluate((wanted: string[]) => {
    const RED = (window as EditorWindow).RED!;
    const invalid: EditorReport['invalid'] = [];
    const defaults: Record<string, string[]> = {};
    for (const id of wanted) {
      const n = RED.nodes.node(id);
      if (!n) continue;
      const def = RED.nodes.getType(n.type);
      if (def?.defaults) defaults[n.type] = Object.keys(def.defaults);
      if (n.valid === false) invalid.push({ id, type: n.type, properties: n.validationErrors ?? [] });
    }
    return { invalid, defaults };
  }, ids);
}

function flowFiles(dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

describe('shipped flows and examples in the editor', function () {
  this.timeout(120_000);
  let nodeRed: NodeRedProcess;
  let browser: Browser;
  let page: Page;

  before(async () => {
    nodeRed = await NodeRedProcess.start({ flows: [] });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await nodeRed?.dispose();
  });

  it('marks a node with a missing required property invalid (the check below can fail)', async () => {
    const flows: FlowNode[] = [
      { id: 't', type: 'tab', label: 'broken' },
      {
        id: 'store',
        type: 'pfcam-store',
        name: 'Archive',
        databaseFile: '',
        mediaDir: '',
        recoverOnStart: true,
        verifyFiles: true,
      },
      {
        id: 'archive',
        type: 'pfcam-archive',
        z: 't',
        store: 'store',
        concurrency: 4,
        perCamera: 2,
        fetchThumbnail: true,
        retryInterval: 30,
        maxAttempts: 0,
        recoverOnStart: true,
        x: 100,
        y: 100,
        wires: [],
      },
    ];
    await nodeRed.deploy(flows);
    const report = await openInEditor(page, nodeRed.url, flows);
    assert.deepEqual(
      report.invalid.map((n) => n.id),
      ['archive'],
    );
    assert.ok(report.defaults['pfcam-archive']?.includes('stallTimeout'));
  });

  const cases: [string, () => FlowNode[]][] = [
    ['the composed application flows (flows/)', () => composeFlows(join(root, 'flows'))],
    ...flowFiles('examples').map((file): [string, () => FlowNode[]] => [
      file,
      () => JSON.parse(readFileSync(join(root, file), 'utf8')) as FlowNode[],
    ]),
  ];

  for (const [name, load] of cases) {
    it(`opens ${name} with no invalid node and no missing pfcam property`, async () => {
      const flows = load();
      await nodeRed.deploy(flows);
      const report = await openInEditor(page, nodeRed.url, flows);
      assert.deepEqual(report.invalid, [], `nodes the editor marks invalid in ${name}`);
      const missing = flows
        .filter((n) => !STRUCTURAL.has(n.type) && n.type.startsWith('pfcam-'))
        .flatMap((n) => (report.defaults[n.type] ?? []).filter((p) => !(p in n)).map((p) => `${n.id}.${p}`));
      assert.deepEqual(missing, [], `pfcam node properties missing from ${name}`);
    });
  }
});
