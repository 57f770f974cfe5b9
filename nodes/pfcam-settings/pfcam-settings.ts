import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { CameraRef } from '../../lib/camera/messages';
import {
  SETTINGS_OPERATIONS,
  type PfcamSettingsMessage,
  type PfcamSettingsWriteMessage,
  type SettingsOperation,
  type UnsupportedPayload,
} from '../../lib/camera/messages-settings';
import {
  parseSettingsNodeOptions,
  resolveOperation,
  resolveSecretKey,
  type SettingsNodeOptions,
} from '../../lib/camera/settings-options';
import { stripSecrets } from '../../lib/camera/settings-schema';
import {
  isUnsupported,
  readLive,
  resetSettings,
  writeLive,
  writeSettings,
  type LiveResource,
  type SettingsWriteResult,
} from '../../lib/camera/settings-writer';
import { InputError, PfcamError } from '../../lib/errors';
import type { CameraConfigNode } from '../pfcam-camera/camera-node';
import { SHOW_BAD_OPTION, setupCameraUser } from '../shared/camera-user';
import { handleClose, handleInput } from '../shared/input';
import type { Status } from '../shared/status';

/** The node's configuration as the editor saves it (checked by `parseSettingsNodeOptions`). */
interface SettingsNodeDef extends NodeDef {
  camera?: string;
  operation?: string;
  changes?: string;
  changesType?: string;
  secretKey?: string;
  allowUnknown?: boolean;
  confirmReset?: boolean;
  restartTimeout?: number | string;
}

/** What the node reads from an input message (each property optional and checked). */
interface SettingsInputMessage extends NodeMessageInFlow {
  /** Overrides the node's operation. */
  operation?: unknown;
  /** The changes (by default; see the "Changes" field). */
  payload?: unknown;
  /** Must be `true` for `reset`. */
  confirm?: unknown;
  /** The secret for `setSecret`; removed from the message before it goes on. */
  secret?: unknown;
  /** Which secret `setSecret` writes. */
  secretKey?: unknown;
}

type Output = NodeMessageInFlow & PfcamSettingsMessage;

const LIVE: Partial<Record<SettingsOperation, { resource: LiveResource; write: boolean }>> = {
  getExposure: { resource: 'exposure', write: false },
  setExposure: { resource: 'exposure', write: true },
  getFocus: { resource: 'focus', write: false },
  setFocus: { resource: 'focus', write: true },
  getOverlay: { resource: 'overlay', write: false },
  setOverlay: { resource: 'overlay', write: true },
};

