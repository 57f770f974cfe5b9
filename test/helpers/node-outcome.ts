/**
 * Sending one message to a node under test and waiting for its outcome: the message it sends (to a helper
 * node `<id>-out`) or the error it reports through `done(err)`. Used by the pfcam-settings and pfcam-system
 * node tests.
 */
import { strict as assert } from 'node:assert';
import type { CameraState } from '../../lib/camera/camera-health';
import { PfcamError } from '../../lib/errors';
import type { CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import type { SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from './node-red';

type TestNode = ReturnType<typeof helper.getNode>;

/** The status text of a key of the shared catalog, as the helper's RED._ returns it. */
export const COMMON_KEY = '@pfcam/node-red-pfcam/pfcam-camera:common.';

export function waitForState(camera: CameraConfigNode, state: CameraState, timeoutMs = 5000): Promise<void> {
  if (camera.health.state === state) return Promise.resolve();
  return camera.health.waitFor(state, timeoutMs).then(() => undefined);
}

/** Sends `msg` to node `id`; resolves with what `<id>-out` receives, or rejects with the error the node reported. */
export function run<T = Record<string, unknown>>(
  id: string,
  msg: Record<string, unknown>,
  timeoutMs = 15_000,
): Promise<T & Record<string, unknown>> {
  const node = helper.getNode(id);
  const out = helper.getNode(`${id}-out`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no outcome within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const onMessage = (m: T & Record<string, unknown>): void => finish(() => resolve(m));
    const onError = (call: { args: unknown[] }): void => finish(() => reject(asError(call.args[0])));
    function finish(action: () => void): void {
      clearTimeout(timer);
      out.off('input', onMessage);
      node.off('call:error', onError);
      action();
    }
    out.on('input', onMessage);
    node.on('call:error', onError);
    node.receive(msg);
  });
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Runs and expects an error with the i18n key `key`; checks the node's status went red; returns the error. */
export async function runFails(id: string, msg: Record<string, unknown>, key: string): Promise<PfcamError> {
  try {
    await run(id, msg);
  } catch (err) {
    assert.ok(err instanceof PfcamError, `expected a PfcamError, got ${String(err)}`);
    assert.equal(err.key, key, err.message);
    assert.equal(lastStatus(helper.getNode(id))?.fill, 'red');
    return err;
  }
  return assert.fail(`expected ${key}`);
}

export function lastStatus(node: TestNode): { fill?: string; shape?: string; text?: string } | undefined {
  const calls = (node.status as unknown as { args: { fill?: string; shape?: string; text?: string }[][] })
    .args;
  return calls.at(-1)?.[0];
}

/** Every request to the simulated camera that is not a GET, as `METHOD path`. */
export function writes(sim: SimulatedCamera): string[] {
  return sim.control
    .requests()
    .filter((r) => r.method !== 'GET')
    .map((r) => `${r.method} ${r.path}`);
}

/** A node of `type` wired to a helper node `<id>-out`, on the camera config node `cam`. */
export function nodeWithOutput(type: string, id: string, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id, type, camera: 'cam', restartTimeout: 10, ...props, wires: [[`${id}-out`]] },
    { id: `${id}-out`, type: 'helper' },
  ];
}

/**
 * Loads `flow` with a camera config node `cam` (named `name`) on the simulated camera, waits for it to be online
 * and clears the camera's request log, so that a test sees only the requests its own message caused.
 */
export async function loadOnCamera(
  sim: SimulatedCamera,
  nodes: unknown[],
  flow: FlowNode[],
  name: string,
): Promise<CameraConfigNode> {
  await helper.load(nodes, [
    { id: 'cam', type: 'pfcam-camera', name, url: sim.url, probeInterval: 0.2, timeout: 3 },
    ...flow,
  ]);
  const camera = helper.getNode('cam') as unknown as CameraConfigNode;
  await waitForState(camera, 'online');
  sim.control.clearRequests();
  return camera;
}
