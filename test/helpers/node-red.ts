/**
 * The real Node-RED runtime for node tests (node-red-node-test-helper), and small typed factories for test flows.
 */
import helper from 'node-red-node-test-helper';

// PFCAM_NODE_RED: the node-red package folder of another Node-RED install (the Node-RED 5 CI job).
helper.init(
  process.env.PFCAM_NODE_RED ? require.resolve(process.env.PFCAM_NODE_RED) : require.resolve('node-red'),
);

export { helper };

/** A flow node as the runtime reads it: id, type, wires and the node's own properties. */
export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  wires?: string[][];
  [property: string]: unknown;
}

/** Waits for the next message a helper node receives, or fails after `timeoutMs`. */
export function nextMessage<T = Record<string, unknown>>(
  node: { once(event: 'input', listener: (msg: T) => void): void },
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
    node.once('input', (msg: T) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });
}
