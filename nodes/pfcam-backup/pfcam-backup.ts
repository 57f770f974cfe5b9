import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  parseBackupNodeOptions,
  type BackupNodeOptions,
  type RawBackupConfig,
} from '../../lib/backup/backup-options';
import { rebuildIndexFromS3, type RebuildReport } from '../../lib/backup/rebuild';
import {
  S3Backup,
  type BackupStats,
  type BackupTarget,
  type ObjectConfirmed,
  type RecordingBackedUp,
} from '../../lib/backup/s3-backup';
import { InputError, errorText } from '../../lib/errors';
import { isS3ConfigNode } from '../pfcam-s3/s3-node';
import { isStoreHandle } from '../pfcam-store/store-handle';
import { handleClose, handleInput } from '../shared/input';
import { Status } from '../shared/status';

/** The editor configuration of a `pfcam-backup` node. */
export interface BackupNodeDef extends NodeDef, RawBackupConfig {
  /** Id of the `pfcam-store` config node. */
  store: string;
  /** Id of the `pfcam-s3` config node. */
  s3: string;
}

export const BACKUP_ACTIONS = ['backup', 'drain-now', 'status', 'rebuild'] as const;
export type BackupAction = (typeof BACKUP_ACTIONS)[number];

/**
 * Input. `msg.action` (else `msg.topic` when it names an action, else `backup`):
 * - `backup`: `msg.payload` names a stored recording: `{ id }` (a `pfcam-archive` message), `{ eventId }`, or
 *   `{ cameraSerial, fileName }`;
 * - `drain-now`, `status`: no payload;
 * - `rebuild`: `msg.payload` may be `{ download?: boolean, cameraSerial?: string }`.
 */
export type BackupInputMessage = NodeMessageInFlow & { action?: unknown; payload?: unknown };

/** Output 1: a recording fully backed up (`topic` `pfcam/backup`), or one object confirmed (`pfcam/backup-object`). */
export type BackupRecordingMessage = { _msgid?: string; topic: 'pfcam/backup'; payload: RecordingBackedUp };
export type BackupObjectMessage = { _msgid?: string; topic: 'pfcam/backup-object'; payload: ObjectConfirmed };

/** Output 2: the backup's figures (on change, and as the answer to `status` / `drain-now`), or a rebuild report. */
export type BackupStatusMessage = { _msgid?: string; topic: 'pfcam/backup-status'; payload: BackupStats };
export type BackupRebuildMessage = { _msgid?: string; topic: 'pfcam/backup-rebuild'; payload: RebuildReport };

const STATUS_TOPIC = 'pfcam/backup-status';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The recording a `backup` message names. */
export function backupTarget(payload: unknown): BackupTarget | undefined {
  if (!isRecord(payload)) return undefined;
  for (const key of ['id', 'eventId'] as const) {
    const v = payload[key];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return { id: v };
  }
  const { cameraSerial, fileName } = payload;
  if (
    typeof cameraSerial === 'string' &&
    cameraSerial !== '' &&
    typeof fileName === 'string' &&
    fileName !== ''
  ) {
    return { cameraSerial, fileName };
  }
  return undefined;
}

