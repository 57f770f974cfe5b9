import { configOption, readBoolean, readInteger, readNumber } from '../config/option-reader';
import { InputError } from '../errors';
import { parseLiveCaps, type LiveCaps } from '../live/live-caps';

/** The `pfcam-camera` config node's settings, as the editor stores them (every value may be missing or a string). */
export interface RawCameraConfig {
  name?: unknown;
  url?: unknown;
  probeInterval?: unknown;
  timeout?: unknown;
  connections?: unknown;
  tlsVerify?: unknown;
  ca?: unknown;
  /** The live relay's frame-rate cap (frames per second, empty or 0 = none). */
  liveMaxFps?: unknown;
  /** The live relay's resolution cap (stream width in pixels, empty or 0 = none). */
  liveMaxWidth?: unknown;
}

/** Its credentials (Node-RED `credentials`: the password is of type `password`, never sent to the editor). */
export interface RawCameraCredentials {
  username?: unknown;
  password?: unknown;
}

/** The camera connection, checked and with defaults applied. */
export interface CameraConfig {
  readonly name: string;
  /** The camera's root URL: no `/api`, no trailing slash. */
  readonly baseUrl: string;
  readonly probeIntervalMs: number;
  /** Time budget of one call, retries included. */
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: { readonly rejectUnauthorized: boolean; readonly ca: string | undefined };
  /** The live relay's uplink caps (lib/live/live-caps). */
  readonly liveCaps: LiveCaps;
}

export const CAMERA_CONFIG_DEFAULTS = {
  probeIntervalSeconds: 30,
  timeoutSeconds: 30,
  connections: 2,
} as const;

/**
 * Accepts `http://10.0.0.5`, `http://10.0.0.5/`, `http://10.0.0.5/api` and `https://cam.site/api/`; returns the
 * root URL. Throws an InputError naming what is wrong.
 */
export function normaliseCameraUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new InputError('the camera URL is missing: give it as http://<address> (with or without /api)', {
      key: 'errors.urlMissing',
    });
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new InputError(`the camera URL ${JSON.stringify(raw)} is not a URL: give it as http://<address>`, {
      key: 'errors.urlInvalid',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputError(`the camera URL must start with http:// or https://, got "${url.protocol}"`, {
      key: 'errors.urlInvalid',
    });
  }
  if (url.username || url.password) {
    throw new InputError('put the camera user name and password in the credential fields, not in the URL', {
      key: 'errors.urlCredentials',
    });
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api$/i, '');
  return `${url.protocol}//${url.host}${path}`;
}

function optionalText(raw: unknown): string | undefined {
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
}

/** Turns the config node's raw settings and credentials into a checked CameraConfig. */
export function parseCameraConfig(
  raw: RawCameraConfig,
  credentials: RawCameraCredentials = {},
): CameraConfig {
  const baseUrl = normaliseCameraUrl(raw.url);
  const probeSeconds = readNumber(
    configOption(raw, 'probeInterval', { source: () => 'the health probe interval (seconds)' }),
    0.1,
    86_400,
    CAMERA_CONFIG_DEFAULTS.probeIntervalSeconds,
  );
  const timeoutSeconds = readNumber(
    configOption(raw, 'timeout', { source: () => 'the timeout (seconds)' }),
    1,
    3600,
    CAMERA_CONFIG_DEFAULTS.timeoutSeconds,
  );
  const connections = readInteger(
    configOption(raw, 'connections', { source: () => 'the number of connections' }),
    1,
    16,
    CAMERA_CONFIG_DEFAULTS.connections,
  );
  const username = optionalText(credentials.username);
  const password = optionalText(credentials.password);
  if (password !== undefined && username === undefined) {
    throw new InputError('a camera password is set without a user name', {
      key: 'errors.badOption',
      params: { option: 'username' },
    });
  }
  const ca = typeof raw.ca === 'string' && raw.ca.trim() !== '' ? raw.ca.trim() : undefined;
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InputError('the CA certificate must be PEM text (-----BEGIN CERTIFICATE----- ...)', {
      key: 'errors.badOption',
      params: { option: 'ca' },
    });
  }
  const liveCaps = parseLiveCaps(raw);
  return {
    name: typeof raw.name === 'string' ? raw.name.trim() : '',
    baseUrl,
    probeIntervalMs: Math.round(probeSeconds * 1000),
    requestTimeoutMs: Math.round(timeoutSeconds * 1000),
    maxConnections: connections,
    username,
    password,
    tls: { rejectUnauthorized: readBoolean(configOption(raw, 'tlsVerify'), true), ca },
    liveCaps,
  };
}
