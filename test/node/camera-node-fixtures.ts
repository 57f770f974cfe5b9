/**
 * Fixtures of the camera node tests (pfcam-events, -trigger, -media, -streams, -status): a flow with a camera
 * config node on a simulated camera, the node under test wired to a helper, a Catch node wired to another, and
 * `run()`, which sends one message and resolves with what came out: a message, or an error (with its i18n key).
 */
import { strict as assert } from 'node:assert';
import type { NodeAPI } from 'node-red';
import type { CameraState } from '../../lib/camera/camera-health';
import { PfcamError } from '../../lib/errors';
import type { CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import type { SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';

export type NodeModule = (RED: NodeAPI) => void;

/** Prefix of the shared catalog's keys as the test runtime shows them (its `RED._` returns the key). */
export const COMMON = '@pfcam/node-red-pfcam/pfcam-camera:common.';

/** The camera config node of the test flows (fast probe, short call budget so that failures come quickly). */
export function cameraConfig(sim: SimulatedCamera, extra: Record<string, unknown> = {}): FlowNode {
  return {
    id: 'cam',
    type: 'pfcam-camera',
    name: 'Gate',
    url: sim.url,
    probeInterval: 0.2,
    timeout: 2,
    ...extra,
  };
}

/** A flow: the camera, the node under test (id `n`, wired to `out`), a helper `out`, a Catch `catch` -> `caught`. */
export function testFlow(
  sim: SimulatedCamera,
  node: { type: string } & Record<string, unknown>,
  options: { camera?: Record<string, unknown>; nodes?: FlowNode[] } = {},
): FlowNode[] {
  return [
    cameraConfig(sim, options.camera),
    ...onTab([{ id: 'n', camera: 'cam', wires: [['out']], ...node }, ...(options.nodes ?? [])]),
  ];
}

/** The tab of the test flows. */
export const TAB = 'tab1';

/**
 * Puts flow nodes on the test tab (with a position: the runtime takes a node without one for a config node),
 * with the helper `out`, a Catch node and its helper `caught`.
 */
export function onTab(nodes: FlowNode[]): FlowNode[] {
  return [
    { id: TAB, type: 'tab', label: 'test' },
    ...[
      ...nodes,
      { id: 'out', type: 'helper' },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ].map((n, i) => ({ z: TAB, x: 100, y: 40 * (i + 1), ...n })),
  ];
}

export async function load(
  modules: NodeModule[],
  flow: FlowNode[],
  credentials?: Record<string, unknown>,
): Promise<void> {
  await helper.load([cameraNode, ...modules], flow, credentials ?? {});
}

export function cameraNodeOf(id = 'cam'): CameraConfigNode {
  return helper.getNode(id) as unknown as CameraConfigNode;
}

/** Resolves once the camera config node is in `state`. */
export function waitForState(camera: CameraConfigNode, state: CameraState, timeoutMs = 5000): Promise<void> {
  if (camera.health.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      camera.health.off('change', listener);
      reject(new Error(`camera not ${state} within ${timeoutMs} ms (is ${camera.health.state})`));
    }, timeoutMs);
    const listener = (change: { state: CameraState }): void => {
      if (change.state !== state) return;
      clearTimeout(timer);
      camera.health.off('change', listener);
      resolve();
    };
    camera.health.on('change', listener);
  });
}

export type Message = Record<string, unknown>;

export type Outcome =
  { kind: 'sent'; msg: Message } | { kind: 'error'; error: Error; key: string | undefined; caught: Message };

/** Lets already queued message deliveries happen (event-loop turns, no timer). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Sends `msg` to the node under test and resolves with the first outcome: a message on `out`, or an error that
 * reached the Catch node (with the Error the node passed to `done`). Fails after `timeoutMs`.
 */
export function run(msg: Message, timeoutMs = 10_000, nodeId = 'n'): Promise<Outcome> {
  const node = helper.getNode(nodeId);
  const out = helper.getNode('out');
  const caught = helper.getNode('caught');
  return new Promise((resolve, reject) => {
    let error: Error | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      out.off('input', onOut);
      caught.off('input', onCaught);
      node.off('call:error', onError);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no outcome within ${timeoutMs} ms`));
    }, timeoutMs);
    const onOut = (m: Message): void => {
      cleanup();
      resolve({ kind: 'sent', msg: m });
    };
    const onError = (call: { args: unknown[] }): void => {
      if (call.args[0] instanceof Error) error = call.args[0];
    };
    const onCaught = (m: Message): void => {
      cleanup();
      const err = error ?? new Error(String((m.error as { message?: unknown } | undefined)?.message));
      resolve({ kind: 'error', error: err, key: err instanceof PfcamError ? err.key : undefined, caught: m });
    };
    out.on('input', onOut);
    caught.on('input', onCaught);
    node.on('call:error', onError);
    node.receive(msg);
  });
}

/** Sends `msg` and asserts a message came out; returns it. */
export async function expectSent(msg: Message, timeoutMs?: number): Promise<Message> {
  const outcome = await run(msg, timeoutMs);
  if (outcome.kind === 'error') assert.fail(`expected a message, got the error: ${outcome.error.message}`);
  return outcome.msg;
}

/**
 * Sends `msg` and asserts it failed with the i18n key `key`, a red ring status with that key, and no message on
 * the output (counted across the deliveries queued meanwhile). Returns the error.
 */
export async function expectError(
  msg: Message,
  key: string,
  timeoutMs?: number,
): Promise<Error & { key?: string }> {
  const out = helper.getNode('out');
  let sent = 0;
  const count = (): void => {
    sent++;
  };
  out.on('input', count);
  try {
    const outcome = await run(msg, timeoutMs);
    await settle();
    if (outcome.kind === 'sent') assert.fail(`expected the error ${key}, got a message`);
    assert.equal(outcome.key, key, `error key (message: ${outcome.error.message})`);
    assert.equal(sent, 0, 'nothing is sent on an error');
    assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + key });
    return outcome.error;
  } finally {
    out.off('input', count);
  }
}

type StatusSpy = { getCalls(): { thisValue: unknown; args: unknown[] }[] };

/** Every status the node set (the runtime spies on the shared prototype: keep this node's calls only). */
export function statuses(nodeId = 'n'): Record<string, unknown>[] {
  const node = helper.getNode(nodeId) as unknown as { status: StatusSpy };
  return node.status
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as Record<string, unknown>);
}

/** The last status the node set. */
export function lastStatus(nodeId = 'n'): Record<string, unknown> | undefined {
  return statuses(nodeId).at(-1);
}

/** The camera requests with this method whose path starts with `prefix`. */
export function requestsTo(sim: SimulatedCamera, method: string, prefix: string): string[] {
  return sim.control
    .requests()
    .filter((r) => r.method === method && r.path.startsWith(prefix))
    .map((r) => r.path);
}

/** Node-RED still runs flows: a fresh message through the node under test still gets an outcome. */
export async function assertAlive(msg: Message = {}): Promise<void> {
  const outcome = await run(msg);
  assert.ok(outcome.kind === 'sent' || outcome.kind === 'error');
}
