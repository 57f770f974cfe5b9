/**
 * The real Node-RED runtime for node tests (node-red-node-test-helper), and small typed factories for test flows.
 */
import helper from 'node-red-node-test-helper';
import { NODE_RED_DIR } from './node-red-install';

// the runtime under test: this project's Node-RED, or the one PFCAM_NODE_RED names (the Node-RED 5 CI job)
helper.init(require.resolve(NODE_RED_DIR));

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
