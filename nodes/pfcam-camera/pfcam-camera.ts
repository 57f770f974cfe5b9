import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { CameraApi } from '../../lib/camera/camera-api';
import { CameraClient } from '../../lib/camera/camera-client';
import {
  parseCameraConfig,
  type CameraConfig,
  type RawCameraConfig,
  type RawCameraCredentials,
} from '../../lib/camera/camera-config';
import {
  CameraHealth,
  type CameraState,
  type HealthChange,
  type HealthSnapshot,
} from '../../lib/camera/camera-health';
import { WriteLock } from '../../lib/camera/write-lock';
import { cameras } from '../../lib/cameras/camera-registry';
import type { LiveCaps } from '../../lib/live/live-caps';
import { errorText } from '../../lib/errors';
import { handleClose } from '../shared/input';
import { Status } from '../shared/status';
import type { CameraConfigNode } from './camera-node';

type CameraNodeDef = NodeDef & Omit<RawCameraConfig, 'name'>;

type CameraNode = Node<RawCameraCredentials> & CameraConfigNode;

/** How each camera state shows on the nodes that use the camera. */
function showState(status: Status, state: CameraState): void {
  switch (state) {
    case 'online':
      status.ok('status.online');
      break;
    case 'offline':
      status.error('status.offline');
      break;
    case 'restarting':
      status.connecting('status.restarting');
      break;
    case 'unknown':
      status.connecting('status.connecting');
      break;
  }
}

export default function (RED: NodeAPI): void {
  function PfcamCameraNode(this: Node<RawCameraCredentials>, def: CameraNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as CameraNode;

    let config: CameraConfig | undefined;
    let configError: Error | undefined;
    try {
      config = parseCameraConfig(def, node.credentials ?? {});
    } catch (err) {
      configError = err instanceof Error ? err : new Error(String(err));
      node.error(RED._('pfcam-camera.errors.config', { error: errorText(err) }));
    }

    const client: CameraApi | undefined = config
      ? new CameraClient({
          baseUrl: config.baseUrl,
          username: config.username,
          password: config.password,
          tls: config.tls,
          maxConnections: config.maxConnections,
          timeouts: { requestMs: config.requestTimeoutMs },
        })
      : undefined;

    const health = new CameraHealth(
      (signal) => {
        if (!client) return Promise.reject(configError ?? new Error('camera not configured'));
        return client.getSystemInfo({ signal, timeoutMs: config?.probeIntervalMs, probe: true });
      },
      { intervalMs: config?.probeIntervalMs ?? 30_000 },
    );
    const lock = new WriteLock();
    const users = new Map<Node, { status: Status; onChange?: (change: HealthChange) => void }>();

    const onChange = (change: HealthChange): void => {
      if (change.state === 'offline' && change.previous !== 'offline') {
        node.warn(
          RED._('pfcam-camera.log.offline', {
            camera: node.displayName,
            error: change.snapshot.lastError ?? '',
          }),
        );
      } else if (
        change.state === 'online' &&
        (change.previous === 'offline' || change.previous === 'restarting')
      ) {
        node.log(RED._('pfcam-camera.log.online', { camera: node.displayName }));
      }
      for (const [, user] of users) {
        showState(user.status, change.state);
        try {
          user.onChange?.(change);
        } catch (err) {
          node.warn(errorText(err));
        }
      }
    };
    health.on('change', onChange);

    Object.defineProperties(node, {
      client: {
        get(): CameraApi {
          if (!client) throw configError ?? new Error('camera not configured');
          return client;
        },
      },
      health: { value: health },
      snapshot: { get: (): HealthSnapshot => health.snapshot },
      serialNumber: { get: (): string | undefined => health.snapshot.serialNumber },
      liveCaps: { get: (): LiveCaps | undefined => config?.liveCaps },
      displayName: {
        get: (): string => config?.name || health.snapshot.name || config?.baseUrl || node.id,
      },
    });
    Object.defineProperty(node, 'rtspCredentials', {
      value: () =>
        config?.username !== undefined
          ? { username: config.username, password: config.password ?? '' }
          : undefined,
    });
    node.exclusive = <T>(work: () => Promise<T>): Promise<T> => lock.run(work);
    node.register = (user: Node, onUserChange?: (change: HealthChange) => void): (() => void) => {
      const status = new Status(user, RED);
      users.set(user, { status, onChange: onUserChange });
      if (configError) status.error('errors.cameraConfig');
      else showState(status, health.state);
      return () => {
        users.delete(user);
      };
    };

    if (client) health.start();
    // A camera whose configuration is invalid has no client: nothing can use it, so it is not registered.
    const unregister = client ? cameras.add(node) : (): void => undefined;

    handleClose(node, async () => {
      unregister();
      health.off('change', onChange);
      health.stop();
      users.clear();
      await client?.close();
    });
  }

  RED.nodes.registerType('pfcam-camera', PfcamCameraNode, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
}
