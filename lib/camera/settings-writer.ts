/**
 * The procedures that change a camera: a settings write (the camera restarts), a factory reset, a reboot, and
 * the live sub-resources (exposure, focus, overlay: applied without a restart).
 *
 * A settings write: validate (every bad field at once, nothing sent) -> with the camera's write lock held: read
 * the current settings fresh -> diff (nothing to do when nothing changes) -> announce the restart to the health
 * monitor -> send only the changed keys -> wait for the camera to come back -> read back and compare every
 * changed key. Two writes never run at once on one camera: they queue on its lock.
 *
 * Written against small interfaces (the camera API, a health monitor, a lock) so that it is tested without
 * Node-RED; the `pfcam-camera` config node provides all three.
 */
import type { CameraApi, CallOptions } from './camera-api';
import type { CameraState, HealthSnapshot } from './camera-health';
import { CameraHttpError, CameraOfflineError, CameraTimeoutError, UnsupportedError } from './errors';
import { neverReachedCamera } from './http-transport';
import { PfcamError, InputError, errorText } from '../errors';
import {
  describeFieldErrors,
  diffSettings,
  findMismatches,
  isSecretSettingKey,
  stripSecrets,
  validateExposureChanges,
  validateFocusChanges,
  validateOverlayChanges,
  validateSettingsChanges,
  type SettingsFieldError,
  type SettingsMismatch,
  type ValidateSettingsOptions,
  type ValidationResult,
} from './settings-schema';
import type {
  CameraSettings,
  ExposureSettings,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
} from './types';

/** What the writer needs of the health monitor (`CameraHealth` has it). */
export interface RestartWatcher {
  readonly state: CameraState;
  readonly snapshot: HealthSnapshot;
  expectRestart(graceMs?: number): void;
  /** Withdraws the announcement when the request was refused or never reached the camera. */
  cancelRestart?(): void;
  waitFor(state: CameraState, timeoutMs: number, signal?: AbortSignal): Promise<HealthSnapshot>;
  probeNow(): Promise<HealthSnapshot>;
}

