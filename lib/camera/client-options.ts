/**
 * Options of one camera client: the raw form a config node or a caller provides, and `parseClientOptions`, the
 * one pure function that applies defaults and validates (throws `InputError` with key `errors.clientOptions`
 * and the offending `field` in its params).
 */
import { InputError } from '../errors';
import { readBoolean, readInteger, type OptionInput } from '../config/option-reader';
import { API_PREFIX } from './routes';
import type { RecordingFeedOptions } from './camera-api';
import type { RetryPolicy } from './retry';

/**
 * Timeouts. undici checks `headersMs` and `bodyMs` with a resolution of about one second (they are meant for
 * tens of seconds); `requestMs` / a call's `timeoutMs` are exact.
 */
export interface ClientTimeouts {
  /** TCP (+ TLS) connect. */
  connectMs: number;
  /** From the request sent to the response headers. */
  headersMs: number;
  /** Longest silence between two body chunks (downloads of any size stay alive while bytes flow). */
  bodyMs: number;
  /** Total budget of one non-streaming call, retries included (downloads and feeds have none by default). */
  requestMs: number;
}

export interface ClientTls {
  /** PEM CA certificate(s) trusted for this camera only. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Verify the camera's certificate (default true). Off affects this camera's connections only. */
  rejectUnauthorized?: boolean;
}

/** Timing of the recordings feed (the same shape as `RecordingFeedOptions` of camera-api.ts). */
export type SseOptions = RecordingFeedOptions;

/** What a caller may give (everything but `baseUrl` optional). */
export interface CameraClientOptions {
  /** `http://10.0.0.5`, `http://10.0.0.5/api`, `https://host:8443/`, or with a path prefix behind a proxy. */
  baseUrl: string;
  username?: string;
  password?: string;
  tls?: ClientTls;
  timeouts?: Partial<ClientTimeouts>;
  retry?: Partial<RetryPolicy>;
  /** Connections of the REST/download pool (default 2: camera links are slow). The SSE feed has its own. */
  maxConnections?: number;
  sse?: Partial<SseOptions>;
  /** How long an idle keep-alive connection is kept open (the camera's `Keep-Alive` hint may lower it). */
  keepAliveMs?: number;
  userAgent?: string;
}

/** The validated options with every default applied. */
export interface ResolvedClientOptions {
  /** Camera root, normalised: scheme, host, port and any proxy prefix; no `/api`, no trailing slash, no credentials. */
  readonly baseUrl: string;
  /** `scheme://host:port` (the pool's origin). */
  readonly origin: string;
  /** Path before `/api` ('' for a camera reached directly). */
  readonly pathPrefix: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: {
    readonly ca: string | Buffer | ReadonlyArray<string | Buffer> | undefined;
    readonly rejectUnauthorized: boolean;
  };
  readonly timeouts: Readonly<ClientTimeouts>;
  readonly retry: Readonly<RetryPolicy>;
  readonly maxConnections: number;
  readonly sse: Readonly<SseOptions>;
  readonly keepAliveMs: number;
  readonly userAgent: string;
}

export const DEFAULT_TIMEOUTS: Readonly<ClientTimeouts> = {
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 60_000,
  requestMs: 90_000,
};
export const DEFAULT_RETRY: Readonly<RetryPolicy> = { attempts: 4, baseDelayMs: 500, maxDelayMs: 15_000 };
export const DEFAULT_SSE: Readonly<SseOptions> = {
  heartbeatTimeoutMs: 37_500,
  reconnectBaseMs: 1_000,
  reconnectMaxMs: 30_000,
};
export const DEFAULT_MAX_CONNECTIONS = 2;
export const DEFAULT_KEEP_ALIVE_MS = 30_000;
export const DEFAULT_USER_AGENT = 'node-red-pfcam';

const HOUR = 3_600_000;

