/**
 * `pfcam-status`: its options and the message it sends for one camera state change (online, offline,
 * restarting, and a reboot seen through a lower uptime).
 */
import { InputError } from '../errors';
import type { HealthChange, HealthSnapshot } from './camera-health';
import { cameraRef, type CameraHandle } from './camera-operation';
import type { CameraStatusPayload, PfcamStatusMessage } from './messages';
import { configOption, readEnum } from '../config/option-reader';

export type StatusScope = 'one' | 'all';

export interface StatusNodeOptions {
  /** Watch the node's camera, or every pfcam-camera node of the running flows. */
  readonly scope: StatusScope;
  /** The camera's config node id (scope `one`). */
  readonly camera: string;
}

export const STATUS_TOPIC = 'pfcam/status';

export function statusNodeOptions(config: Readonly<Record<string, unknown>>): StatusNodeOptions {
  const scope = readEnum(configOption(config, 'scope'), ['one', 'all'] as const, 'one');
  const camera = typeof config.camera === 'string' ? config.camera : '';
  if (scope === 'one' && camera === '') {
    throw new InputError('No camera is chosen: choose a camera, or set "Watch" to all cameras', {
      key: 'errors.noCamera',
    });
  }
  return Object.freeze({ scope, camera });
}

/** The payload for one health change. */
export function statusPayload(camera: CameraHandle, change: HealthChange): CameraStatusPayload {
  const ref = cameraRef(camera);
  return {
    camera: { ...ref, serialNumber: change.snapshot.serialNumber ?? ref.serialNumber },
    state: change.state,
    previous: change.previous,
    rebooted: change.rebooted,
    at: change.at,
    uptime: change.snapshot.uptime ?? null,
  };
}

/** The payload for the current state (sent on request): `previous` is the state itself, `at` when it began. */
export function currentStatusPayload(camera: CameraHandle, snapshot: HealthSnapshot): CameraStatusPayload {
  return statusPayload(camera, {
    state: snapshot.state,
    previous: snapshot.state,
    rebooted: false,
    at: snapshot.since,
    snapshot,
  });
}

export function statusMessage(payload: CameraStatusPayload): PfcamStatusMessage {
  return { topic: STATUS_TOPIC, payload };
}

/** Counts of cameras per state, for the node status of an "all cameras" node. */
export function stateCounts(states: readonly string[]): { online: number; offline: number; other: number } {
  let online = 0;
  let offline = 0;
  for (const s of states) {
    if (s === 'online') online++;
    else if (s === 'offline') offline++;
  }
  return { online, offline, other: states.length - online - offline };
}
