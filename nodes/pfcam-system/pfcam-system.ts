import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { checkNtpServer, fixClock, measureClockDrift } from '../../lib/camera/clock-drift';
import type { CameraRef } from '../../lib/camera/messages';
import {
  SYSTEM_OPERATIONS,
  type ClockFixPayload,
  type PfcamSystemMessage,
  type RebootPayload,
  type UnsupportedPayload,
} from '../../lib/camera/messages-settings';
import {
  parseSystemNodeOptions,
  resolveOperation,
  type SystemNodeOptions,
} from '../../lib/camera/settings-options';
import { isUnsupported, rebootCamera } from '../../lib/camera/settings-writer';
import { InputError, PfcamError } from '../../lib/errors';
import type { CameraConfigNode } from '../pfcam-camera/camera-node';
import { SHOW_BAD_OPTION, setupCameraUser } from '../shared/camera-user';
import { handleClose, handleInput } from '../shared/input';

/** The node's configuration as the editor saves it (checked by `parseSystemNodeOptions`). */
interface SystemNodeDef extends NodeDef {
  camera?: string;
  operation?: string;
  threshold?: number | string;
  ntpServer?: string;
  ntpServerType?: string;
  allowRestart?: boolean;
  restartTimeout?: number | string;
}

/** What the node reads from an input message (each property optional and checked). */
interface SystemInputMessage extends NodeMessageInFlow {
  /** Overrides the node's operation. */
  operation?: unknown;
  /** `fixClock`: `{ ntpServer }` overrides the node's NTP server. */
  payload?: unknown;
}

type Output = NodeMessageInFlow & PfcamSystemMessage;

export default function (RED: NodeAPI): void {
  function PfcamSystemNode(this: Node, def: SystemNodeDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  /** The node's body, once Node-RED has initialised it. */
  function setup(node: Node, def: SystemNodeDef): void {
    const user = setupCameraUser<SystemNodeOptions>(
      RED,
      node,
      def.camera,
      () => parseSystemNodeOptions(def as unknown as Record<string, unknown>),
      SHOW_BAD_OPTION,
    );
    const { status, options, camera } = user;
    const optionsError = options ? undefined : user.setupError;
    const closing = user.abort;

    handleInput<SystemInputMessage>(node, status, async (msg, send) => {
      if (optionsError || !options) throw optionsError ?? new Error('options missing');
      if (!camera) {
        throw new PfcamError('errors.noCamera', 'No camera configured: select a pfcam-camera in the node');
      }
      const operation = resolveOperation(msg.operation, SYSTEM_OPERATIONS, options.operation);
      const out = msg as unknown as Output;
      const client = camera.client;
      const signal = closing.signal;
      const base = { operation, camera: cameraRef(camera) };

      /** Reads an [A] resource; a camera without it gives `{ supported: false }` and a grey status. */
      const readOptional = async <T>(read: () => Promise<T>): Promise<T | UnsupportedPayload> => {
        try {
          const value = await read();
          status.ok('status.done');
          return value;
        } catch (err) {
          if (!isUnsupported(err)) throw err;
          status.disabled('status.unsupported');
          return { supported: false, feature: err.feature };
        }
      };

      switch (operation) {
        case 'info':
          status.busy('status.reading');
          Object.assign(out, base, { payload: await client.getSystemInfo({ signal }) });
          status.ok('status.done');
          break;
        case 'storage':
          status.busy('status.reading');
          Object.assign(out, base, { payload: await readOptional(() => client.getStorage({ signal })) });
          break;
        case 'firmware':
          status.busy('status.reading');
          Object.assign(out, base, { payload: await readOptional(() => client.getFirmware({ signal })) });
          break;
        case 'datetime':
          status.busy('status.reading');
          Object.assign(out, base, { payload: await readOptional(() => client.getDateTime({ signal })) });
          break;
        case 'timezones':
          status.busy('status.reading');
          Object.assign(out, base, { payload: await readOptional(() => client.getTimezones({ signal })) });
          break;
        case 'reboot': {
          requireRestartAllowed(options, operation);
          status.busy('status.rebooting');
          const result = await rebootCamera(camera, { restartTimeoutMs: options.restartTimeoutMs, signal });
          const payload: RebootPayload = {
            tookMs: result.tookMs,
            uptime: result.uptime,
            previousUptime: result.previousUptime ?? null,
          };
          Object.assign(out, base, { payload });
          status.ok('status.rebooted', { uptime: result.uptime ?? '?' });
          break;
        }
        case 'clockDrift': {
          status.busy('status.measuring');
          const drift = await measureClockDrift(client, {
            signal,
            thresholdSeconds: options.thresholdSeconds,
          });
          Object.assign(out, base, { payload: drift });
          if (drift.ok) status.ok('status.clockOk', { drift: drift.driftSeconds });
          else status.connecting('status.clockDrifting', { drift: drift.driftSeconds });
          break;
        }
        case 'fixClock': {
          requireRestartAllowed(options, operation);
          const server = ntpServerOf(node, msg, options);
          status.busy('status.writing');
          const result = await fixClock(camera, server, {
            restartTimeoutMs: options.restartTimeoutMs,
            thresholdSeconds: options.thresholdSeconds,
            signal,
          });
          const payload: ClockFixPayload = {
            ntpServer: result.ntpServer,
            changed: result.write.changed,
            verified: result.write.verified,
            mismatches: result.write.mismatches,
            restart: result.write.restart ?? null,
            drift: result.drift,
          };
          Object.assign(out, base, { payload });
          if (result.drift.ok) status.ok('status.clockOk', { drift: result.drift.driftSeconds });
          else status.connecting('status.clockDrifting', { drift: result.drift.driftSeconds });
          break;
        }
      }
      send(out);
    });

    handleClose(node, () => {
      user.dispose(new Error('node closed'));
      status.clear();
    });
  }

  /** `reboot` and `fixClock` restart the camera: only when the node allows it. Nothing is sent otherwise. */
  function requireRestartAllowed(options: SystemNodeOptions, operation: string): void {
    if (!options.allowRestart) {
      throw new InputError(
        `${operation} restarts the camera and is refused, nothing was sent: tick "Allow operations that restart ` +
          'the camera" in the node to allow it',
        { key: 'errors.restartNotAllowed', params: { operation } },
      );
    }
  }

  /** The NTP server of a `fixClock`: `msg.payload.ntpServer` when given, else the node's field. */
  function ntpServerOf(node: Node, msg: SystemInputMessage, options: SystemNodeOptions): string {
    const payload = msg.payload;
    if (
      typeof payload === 'object' &&
      payload !== null &&
      !Array.isArray(payload) &&
      'ntpServer' in payload
    ) {
      return checkNtpServer(payload.ntpServer, 'msg.payload.ntpServer');
    }
    const { type, value } = options.ntpServer;
    let server: unknown;
    try {
      server = RED.util.evaluateNodeProperty(value, type, node, msg) as unknown;
    } catch (err) {
      throw new InputError(
        `The "NTP server" field could not be read: ${err instanceof Error ? err.message : String(err)}`,
        { key: 'errors.ntpServer' },
      );
    }
    return checkNtpServer(server, type === 'str' ? 'the "NTP server" field' : `${type}.${value}`);
  }

  function cameraRef(camera: CameraConfigNode): CameraRef {
    return {
      serialNumber: camera.serialNumber ?? null,
      name: camera.displayName,
      url: camera.client.baseUrl,
    };
  }

  RED.nodes.registerType('pfcam-system', PfcamSystemNode);
}