/** What the writer needs of a camera (the `pfcam-camera` config node has it). */
export interface WritableCamera {
  readonly client: Pick<
    CameraApi,
    | 'getSettings'
    | 'putSettings'
    | 'resetSettings'
    | 'reboot'
    | 'getExposure'
    | 'putExposure'
    | 'getFocus'
    | 'putFocus'
    | 'getOverlay'
    | 'putOverlay'
  >;
  readonly health: RestartWatcher;
  /** Runs `work` with the camera's write lock held. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** Default time a camera may take to come back after a write or a reboot (camera-api.md: "up to ~60 s"). */
export const DEFAULT_RESTART_TIMEOUT_MS = 90_000;

export interface RestartOptions {
  /** How long the camera may take to come back (ms). Default 90 s. */
  restartTimeoutMs?: number;
  /** Aborts the wait (e.g. the node is closing). */
  signal?: AbortSignal;
  /** Time source (tests). */
  now?: () => number;
}

export interface VerifyOptions {
  /**
   * What a key that reads back with another value than the one written does: `throw` (default) a
   * `SettingsNotVerifiedError` (`errors.notVerified`), or `report` it in the result (`verified: false`).
   * After a restart the camera may have lost the write (a restart in the middle of it): the read-back is the
   * only proof that the change is in effect.
   */
  onMismatch?: 'throw' | 'report';
}

export interface WriteSettingsOptions extends RestartOptions, ValidateSettingsOptions, VerifyOptions {}

/** How a restart went. */
export interface RestartReport {
  /** From sending the request to the camera answering again (ms). */
  tookMs: number;
  /** The camera's uptime once back (s); undefined when the camera did not report it. */
  uptime: number | undefined;
}

/** The result of a settings write. */
export interface SettingsWriteResult {
  /** The settings read back after the write (after the restart), secrets removed. */
  settings: PublicCameraSettings;
  /** The keys that were sent (the changed ones); empty when nothing differed. */
  changed: string[];
  /** Every changed key reads back with the written value (secret keys cannot be read back and are not counted). */
  verified: boolean;
  /** Keys that read back with another value. */
  mismatches: SettingsMismatch[];
  /** Present when something was sent (the camera restarted). */
  restart?: RestartReport;
}

/** A reboot's result. */
export interface RebootResult extends RestartReport {
  /** The uptime before the reboot (s), when known. */
  previousUptime: number | undefined;
}

/** Settings that failed validation. Nothing was sent. `errors` lists every bad field. */
export class SettingsValidationError extends InputError {
  constructor(
    readonly errors: readonly SettingsFieldError[],
    what = 'settings',
  ) {
    super(`Invalid ${what}, nothing was sent: ${describeFieldErrors(errors)}`, {
      key: 'errors.invalidSettings',
      params: { count: errors.length, fields: errors.map((e) => e.key || '-').join(', ') },
    });
  }
}

/** A write the camera answered, but whose read-back differs. `mismatches` lists each key. */
export class SettingsNotVerifiedError extends PfcamError {
  constructor(
    readonly mismatches: readonly SettingsMismatch[],
    what = 'settings',
  ) {
    const list = mismatches
      .map(
        (m) =>
          `${m.key} (sent ${JSON.stringify(m.expected)}, camera has ${JSON.stringify(m.actual ?? null)})`,
      )
      .join(', ');
    super(
      'errors.notVerified',
      `The ${what} write is not in effect: ${list}. The camera may have restarted during the write, or does not ` +
        'take the value: send the message again, or check the value against the camera.',
      { params: { count: mismatches.length, fields: mismatches.map((m) => m.key).join(', ') } },
    );
  }
}

/** Throws `SettingsValidationError` for a failed validation, else gives the changes. */
export function requireValid<T>(result: ValidationResult<T>, what = 'settings'): T {
  if (!result.ok) throw new SettingsValidationError(result.errors, what);
  return result.changes;
}

/**
 * Validates `changes`, then writes the keys that differ from the camera's current values, waits for the
 * restart and verifies by reading back. Throws `SettingsValidationError` (nothing sent), `errors.cameraOffline`
 * (nothing sent), `errors.settingsRejected` (the camera refused the body), `errors.restartTimeout` (sent, the
 * camera did not come back in time) or `errors.writeInterrupted` (the connection broke while writing and the
 * change is not in effect).
 */
export async function writeSettings(
  camera: WritableCamera,
  changes: unknown,
  options: WriteSettingsOptions = {},
): Promise<SettingsWriteResult> {
  const wanted = requireValid(
    validateSettingsChanges(changes, {
      allowUnknown: options.allowUnknown,
      allowSecrets: options.allowSecrets,
    }),
  );
  return camera.exclusive(async () => {
    await requireReachable(camera.health);
    const call: CallOptions = { signal: options.signal };
    const current = stripSecrets(await camera.client.getSettings(call));
    const changed = diffSettings<CameraSettings>(current, wanted);
    const keys = Object.keys(changed);
    if (keys.length === 0) return { settings: current, changed: [], verified: true, mismatches: [] };

    let sendError: unknown;
    const restart = await restartingCall(
      camera.health,
      async () => {
        try {
          await camera.client.putSettings(changed, call);
        } catch (err) {
          if (isRefusal(err)) throw rejected(err, 'settings');
          // The connection broke: the camera may or may not have taken the change. Find out after it is back.
          sendError = err;
        }
      },
      options,
      'settings write',
    );
    const settings = stripSecrets(await camera.client.getSettings(call));
    const mismatches = findMismatches(changed, settings);
    const readable = keys.filter((k) => !isSecretSettingKey(k));
    if (sendError !== undefined && (mismatches.length > 0 || readable.length === 0)) {
      const state =
        mismatches.length > 0
          ? `the change is not in effect (${mismatches.map((m) => m.key).join(', ')})`
          : 'a secret cannot be read back, so the change could not be confirmed';
      throw new PfcamError(
        'errors.writeInterrupted',
        `The connection to the camera broke while the settings were being written (${errorText(sendError)}) and ` +
          `${state}. Send the message again once the camera is online.`,
        { cause: sendError },
      );
    }
    if (mismatches.length > 0 && options.onMismatch !== 'report')
      throw new SettingsNotVerifiedError(mismatches);
    return { settings, changed: keys, verified: mismatches.length === 0, mismatches, restart };
  });
}

/** Factory reset (`DELETE /api/system/settings`), waiting for the restart; resolves with the settings read back. */
export async function resetSettings(
  camera: WritableCamera,
  options: RestartOptions = {},
): Promise<{ settings: PublicCameraSettings; restart: RestartReport }> {
  return camera.exclusive(async () => {
    await requireReachable(camera.health);
    const call: CallOptions = { signal: options.signal };
    let defaults: PublicCameraSettings | undefined;
    const restart = await restartingCall(
      camera.health,
      async () => {
        try {
          defaults = await camera.client.resetSettings(call);
        } catch (err) {
          if (isRefusal(err)) throw rejected(err, 'reset');
          // Only an answer cut by the camera going down means the reset was taken; anything else is a failure.
          if (!isCutAnswer(err)) throw err;
        }
      },
      options,
      'factory reset',
    );
    const settings = stripSecrets(await camera.client.getSettings(call));
    // The camera answered with its defaults: they must be what it has now.
    const mismatches = defaults ? findMismatches(stripSecrets(defaults), settings) : [];
    if (mismatches.length > 0) throw new SettingsNotVerifiedError(mismatches, 'factory reset');
    return { settings, restart };
  });
}

/** Reboots the camera (`POST /api/system/reboot`) and waits for it to come back; reports the new uptime. */
export async function rebootCamera(
  camera: WritableCamera,
  options: RestartOptions = {},
): Promise<RebootResult> {
  return camera.exclusive(async () => {
    const before = await requireReachable(camera.health);
    const call: CallOptions = { signal: options.signal };
    const restart = await restartingCall(
      camera.health,
      async () => {
        try {
          await camera.client.reboot(call);
        } catch (err) {
          // The client already takes an answer cut by the camera going down as accepted: what remains failed.
          if (isRefusal(err)) throw rejected(err, 'reboot');
          throw err;
        }
      },
      options,
      'reboot',
    );
    return { ...restart, previousUptime: before.uptime };
  });
}

/** The live sub-resources (no restart). */
export type LiveResource = 'exposure' | 'focus' | 'overlay';

export interface LiveValues {
  exposure: ExposureSettings;
  focus: FocusSettings;
  overlay: OverlaySettings;
}

export interface LiveWriteResult<R extends LiveResource> {
  /** The values read back after the write. */
  values: LiveValues[R];
  /** The keys that were sent (the changed ones). */
  changed: string[];
  verified: boolean;
  mismatches: SettingsMismatch[];
}

/** Reads one live sub-resource. A camera without it throws `UnsupportedError` (see `isUnsupported`). */
export function readLive<R extends LiveResource>(
  camera: Pick<WritableCamera, 'client'>,
  resource: R,
  options: CallOptions = {},
): Promise<LiveValues[R]> {
  const client = camera.client;
  switch (resource) {
    case 'exposure':
      return client.getExposure(options) as Promise<LiveValues[R]>;
    case 'focus':
      return client.getFocus(options) as Promise<LiveValues[R]>;
    default:
      return client.getOverlay(options) as Promise<LiveValues[R]>;
  }
}

/** Validates and writes the changed keys of a live sub-resource (under the write lock), then reads back. */
export async function writeLive<R extends LiveResource>(
  camera: WritableCamera,
  resource: R,
  changes: unknown,
  options: VerifyOptions & { signal?: AbortSignal } = {},
): Promise<LiveWriteResult<R>> {
  const wanted = requireValid<Partial<LiveValues[R]>>(validateLive(resource, changes), resource);
  return camera.exclusive(async () => {
    const call: CallOptions = { signal: options.signal };
    const current = await readLive(camera, resource, call);
    const changed = diffSettings<LiveValues[R]>(current, wanted);
    const keys = Object.keys(changed);
    if (keys.length > 0) {
      try {
        await putLive(camera, resource, changed, call);
      } catch (err) {
        if (isRefusal(err)) throw rejected(err, resource);
        throw err;
      }
    }
    const values = keys.length > 0 ? await readLive(camera, resource, call) : current;
    const mismatches = findMismatches(changed, values);
    if (mismatches.length > 0 && options.onMismatch !== 'report') {
      throw new SettingsNotVerifiedError(mismatches, resource);
    }
    return { values, changed: keys, verified: mismatches.length === 0, mismatches };
  });
}

function validateLive<R extends LiveResource>(
  resource: R,
  changes: unknown,
): ValidationResult<Partial<LiveValues[R]>> {
  switch (resource) {
    case 'exposure':
      return validateExposureChanges(changes) as ValidationResult<Partial<LiveValues[R]>>;
    case 'focus':
      return validateFocusChanges(changes) as ValidationResult<Partial<LiveValues[R]>>;
    default:
      return validateOverlayChanges(changes) as ValidationResult<Partial<LiveValues[R]>>;
  }
}

function putLive(
  camera: WritableCamera,
  resource: LiveResource,
  changes: object,
  options: CallOptions,
): Promise<void> {
  switch (resource) {
    case 'exposure':
      return camera.client.putExposure(changes, options);
    case 'focus':
      return camera.client.putFocus(changes, options);
    default:
      return camera.client.putOverlay(changes, options);
  }
}

/** True when the error says the camera lacks the feature (an [A] route answered 404). */
export function isUnsupported(err: unknown): err is UnsupportedError {
  return err instanceof UnsupportedError;
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Fails fast, before anything is sent, when the health monitor knows the camera to be offline (after one more
 * probe, in case it just came back). Resolves with the latest snapshot.
 */
async function requireReachable(health: RestartWatcher): Promise<HealthSnapshot> {
  const snapshot = health.state === 'offline' ? await health.probeNow() : undefined;
  if (health.state === 'offline') {
    throw new PfcamError(
      'errors.cameraOffline',
      'The camera is offline, nothing was sent. Check its power and network link, then send the message again.',
    );
  }
  return snapshot ?? health.snapshot;
}

/**
 * Announces the restart, runs `send`, then waits for the camera to be online again within the timeout (counted
 * from the announcement). Throws `errors.restartTimeout` when it does not come back.
 */
async function restartingCall(
  health: RestartWatcher,
  send: () => Promise<void>,
  options: RestartOptions,
  what: string,
): Promise<RestartReport> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.restartTimeoutMs ?? DEFAULT_RESTART_TIMEOUT_MS;
  const started = now();
  health.expectRestart(timeoutMs);
  try {
    await send();
  } catch (err) {
    // Refused, or never reached the camera: no restart follows.
    if (isRefusal(err) || neverReachedCamera(err)) health.cancelRestart?.();
    throw err;
  }
  const remaining = Math.max(1, timeoutMs - (now() - started));
  let back: HealthSnapshot;
  try {
    back = await health.waitFor('online', remaining, options.signal);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const seconds = Math.round(timeoutMs / 1000);
    throw new PfcamError(
      'errors.restartTimeout',
      `The camera did not come back within ${seconds} s after the ${what}. It may still be restarting, or new ` +
        'network settings made it unreachable: check the camera, or raise the restart timeout. The result could ' +
        'not be verified.',
      { cause: err, params: { seconds } },
    );
  }
  return { tookMs: now() - started, uptime: back.uptime };
}

/** The connection broke after the request reached the camera (it may have acted on it before going down). */
function isCutAnswer(err: unknown): boolean {
  if (err instanceof CameraTimeoutError) return err.phase === 'headers' || err.phase === 'body';
  return err instanceof CameraOfflineError && !neverReachedCamera(err);
}

/** The camera answered the request with a 4xx: it refused it (no restart follows). */
function isRefusal(err: unknown): err is CameraHttpError {
  return err instanceof CameraHttpError && err.status >= 400 && err.status < 500;
}

function rejected(err: CameraHttpError, what: string): PfcamError {
  if (err instanceof UnsupportedError) return err;
  return new PfcamError(
    'errors.settingsRejected',
    `The camera refused the ${what} (${err.status}${err.cameraMessage ? `: ${err.cameraMessage}` : ''}). ` +
      'Nothing was changed: correct the values the camera names, or check the account has the admin role.',
    { cause: err, params: { status: err.status } },
  );
}
