import type { Node, NodeAPI, NodeDef } from 'node-red';
import { errorText } from '../../lib/errors';
import { StoreSizeMeter } from '../../lib/metrics/store-size';
import type { Database } from '../../lib/store/database';
import { EventStore } from '../../lib/store/event-store';
import {
  parseStoreConfig,
  storeCloseTimeoutMs,
  type RawStoreConfig,
  type StoreConfig,
  type StoreSettings,
} from '../../lib/store/store-options';
import { handleClose } from '../shared/input';
import { Status } from '../shared/status';
import type { StoreHandle } from './store-handle';

interface StoreNodeDef extends NodeDef, Omit<RawStoreConfig, 'name'> {}

type StoreNode = Node & StoreHandle;

/**
 * The `pfcam-store` config node: one event store (SQLite database + media folder), opened once and shared by
 * every node that names it, closed when the config node closes.
 */
export default function (RED: NodeAPI): void {
  function PfcamStoreNode(this: StoreNode, def: StoreNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: StoreNode, def: StoreNodeDef): void {
    const settings = RED.settings as unknown as StoreSettings;

    let config: StoreConfig | undefined;
    let opening: Promise<EventStore>;
    /** Stops the background check of stored files on close. */
    const verifying = new AbortController();
    let verified: Promise<void> = Promise.resolve();
    /** pfcam_store_size_bytes of this store, once it is open. */
    let sizeMeter: StoreSizeMeter | undefined;
    try {
      config = parseStoreConfig(def, { userDir: settings.userDir, pfcam: settings.pfcam });
      const cfg = config;
      opening = EventStore.open({
        databaseFile: cfg.databaseFile,
        mediaDir: cfg.mediaDir,
        log: { sanitised: (name) => node.warn(RED._(`pfcam-store.log.sanitised.${name.what}`, { ...name })) },
      }).then(async (store) => {
        if (!closed) {
          sizeMeter = new StoreSizeMeter(
            { storedBytes: () => store.storedBytes(), databaseFile: cfg.databaseFile },
            { onError: (error) => node.debug(`store size: ${error}`) },
          );
          void sizeMeter.start();
        }
        if (!cfg.recoverOnStart) return store;
        // The temp sweep must end before any download starts: users get the store after it.
        try {
          const report = await store.recover({ verifyStored: false });
          if (report.removedTemp.length > 0) {
            node.log(RED._('pfcam-store.log.removedTemp', { count: report.removedTemp.length }));
          }
        } catch (err) {
          node.warn(RED._('pfcam-store.log.recoverFailed', { error: errorText(err) }));
        }
        // Checking every stored file takes a while on a big archive: it runs alongside.
        if (cfg.verifyFiles) {
          verified = store.verifyStoredFiles({ signal: verifying.signal }).then(
            (reset) => {
              if (reset.length > 0) node.warn(RED._('pfcam-store.log.missingFiles', { count: reset.length }));
            },
            (err: unknown) => {
              if (!verifying.signal.aborted) {
                node.warn(RED._('pfcam-store.log.recoverFailed', { error: errorText(err) }));
              }
            },
          );
        }
        return store;
      });
    } catch (err) {
      opening = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // The failure is reported once here and then to each caller of ready().
    opening.catch((err: unknown) => node.error(RED._('pfcam-store.errors.open', { error: errorText(err) })));

    const users = new Set<Node>();
    /** Wakes the close handler waiting for the last user to deregister. */
    let onLastUser: (() => void) | undefined;
    let closed = false;

    Object.defineProperties(node, {
      mediaDir: { get: (): string => config?.mediaDir ?? '' },
      databaseFile: { get: (): string => config?.databaseFile ?? '' },
    });
    node.ready = (): Promise<EventStore> => {
      if (closed) return Promise.reject(new Error('the store is closed'));
      return opening;
    };
    node.database = async (): Promise<Database> => (await node.ready()).db;
    node.sizeChanged = (): void => sizeMeter?.changed();
    node.register = (user: Node): void => {
      users.add(user);
      opening.catch(() => {
        if (users.has(user)) new Status(user, RED).error('errors.storeUnavailable');
      });
    };
    node.deregister = (user: Node): void => {
      users.delete(user);
      if (users.size === 0) onLastUser?.();
    };

    /**
     * Node-RED closes every node of a stop or redeploy at once: the database is closed only once every user
     * deregistered (each does so when its own work ended), or after the time limit, which is logged.
     */
    const usersGone = async (): Promise<void> => {
      if (users.size === 0) return;
      const limitMs = storeCloseTimeoutMs(settings);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        onLastUser = () => resolve(false);
        timer = setTimeout(() => resolve(true), limitMs);
      });
      clearTimeout(timer);
      onLastUser = undefined;
      if (timedOut) {
        const names = [...users].map((u) => `${u.type}:${u.name || u.id}`).join(', ');
        node.warn(RED._('pfcam-store.log.closeTimeout', { seconds: limitMs / 1000, users: names }));
      }
    };

    let closing: Promise<void> | undefined;
    handleClose(node, () => {
      closing ??= (async () => {
        verifying.abort();
        const store = await opening.catch(() => undefined);
        await usersGone();
        await verified;
        closed = true;
        users.clear();
        await sizeMeter?.stop();
        await store?.close();
      })();
      return closing;
    });
  }

  RED.nodes.registerType('pfcam-store', PfcamStoreNode);
}
