import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { CameraApi } from '../../lib/camera/camera-api';
import { Archiver, type ArchiverStats } from '../../lib/archive/fetcher';
import {
  RECORDING_TOPIC,
  isArchiveRequest,
  type NewRecordingPayload,
  type StoredRecordingMessage,
} from '../../lib/archive/messages';
import { parseArchiveOptions, type ArchiveOptions, type RawArchiveConfig } from '../../lib/archive/options';
import { cameras } from '../../lib/cameras/camera-registry';
import { InputError, errorText } from '../../lib/errors';
import { isStoreHandle } from '../pfcam-store/store-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The editor configuration of a `pfcam-archive` node. */
export interface ArchiveNodeDef extends NodeDef, RawArchiveConfig {
  /** Id of the `pfcam-store` config node. */
  store: string;
}

/** Input: a `pfcam-watch` message (or any message whose payload names a recording of the store). */
export type ArchiveInputMessage = NodeMessageInFlow & { payload: Partial<NewRecordingPayload> };
/** Output: the stored recording. */
export type ArchiveOutputMessage = StoredRecordingMessage;

export default function (RED: NodeAPI): void {
  function PfcamArchiveNode(this: Node, def: ArchiveNodeDef): void {
    RED.nodes.createNode(this, def);
    startArchive(this, def);
  }

  /** Everything after createNode: options, config nodes, the controller, input and close. */
  function startArchive(node: Node, def: ArchiveNodeDef): void {
    const status = new Status(node, RED);
    const store = RED.nodes.getNode(def.store);

    let options: ArchiveOptions | undefined;
    let setupError: Error | undefined;
    try {
      options = parseArchiveOptions(def);
    } catch (err) {
      setupError = err instanceof Error ? err : new Error(String(err));
    }

    let closed = false;
    let archiver: Archiver | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    let pendingStats: ArchiverStats | undefined;

    const showStats = (s: ArchiverStats): void => {
      if (closed) return;
      if (s.queued > 0) {
        status.text(
          'blue',
          'dot',
          RED._('pfcam-archive.status.busy', {
            active: s.active,
            queued: s.queued - s.active,
            stored: s.stored,
          }),
        );
      } else {
        status.text('green', 'dot', RED._('pfcam-archive.status.idle', { stored: s.stored }));
      }
    };
    /** Status at most every 250 ms (a busy archive changes its figures many times a second). */
    const throttledStats = (s: ArchiverStats): void => {
      pendingStats = s;
      if (statusTimer) return;
      statusTimer = setTimeout(() => {
        statusTimer = undefined;
        if (pendingStats) showStats(pendingStats);
      }, 250);
    };

    let ready: Promise<Archiver>;
    if (setupError || !options) {
      status.failed(setupError);
      node.error(errorText(setupError));
      ready = Promise.reject(setupError ?? new Error('invalid configuration'));
    } else if (!isStoreHandle(store)) {
      status.text('red', 'ring', RED._('pfcam-archive.status.noStore'));
      ready = Promise.reject(new InputError(RED._('pfcam-archive.errors.noStore')));
    } else {
      const archiveOptions = options;
      store.register(node);
      status.connecting('status.connecting');
      ready = store.ready().then((events) => {
        if (closed) throw new Error('closed');
        const a = new Archiver({
          store: events,
          options: archiveOptions,
          // The pfcam-store node runs the store's recovery sweep when it opens the store.
          storeRecovery: false,
          // the registered camera with that serial number (unprobed cameras are probed first)
          resolveCamera: async (serial, signal): Promise<CameraApi | undefined> =>
            (await cameras.bySerial(serial, { signal }))?.client,
        });
        a.on('stored', (payload) => {
          const msg: ArchiveOutputMessage = { topic: RECORDING_TOPIC, payload };
          node.send(msg);
          store.sizeChanged?.();
        });
        a.on('failed', (f) => {
          node.warn(
            f.gone
              ? RED._('pfcam-archive.errors.gone', { fileName: f.fileName, serial: f.cameraSerial })
              : RED._('pfcam-archive.errors.fetch', {
                  fileName: f.fileName,
                  serial: f.cameraSerial,
                  error: errorText(f.error),
                }),
          );
        });
        a.on('error', (err) => node.error(RED._('pfcam-archive.errors.recovery', { error: errorText(err) })));
        a.on('progress', throttledStats);
        archiver = a;
        showStats(a.stats);
        a.start();
        return a;
      });
      ready.catch((err: unknown) => {
        if (closed) return;
        status.failed(err);
        node.error(errorText(err));
      });
    }

    ready.catch(() => undefined);

    handleInput<ArchiveInputMessage>(node, status, async (msg, send) => {
      const a = await ready;
      if (!isArchiveRequest(msg.payload)) {
        throw new InputError(RED._('pfcam-archive.errors.badRequest'), { key: 'errors.badInput' });
      }
      const { payload, delivered } = await a.archive(msg.payload);
      if (payload.fetched && isStoreHandle(store)) store.sizeChanged?.();
      if (delivered) return;
      const out = msg as unknown as ArchiveOutputMessage;
      out.topic = RECORDING_TOPIC;
      out.payload = payload;
      send(out);
      showStats(a.stats);
    });

    handleClose(node, async () => {
      closed = true;
      if (statusTimer) clearTimeout(statusTimer);
      statusTimer = undefined;
      await archiver?.close();
      archiver = undefined;
      if (isStoreHandle(store)) store.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-archive', PfcamArchiveNode);
}
