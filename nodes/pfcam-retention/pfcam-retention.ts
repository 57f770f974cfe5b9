import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { cameras } from '../../lib/cameras/camera-registry';
import { errorText, InputError } from '../../lib/errors';
import {
  CameraUnavailableError,
  Retention,
  type DeleteOnCamera,
  type RetentionReport,
} from '../../lib/retention/retention';
import {
  applyRetentionOverrides,
  parseRetentionOptions,
  type RawRetentionConfig,
  type RetentionOptions,
} from '../../lib/retention/retention-options';
import { isStoreHandle } from '../pfcam-store/store-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The editor configuration of a `pfcam-retention` node. */
export interface RetentionNodeDef extends NodeDef, RawRetentionConfig {
  /** Id of the `pfcam-store` config node. */
  store: string;
}

/**
 * Input: runs retention now. `msg.payload`, when an object, overrides options for this run: `maxAgeDays`,
 * `maxTotalBytes`, `minFreePercent`, `minFreeBytes` (number, or null / 0 for no limit), `keepFlagged`,
 * `requireBackup`, `deleteOnCamera`, `dryRun` (boolean).
 */
export type RetentionInputMessage = NodeMessageInFlow & { payload?: unknown };

/** Output: the report of a run (scheduled runs send a new message). */
export type RetentionReportMessage = { _msgid?: string; topic: 'pfcam/retention'; payload: RetentionReport };

const TOPIC = 'pfcam/retention';

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${bytes} B`;
}

/**
 * The `pfcam-retention` node: removes old recordings by age, total size and free disk, keeping flagged ones and
 * (optionally) those not backed up yet, on an interval and on input; optionally deletes durable recordings on
 * their cameras.
 *
 * Cameras are found at run time, in the camera registry: the `pfcam-camera` config node whose camera reported
 * the recording's serial number. A recording of a camera not configured in this Node-RED (or not reached yet) simply waits for a
 * later run; nothing to wire, nothing to list in the editor.
 */
export default function (RED: NodeAPI): void {
  const deleteOnCamera: DeleteOnCamera = async (serial, fileName) => {
    const camera = cameras.knownSerial(serial);
    if (!camera) throw new CameraUnavailableError(serial);
    if (camera.snapshot.state === 'offline') throw new CameraUnavailableError(serial, 'offline');
    return camera.client.deleteEvent(fileName);
  };

  function PfcamRetentionNode(this: Node, def: RetentionNodeDef): void {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  function setUp(node: Node, def: RetentionNodeDef): void {
    const status = new Status(node, RED);
    const store = RED.nodes.getNode(def.store);
    const abort = new AbortController();
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();

    const show = (report: RetentionReport): void => {
      if (closed) return;
      const params = {
        removed: report.removed,
        freed: formatBytes(report.freedBytes),
        camera: report.deletedOnCamera,
        failures: report.failures.length,
      };
      if (report.dryRun) status.text('blue', 'ring', RED._('pfcam-retention.status.dryRun', params));
      else if (report.failures.length > 0)
        status.text('yellow', 'ring', RED._('pfcam-retention.status.partial', params));
      else status.text('green', 'dot', RED._('pfcam-retention.status.done', params));
    };

    let options: RetentionOptions | undefined;
    let ready: Promise<Retention>;
    try {
      options = parseRetentionOptions(def);
      if (!isStoreHandle(store))
        throw new InputError(RED._('pfcam-retention.errors.noStore'), { key: 'errors.noStore' });
      store.register(node);
      ready = store.ready().then(async (events) => {
        const retention = new Retention({ store: events, deleteOnCamera, actor: 'pfcam-retention' });
        await retention.init();
        return retention;
      });
    } catch (err) {
      ready = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    ready.catch((err: unknown) => {
      if (closed) return;
      status.failed(err);
      node.error(errorText(err));
    });

    /** Runs one at a time: a run asked for while another runs starts after it. */
    const run = (runOptions: RetentionOptions): Promise<RetentionReport> => {
      const next = running.then(async () => {
        const retention = await ready;
        if (closed) throw new Error('closed');
        status.busy('status.busy');
        return retention.run(runOptions, abort.signal);
      });
      running = next.catch(() => undefined);
      return next;
    };

    const base = options;
    if (base && base.intervalMinutes > 0) {
      const tick = (): void => {
        run(base).then(
          (report) => {
            show(report);
            const msg: RetentionReportMessage = { topic: TOPIC, payload: report };
            node.send(msg);
          },
          (err: unknown) => {
            if (closed) return;
            status.failed(err);
            node.error(RED._('pfcam-retention.errors.run', { error: errorText(err) }));
          },
        );
      };
      timer = setInterval(tick, base.intervalMinutes * 60_000);
      // a first run shortly after deploy, once the store is open
      ready.then(tick, () => undefined);
    }

    handleInput<RetentionInputMessage>(node, status, async (msg, send) => {
      if (!base) {
        await ready; // rethrows the configuration error
        throw new InputError('invalid configuration');
      }
      const runOptions = applyRetentionOverrides(base, msg.payload);
      const report = await run(runOptions);
      show(report);
      const out = msg as unknown as RetentionReportMessage;
      out.topic = TOPIC;
      out.payload = report;
      send(out);
    });

    handleClose(node, async () => {
      closed = true;
      clearInterval(timer);
      abort.abort();
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 8_000).unref())]);
      if (isStoreHandle(store)) store.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-retention', PfcamRetentionNode);
}