export default function (RED: NodeAPI): void {
  function PfcamSettingsNode(this: Node, def: SettingsNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  /** The node's body, once Node-RED has initialised it. */
  function setup(node: Node, def: SettingsNodeDef): void {
    const user = setupCameraUser<SettingsNodeOptions>(
      RED,
      node,
      def.camera,
      () => parseSettingsNodeOptions(def as unknown as Record<string, unknown>),
      SHOW_BAD_OPTION,
    );
    const { status, options, camera } = user;
    const optionsError = options ? undefined : user.setupError;
    const closing = user.abort;

    handleInput<SettingsInputMessage>(node, status, async (msg, send) => {
      // A secret must never travel on, not even to a Catch node: take it off the message first.
      const secret = msg.secret;
      delete msg.secret;
      if (optionsError || !options) throw optionsError ?? new Error('options missing');
      if (!camera) {
        throw new PfcamError('errors.noCamera', 'No camera configured: select a pfcam-camera in the node');
      }
      const operation = resolveOperation(msg.operation, SETTINGS_OPERATIONS, options.operation);
      const out = msg as unknown as Output;
      const ref = cameraRef(camera);
      const restartTimeoutMs = options.restartTimeoutMs;
      const signal = closing.signal;

      const live = LIVE[operation];
      if (live) {
        let changes: unknown;
        if (live.write) changes = readChanges(node, msg, options);
        status.busy(live.write ? 'status.writing' : 'status.reading');
        try {
          if (live.write) {
            const result = await writeLive(camera, live.resource, changes, { signal });
            Object.assign(out, {
              operation,
              camera: ref,
              payload: result.values,
              changed: result.changed,
              verified: result.verified,
              mismatches: result.mismatches,
            });
            showWrite(status, result.changed);
          } else {
            const values = await readLive(camera, live.resource, { signal });
            Object.assign(out, { operation, camera: ref, payload: values });
            status.ok('status.done');
          }
        } catch (err) {
          if (!isUnsupported(err)) throw err;
          const payload: UnsupportedPayload = { supported: false, feature: err.feature };
          Object.assign(out, { operation, camera: ref, payload });
          status.disabled('status.unsupported');
        }
        send(out);
        return;
      }

      switch (operation) {
        case 'get': {
          status.busy('status.reading');
          const settings = stripSecrets(await camera.client.getSettings({ signal }));
          Object.assign(out, { operation, camera: ref, payload: settings });
          status.ok('status.done');
          break;
        }
        case 'set': {
          const changes = readChanges(node, msg, options);
          status.busy('status.writing');
          const result = await writeSettings(camera, changes, {
            allowUnknown: options.allowUnknown,
            restartTimeoutMs,
            signal,
          });
          Object.assign(out, writeOutput(operation, ref, result));
          showWrite(status, result.changed);
          break;
        }
        case 'setSecret': {
          const key = resolveSecretKey(msg.secretKey, options.secretKey);
          if (typeof secret !== 'string' || secret === '') {
            throw new InputError(`msg.secret must hold the new value of ${key} as a non-empty string`, {
              key: 'errors.noSecret',
            });
          }
          status.busy('status.writing');
          const result = await writeSettings(
            camera,
            { [key]: secret },
            { allowSecrets: true, restartTimeoutMs, signal },
          );
          Object.assign(out, writeOutput(operation, ref, result));
          showWrite(status, result.changed);
          break;
        }
        case 'reset': {
          if (!options.confirmReset || msg.confirm !== true) {
            throw new InputError(
              'Factory reset refused, nothing was sent: tick "Allow factory reset" in the node and send ' +
                "msg.confirm = true. A reset may also reset the camera's network settings.",
              { key: 'errors.resetNotConfirmed' },
            );
          }
          status.busy('status.resetting');
          const result = await resetSettings(camera, { restartTimeoutMs, signal });
          Object.assign(out, { operation, camera: ref, payload: result.settings, restart: result.restart });
          status.ok('status.done');
          break;
        }
        default:
          throw new InputError(`Operation ${operation} is not handled`, { key: 'errors.badOperation' });
      }
      send(out);
    });

    handleClose(node, () => {
      user.dispose(new Error('node closed'));
      status.clear();
    });
  }

  /** The changes of a write: from the message (default `msg.payload`), a fixed JSON, or a context. */
  function readChanges(node: Node, msg: SettingsInputMessage, options: SettingsNodeOptions): unknown {
    const { type, value } = options.changes;
    try {
      return RED.util.evaluateNodeProperty(value, type, node, msg) as unknown;
    } catch (err) {
      throw new InputError(
        `The "Changes" field (${type}) could not be read: ${err instanceof Error ? err.message : String(err)}`,
        { key: 'errors.badInput' },
      );
    }
  }

  function cameraRef(camera: CameraConfigNode): CameraRef {
    return {
      serialNumber: camera.serialNumber ?? null,
      name: camera.displayName,
      url: camera.client.baseUrl,
    };
  }

  function writeOutput(
    operation: 'set' | 'setSecret',
    camera: CameraRef,
    result: SettingsWriteResult,
  ): PfcamSettingsWriteMessage {
    return {
      operation,
      camera,
      payload: result.settings,
      changed: result.changed,
      verified: result.verified,
      mismatches: result.mismatches,
      restart: result.restart ?? null,
    };
  }

  function showWrite(status: Status, changed: readonly string[]): void {
    if (changed.length === 0) status.ok('status.unchanged');
    else status.ok('status.verified', { count: changed.length });
  }

  RED.nodes.registerType('pfcam-settings', PfcamSettingsNode);
}
