import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { NEW_RECORDING_TOPIC, type NewRecordingMessage } from '../../lib/archive/messages';
import { parseWatchOptions, type RawWatchConfig, type WatchOptions } from '../../lib/archive/options';
import { CameraWatcher, type WatcherStatus } from '../../lib/archive/watcher';
import { InputError, errorText } from '../../lib/errors';
import { isCameraConfigNode } from '../pfcam-camera/camera-node';
import { isStoreHandle } from '../pfcam-store/store-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The editor configuration of a `pfcam-watch` node. */
export interface WatchNodeDef extends NodeDef, RawWatchConfig {
  /** Id of the `pfcam-camera` config node. */
  camera: string;
  /** Id of the `pfcam-store` config node. */
  store: string;
}

/** Any message: check the camera's list now. */
export type WatchInputMessage = NodeMessageInFlow;
/** One per new recording. */
export type WatchOutputMessage = NewRecordingMessage;

export default function (RED: NodeAPI): void {
  function PfcamWatchNode(this: Node, def: WatchNodeDef): void {
    RED.nodes.createNode(this, def);
    startWatch(this, def);
  }

  /** Everything after createNode: options, config nodes, the controller, input and close. */
  function startWatch(node: Node, def: WatchNodeDef): void {
    const status = new Status(node, RED);
    const camera = RED.nodes.getNode(def.camera);
    const store = RED.nodes.getNode(def.store);

    let options: WatchOptions | undefined;
    let setupError: Error | undefined;
    try {
      options = parseWatchOptions(def);
    } catch (err) {
      setupError = err instanceof Error ? err : new Error(String(err));
    }

    let watcher: CameraWatcher | undefined;
    let unregister: (() => void) | undefined;
    let closed = false;
    let lastStatus: WatcherStatus | undefined;

    const show = (s: WatcherStatus | undefined): void => {
      if (closed || !s) return;
      const count = s.announced;
      switch (s.state) {
        case 'live':
          status.text('green', 'dot', RED._('pfcam-watch.status.live', { count }));
          break;
        case 'polling':
          status.text('yellow', 'dot', RED._('pfcam-watch.status.polling', { count }));
          break;
        case 'offline':
          status.text('red', 'ring', RED._('pfcam-watch.status.offline'));
          break;
        case 'connecting':
          status.connecting('status.connecting');
          break;
        case 'stopped':
          break;
      }
    };

    let ready: Promise<CameraWatcher>;
    if (setupError || !options) {
      status.failed(setupError);
      node.error(errorText(setupError));
      ready = Promise.reject(setupError ?? new Error('invalid configuration'));
    } else if (!isCameraConfigNode(camera)) {
      status.error('errors.noCamera');
      ready = Promise.reject(
        new InputError(RED._('pfcam-watch.errors.noCamera'), { key: 'errors.noCamera' }),
      );
    } else if (!isStoreHandle(store)) {
      status.text('red', 'ring', RED._('pfcam-watch.status.noStore'));
      ready = Promise.reject(new InputError(RED._('pfcam-watch.errors.noStore'), { key: 'errors.noStore' }));
    } else {
      const watchOptions = options;
      store.register(node);
      unregister = camera.register(node, (change) => {
        if (change.state !== 'online') return;
        // The camera came back (or rebooted): what it recorded meanwhile is in its list.
        if (change.previous !== 'online' || change.rebooted) void watcher?.reconcileNow();
        show(lastStatus);
      });
      status.connecting('status.connecting');
      ready = store.ready().then((events) => {
        if (closed) throw new Error('closed');
        const w = new CameraWatcher({
          client: camera.client,
          store: events,
          options: watchOptions,
          displayName: () => camera.name || undefined,
        });
        w.on('recording', (payload) => {
          const msg: WatchOutputMessage = { topic: NEW_RECORDING_TOPIC, payload };
          node.send(msg);
          show(w.status);
        });
        w.on('status', (s) => {
          lastStatus = s;
          show(s);
        });
        w.on('rejected', (entry) => {
          node.warn(
            RED._('pfcam-watch.errors.rejected', {
              camera: camera.displayName,
              recording: recordingName(entry.raw),
              reason: entry.reason,
            }),
          );
        });
        w.on('listProblem', (problem) => {
          node.warn(
            RED._('pfcam-watch.errors.listFailed', {
              camera: camera.displayName,
              error: problem.error,
              suppressed: problem.suppressed,
            }),
          );
        });
        w.on('error', (err) => {
          node.error(
            RED._('pfcam-watch.errors.discovery', { camera: camera.displayName, error: errorText(err) }),
          );
        });
        watcher = w;
        w.start();
        return w;
      });
      ready.catch((err: unknown) => {
        if (closed) return;
        status.failed(err);
        node.error(errorText(err));
      });
    }
    ready.catch(() => undefined);

    handleInput(node, status, async () => {
      const w = await ready;
      await w.reconcileNow();
      show(w.status);
    });

    handleClose(node, async () => {
      closed = true;
      unregister?.();
      unregister = undefined;
      await watcher?.stop();
      watcher = undefined;
      if (isStoreHandle(store)) store.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-watch', PfcamWatchNode);
}

/**
 * The name of a refused recording for a log line: its file name (or the whole entry) as JSON, so that control
 * characters and quotes show escaped, cut to 120 characters.
 */
function recordingName(raw: unknown): string {
  const name = (raw as { fileName?: unknown } | null)?.fileName;
  let text: string;
  try {
    text = JSON.stringify(name ?? raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