function actionOf(msg: BackupInputMessage): BackupAction {
  const requested = typeof msg.action === 'string' ? msg.action : undefined;
  if (requested !== undefined) {
    if ((BACKUP_ACTIONS as readonly string[]).includes(requested)) return requested as BackupAction;
    throw new InputError(`unknown action "${requested}": backup, drain-now, status or rebuild`, {
      key: 'errors.badOperation',
    });
  }
  if (typeof msg.topic === 'string' && (BACKUP_ACTIONS as readonly string[]).includes(msg.topic)) {
    return msg.topic as BackupAction;
  }
  return 'backup';
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${bytes} B`;
}

/**
 * The `pfcam-backup` node: drains the store's backup outbox to the S3 bucket of a `pfcam-s3` node in the
 * background (from deploy to close), and queues the recordings it receives.
 */
export default function (RED: NodeAPI): void {
  function PfcamBackupNode(this: Node, def: BackupNodeDef): void {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  function setUp(node: Node, def: BackupNodeDef): void {
    const status = new Status(node, RED);
    const store = RED.nodes.getNode(def.store);
    const s3 = RED.nodes.getNode(def.s3);
    let closed = false;
    let backup: S3Backup | undefined;

    const showStats = (stats: BackupStats): void => {
      if (closed) return;
      const params = {
        pending: stats.pendingCount,
        bytes: formatBytes(stats.pendingBytes),
        rate: formatBytes(stats.throughputBytesPerSecond),
        failures: stats.consecutiveFailures,
        failed: stats.failedCount,
      };
      if (stats.failing) status.text('red', 'ring', RED._('pfcam-backup.status.failing', params));
      else if (stats.consecutiveFailures > 0)
        status.text('yellow', 'ring', RED._('pfcam-backup.status.retrying', params));
      else if (stats.pendingCount > 0) status.text('blue', 'dot', RED._('pfcam-backup.status.busy', params));
      else if (stats.failedCount > 0)
        status.text('yellow', 'ring', RED._('pfcam-backup.status.failed', params));
      else status.text('green', 'dot', RED._('pfcam-backup.status.idle', params));
    };

    let options: BackupNodeOptions | undefined;
    let ready: Promise<S3Backup>;
    try {
      options = parseBackupNodeOptions(def);
      if (!isStoreHandle(store))
        throw new InputError(RED._('pfcam-backup.errors.noStore'), { key: 'errors.noStore' });
      if (!isS3ConfigNode(s3))
        throw new InputError(RED._('pfcam-backup.errors.noS3'), { key: 'errors.noS3' });
      const { client, options: s3Options } = s3.target();
      const nodeOptions = options;
      store.register(node);
      status.connecting('status.connecting');
      ready = store.ready().then((events) => {
        if (closed) throw new Error('closed');
        const b = new S3Backup({
          store: events,
          client,
          s3: s3Options,
          options: nodeOptions.backup,
          onLoopError: (err) => node.warn(RED._('pfcam-backup.errors.loop', { error: errorText(err) })),
        });
        b.subscribe({
          onRecording: (payload) => {
            if (nodeOptions.emit === 'object') return;
            const msg: BackupRecordingMessage = { topic: 'pfcam/backup', payload };
            node.send([msg, null]);
          },
          onObject: (payload) => {
            if (nodeOptions.emit === 'recording') return;
            const msg: BackupObjectMessage = { topic: 'pfcam/backup-object', payload };
            node.send([msg, null]);
          },
          onStats: (stats) => {
            showStats(stats);
            const msg: BackupStatusMessage = { topic: STATUS_TOPIC, payload: stats };
            node.send([null, msg]);
          },
        });
        backup = b;
        b.start();
        void b.stats().then(showStats, () => undefined);
        return b;
      });
    } catch (err) {
      ready = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    ready.catch((err: unknown) => {
      if (closed) return;
      status.failed(err);
      node.error(errorText(err));
    });

    handleInput<BackupInputMessage>(node, status, async (msg, send) => {
      const b = await ready;
      const action = actionOf(msg);
      if (action === 'backup') {
        const target = backupTarget(msg.payload);
        if (!target) {
          throw new InputError(RED._('pfcam-backup.errors.badRequest'), { key: 'errors.badInput' });
        }
        await b.enqueue(target);
        return;
      }
      if (action === 'rebuild') {
        const request = isRecord(msg.payload) ? msg.payload : {};
        if (request.download !== undefined && typeof request.download !== 'boolean') {
          throw new InputError('msg.payload.download must be true or false', { key: 'errors.badInput' });
        }
        if (request.cameraSerial !== undefined && typeof request.cameraSerial !== 'string') {
          throw new InputError('msg.payload.cameraSerial must be a string', { key: 'errors.badInput' });
        }
        const { options: s3Options } = isS3ConfigNode(s3) ? s3.target() : { options: undefined };
        const events = isStoreHandle(store) ? await store.ready() : undefined;
        if (!s3Options || !events)
          throw new InputError(RED._('pfcam-backup.errors.noS3'), { key: 'errors.noS3' });
        status.busy('status.busy');
        const report = await rebuildIndexFromS3(events, b.objects, s3Options.prefix, {
          download: request.download === true,
          ...(typeof request.cameraSerial === 'string' ? { cameraSerial: request.cameraSerial } : {}),
          actor: 'pfcam-backup',
        });
        const out = msg as unknown as BackupRebuildMessage;
        out.topic = 'pfcam/backup-rebuild';
        out.payload = report;
        send([null, out]);
        showStats(await b.stats());
        return;
      }
      const stats = action === 'drain-now' ? await b.drainNow() : await b.stats();
      showStats(stats);
      const out = msg as unknown as BackupStatusMessage;
      out.topic = STATUS_TOPIC;
      out.payload = stats;
      send([null, out]);
    });

    handleClose(node, async () => {
      closed = true;
      await backup?.stop(8_000);
      backup = undefined;
      if (isStoreHandle(store)) store.deregister(node);
      status.clear();
    });
  }

  RED.nodes.registerType('pfcam-backup', PfcamBackupNode);
}
