/**
 * What the `pfcam-store` config node offers the nodes that use it (backup, retention, watch, archive, query,
 * notify, dashboard):
 *
 * ```ts
 * const store = RED.nodes.getNode(config.store) as StoreHandle | null;
 * const events = await store.ready();
 * ```
 *
 * The store is opened once, on first use, and shared; it is closed when the config node closes (after its
 * users closed). A user node calls `register(node)` in its constructor and `deregister(node)` in its close
 * handler once its own work ended (the database stays open until the last user deregistered, or a time limit).
 */
import type { Node } from 'node-red';
import type { Database } from '../../lib/store/database';
import type { EventStore } from '../../lib/store/event-store';

export interface StoreHandle extends Node {
  /** The open store (opened on first call, migrations applied). Rejects when it cannot be opened. */
  ready(): Promise<EventStore>;
  /** The underlying database, for modules that keep their own tables in it (their own migration namespace). */
  database(): Promise<Database>;
  /** Absolute media folder. */
  readonly mediaDir: string;
  /** Absolute database file. */
  readonly databaseFile: string;
  /** Tells the config node a node uses it (for status and an orderly close). */
  register(user: Node): void;
  deregister(user: Node): void;
  /** Tells the config node its files changed (a recording stored or removed): its size metric is measured again. */
  sizeChanged?(): void;
}

/** Whether a value got from `RED.nodes.getNode` is a store handle. */
export function isStoreHandle(value: unknown): value is StoreHandle {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { ready?: unknown }).ready === 'function' &&
    typeof (value as { database?: unknown }).database === 'function' &&
    typeof (value as { mediaDir?: unknown }).mediaDir === 'string'
  );
}
