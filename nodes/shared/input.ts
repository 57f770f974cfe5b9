import type { Node, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { Status } from './status';

type Send = (msg: NodeMessage | (NodeMessage | NodeMessage[] | null)[]) => void;

/**
 * Wires a node's input to an async handler with the one failure path: the promise's rejection goes to
 * `done(err)` (reaching Catch nodes) and sets a red status. The handler never escapes as an unhandled promise.
 */
export function handleInput<M extends NodeMessageInFlow>(
  node: Node,
  status: Status,
  handler: (msg: M, send: Send) => Promise<void>,
): void {
  node.on('input', (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
    handler(msg as M, send).then(
      () => done(),
      (err: unknown) => {
        status.failed(err);
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Registers the close handler in its one allowed shape: `(removed, done)`, cleanup awaited, never thrown. */
export function handleClose(node: Node, cleanup: (removed: boolean) => Promise<void> | void): void {
  node.on('close', (removed: boolean, done: () => void) => {
    Promise.resolve()
      .then(() => cleanup(removed))
      .catch((err: unknown) => node.warn(err instanceof Error ? err.message : String(err)))
      .finally(done);
  });
}
