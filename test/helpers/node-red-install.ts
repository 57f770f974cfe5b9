/**
 * Which Node-RED the tests run, and a user directory laid out as on a site.
 *
 * The runtime is this project's node-red (4.1), or the node-red package folder of another install named by
 * PFCAM_NODE_RED (the Node-RED 5 CI job). Node-RED finds node modules in `<userDir>/node_modules` and in the
 * node_modules folders above its own: under another install the project's node_modules is not among them, so
 * the package and its peer node-red-dashboard are linked into the user directory, where a user installs them.
 */
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

/** The node-red package folder of the runtime under test. */
export const NODE_RED_DIR = process.env.PFCAM_NODE_RED
  ? resolve(process.env.PFCAM_NODE_RED)
  : dirname(require.resolve('node-red/package.json'));

/** Node-RED's command line entry point (`node red.js --settings … --userDir …`). */
export const NODE_RED_MAIN = join(NODE_RED_DIR, 'red.js');

/** The node-red-dashboard this project installs (the peer the dashboard widgets and the application need). */
const DASHBOARD_DIR = dirname(require.resolve('node-red-dashboard/package.json'));

function link(target: string, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    if (resolve(dirname(path), readlinkSync(path)) === target) return;
    rmSync(path, { recursive: true, force: true });
  } catch {
    // not there yet
  }
  symlinkSync(target, path, 'dir');
}

/** Installs (links) this package and node-red-dashboard into `<userDir>/node_modules`. Idempotent. */
export function installIntoUserDir(userDir: string): void {
  link(root, join(userDir, 'node_modules', '@pfcam', 'node-red-pfcam'));
  link(DASHBOARD_DIR, join(userDir, 'node_modules', 'node-red-dashboard'));
}

/**
 * A core node module (`core/common/25-catch.js`, …) of the runtime under test, so that a flow in the test
 * helper runs the core nodes of the same Node-RED as the runtime.
 */
export function coreNodeModule(path: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's node modules are CommonJS
  return require(require.resolve(`@node-red/nodes/${path}`, { paths: [NODE_RED_DIR] })) as unknown;
}