function fail(field: string, reason: string): never {
  throw new InputError(`Camera option ${field}: ${reason}`, {
    key: 'errors.clientOptions',
    params: { field, reason },
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function section(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = raw[key];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) fail(key, 'must be an object');
  return v;
}

/** Option `key` of `obj`, named in errors as `Camera option <field>` with the key `errors.clientOptions`. */
function option(obj: Record<string, unknown>, key: string, field: string): OptionInput {
  return {
    value: obj[key],
    source: `Camera option ${field}`,
    key: 'errors.clientOptions',
    params: { field },
  };
}

/** An integer in [min, max] (the shared option rules); not set: the default. */
function int(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  def: number,
  min: number,
  max: number,
): number {
  return readInteger(option(obj, key, field), min, max, def);
}

function optString(obj: Record<string, unknown>, key: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(key, 'must be a string');
  return v;
}

function bool(obj: Record<string, unknown>, key: string, field: string, def: boolean): boolean {
  return readBoolean(option(obj, key, field), def);
}

export interface NormalisedBaseUrl {
  baseUrl: string;
  origin: string;
  pathPrefix: string;
  username: string | undefined;
  password: string | undefined;
}

/**
 * Accepts `http(s)://host[:port][/prefix][/api][/]`; returns the root without `/api`, trailing slashes or
 * credentials (credentials in the URL are returned apart).
 */
export function normaliseBaseUrl(text: string): NormalisedBaseUrl {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    fail('baseUrl', 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    fail('baseUrl', 'must start with http:// or https://');
  if (!url.hostname) fail('baseUrl', 'has no host');
  if (url.search || url.hash) fail('baseUrl', 'must not have a query or a fragment');
  let path = url.pathname.replace(/\/+$/, '');
  if (path.toLowerCase().endsWith(API_PREFIX)) path = path.slice(0, -API_PREFIX.length).replace(/\/+$/, '');
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  return { baseUrl: url.origin + path, origin: url.origin, pathPrefix: path, username, password };
}

function caOption(v: unknown): ResolvedClientOptions['tls']['ca'] {
  if (v === undefined || v === null || v === '') return undefined;
  const ok = (x: unknown): x is string | Buffer =>
    (typeof x === 'string' && x.trim() !== '') || Buffer.isBuffer(x);
  if (ok(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every(ok)) return v;
  fail('tls.ca', 'must be PEM text, a Buffer, or a list of them');
}

/** Defaults + validation of the client options (pure; the config node calls it with its raw config). */
export function parseClientOptions(raw: unknown): ResolvedClientOptions {
  if (!isObject(raw)) fail('options', 'must be an object');
  if (typeof raw.baseUrl !== 'string' || raw.baseUrl.trim() === '') fail('baseUrl', 'is required');
  const base = normaliseBaseUrl(raw.baseUrl);

  const username = optString(raw, 'username') ?? base.username;
  const password = optString(raw, 'password') ?? base.password;
  if (password !== undefined && username === undefined) fail('username', 'is required with a password');

  const tlsRaw = section(raw, 'tls');
  const tls = {
    ca: caOption(tlsRaw.ca),
    rejectUnauthorized: bool(tlsRaw, 'rejectUnauthorized', 'tls.rejectUnauthorized', true),
  };

  const t = section(raw, 'timeouts');
  const timeouts: ClientTimeouts = {
    connectMs: int(t, 'connectMs', 'timeouts.connectMs', DEFAULT_TIMEOUTS.connectMs, 1, 10 * 60_000),
    headersMs: int(t, 'headersMs', 'timeouts.headersMs', DEFAULT_TIMEOUTS.headersMs, 1, HOUR),
    bodyMs: int(t, 'bodyMs', 'timeouts.bodyMs', DEFAULT_TIMEOUTS.bodyMs, 1, HOUR),
    requestMs: int(t, 'requestMs', 'timeouts.requestMs', DEFAULT_TIMEOUTS.requestMs, 1, 24 * HOUR),
  };

  const r = section(raw, 'retry');
  const retry: RetryPolicy = {
    attempts: int(r, 'attempts', 'retry.attempts', DEFAULT_RETRY.attempts, 1, 50),
    baseDelayMs: int(r, 'baseDelayMs', 'retry.baseDelayMs', DEFAULT_RETRY.baseDelayMs, 0, HOUR),
    maxDelayMs: int(r, 'maxDelayMs', 'retry.maxDelayMs', DEFAULT_RETRY.maxDelayMs, 0, HOUR),
  };
  if (retry.maxDelayMs < retry.baseDelayMs) fail('retry.maxDelayMs', 'must not be below retry.baseDelayMs');

  const s = section(raw, 'sse');
  const sse: SseOptions = {
    heartbeatTimeoutMs: int(
      s,
      'heartbeatTimeoutMs',
      'sse.heartbeatTimeoutMs',
      DEFAULT_SSE.heartbeatTimeoutMs,
      1,
      HOUR,
    ),
    reconnectBaseMs: int(s, 'reconnectBaseMs', 'sse.reconnectBaseMs', DEFAULT_SSE.reconnectBaseMs, 0, HOUR),
    reconnectMaxMs: int(s, 'reconnectMaxMs', 'sse.reconnectMaxMs', DEFAULT_SSE.reconnectMaxMs, 0, HOUR),
  };
  if (sse.reconnectMaxMs < sse.reconnectBaseMs)
    fail('sse.reconnectMaxMs', 'must not be below sse.reconnectBaseMs');

  return Object.freeze({
    baseUrl: base.baseUrl,
    origin: base.origin,
    pathPrefix: base.pathPrefix,
    username,
    password,
    tls: Object.freeze(tls),
    timeouts: Object.freeze(timeouts),
    retry: Object.freeze(retry),
    maxConnections: int(raw, 'maxConnections', 'maxConnections', DEFAULT_MAX_CONNECTIONS, 1, 32),
    sse: Object.freeze(sse),
    keepAliveMs: int(raw, 'keepAliveMs', 'keepAliveMs', DEFAULT_KEEP_ALIVE_MS, 1, HOUR),
    userAgent: optString(raw, 'userAgent') ?? DEFAULT_USER_AGENT,
  });
}
