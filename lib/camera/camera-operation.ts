/**
 * What every camera node does around one camera call: refuse at once when the camera is known to be offline or
 * restarting (no waiting on a dead link), and turn a failure into an error whose message names the camera and
 * says what to fix. No Node-RED here: the nodes hand in their config node through the small `CameraHandle`.
 */
import { InputError, PfcamError, errorText } from '../errors';
import type { CameraState, HealthSnapshot } from './camera-health';
import type { CameraRef } from './messages';
import { publicBaseUrl } from './stream-urls';

/** What the camera nodes need of a `pfcam-camera` config node. */
export interface CameraHandle {
  readonly client: { readonly baseUrl: string };
  readonly health: { readonly state: CameraState; readonly snapshot: HealthSnapshot };
  readonly displayName: string;
  readonly serialNumber: string | undefined;
}

/** The camera a message is about (never with credentials). */
export function cameraRef(camera: CameraHandle): CameraRef {
  let url: string;
  try {
    url = publicBaseUrl(camera.client.baseUrl);
  } catch {
    url = ''; // the config node has no client (invalid configuration)
  }
  return { serialNumber: camera.serialNumber ?? null, name: camera.displayName, url };
}

/** No (valid) camera selected in the node. */
export function noCameraError(): PfcamError {
  return new PfcamError(
    'errors.noCamera',
    'No camera is configured: open the node and choose a camera (a pfcam-camera configuration node)',
  );
}

/** Throws at once when the camera is known to be offline or restarting. */
export function assertReachable(camera: CameraHandle): void {
  const { state, lastError } = camera.health.snapshot;
  if (state === 'offline') {
    throw new PfcamError(
      'errors.cameraOffline',
      `Camera "${camera.displayName}" is offline${lastError ? ` (${lastError})` : ''}: check that it is powered and reachable (network, VPN), then send the message again`,
    );
  }
  if (state === 'restarting') {
    throw new PfcamError(
      'errors.cameraRestarting',
      `Camera "${camera.displayName}" is restarting: send the message again once it is back online (a pfcam-status node tells when)`,
    );
  }
}

/** What to do about a failure, by error key. */
const ADVICE: Readonly<Record<string, string>> = {
  'errors.cameraOffline':
    'check that the camera is powered and reachable (network, VPN), then send the message again',
  'errors.cameraTimeout':
    'the link may be slow or down: send the message again, or raise the timeout of the camera configuration',
  'errors.auth': 'check the user and password of the camera configuration',
  'errors.tls': "check the camera configuration's certificate settings",
  'errors.badResponse': 'the answer was refused; check the camera and its firmware',
  'errors.integrity': 'the transfer was damaged; send the message again',
  'errors.tooLarge': 'raise the maximum size of the node, or write to a file instead',
  'errors.unsupported': 'this camera does not have the feature',
  'errors.cameraHttp': 'check the camera',
};

/** Context of a failed call, for a better message. */
export interface FailureContext {
  /** What was being done, e.g. "list the recordings". */
  action: string;
  /** The message for a 404, when one means "not found" (e.g. an unknown recording). */
  notFound?: string;
}

function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The error to report for a failed camera call: the camera's name, what failed and what to fix, keeping the
 * i18n key of a known error (`errors.cameraOffline`, `errors.auth`, ...). A network failure while the camera is
 * restarting becomes `errors.cameraRestarting`.
 */
export function operationError(err: unknown, camera: CameraHandle, context: FailureContext): PfcamError {
  const name = camera.displayName;
  if (err instanceof InputError) return err;
  const key = err instanceof PfcamError ? err.key : 'errors.failed';
  const params = err instanceof PfcamError ? err.params : {};
  // A 404 where the caller knows what it means (an unknown recording) is "not found", also on an [A] route
  // that the client would otherwise report as an unsupported feature.
  if (context.notFound !== undefined && httpStatusOf(err) === 404) {
    return new PfcamError('errors.notFound', `Camera "${name}": ${context.notFound}`, { cause: err, params });
  }
  if (
    (key === 'errors.cameraOffline' || key === 'errors.cameraTimeout') &&
    camera.health.snapshot.state === 'restarting'
  ) {
    return new PfcamError(
      'errors.cameraRestarting',
      `Camera "${name}" is restarting, could not ${context.action}: send the message again once it is back online`,
      { cause: err, params },
    );
  }
  const advice = ADVICE[key];
  return new PfcamError(
    key,
    `Camera "${name}": could not ${context.action}: ${errorText(err)}${advice ? ` (${advice})` : ''}`,
    { cause: err, params },
  );
}

/** Runs one camera call: the reachability check first, then the call, failures mapped by `operationError`. */
export async function runCameraCall<T>(
  camera: CameraHandle,
  context: FailureContext,
  call: () => Promise<T>,
): Promise<T> {
  assertReachable(camera);
  try {
    return await call();
  } catch (err) {
    throw operationError(err, camera, context);
  }
}
