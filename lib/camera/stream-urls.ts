/**
 * `pfcam-streams`: its options and the URLs of a camera's streams. Every HTTP URL is rebuilt on the camera's
 * own address (the one Node-RED reaches it by, which may differ from the address the camera reports behind a
 * VPN or NAT), and stays below it whatever the camera answers. The RTSP URL is built from the RTSP settings;
 * it carries credentials only when the camera requires them (`rtsp_auth`) and the node is set to include them.
 */
import { PfcamError, InputError } from '../errors';
import type { RtspInfo, StreamInfo, StreamsList, StreamsOperation } from './messages';
import { configOption, readBoolean, readEnum, showValue } from '../config/option-reader';
import type { CameraSettings } from './types';

export const STREAMS_OPERATIONS: readonly StreamsOperation[] = ['list', 'rtsp', 'mjpeg', 'snapshot'];

export interface StreamsNodeOptions {
  readonly operation: StreamsOperation;
  /** The stream whose MJPEG and snapshot URLs are given (default `hd`). */
  readonly stream: string;
  /** Put the camera's credentials into the RTSP URL when the camera requires them (an explicit choice). */
  readonly includeCredentials: boolean;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,32}$/;

export function streamsNodeOptions(config: Readonly<Record<string, unknown>>): StreamsNodeOptions {
  const stream = config.stream === undefined || config.stream === '' ? 'hd' : config.stream;
  if (typeof stream !== 'string' || !STREAM_NAME.test(stream)) {
    throw new InputError(
      `The stream must be a stream name such as hd (letters, digits, '_', '-'), got ${showValue(stream)}`,
    );
  }
  return Object.freeze({
    operation: readEnum(configOption(config, 'operation'), STREAMS_OPERATIONS, 'list'),
    stream,
    includeCredentials: readBoolean(configOption(config, 'includeCredentials'), false),
  });
}

/** The camera answered something that is not what the API promises. */
export function badResponse(what: string): PfcamError {
  return new PfcamError('errors.badResponse', `The camera's answer is not valid: ${what}`);
}

/** The camera's root URL without credentials, query or fragment, and without a trailing slash. */
export function publicBaseUrl(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return baseUrl.replace(/\/\/[^/@]*@/, '//');
  }
}

/**
 * Resolves a URL the camera gave (`{ absolute, relative? }`) on the camera's address: the relative part when
 * given, else the absolute URL's path and query. `null` when nothing usable (not http(s), or it would leave the
 * camera's root).
 */
export function resolveCameraUrl(baseUrl: string, cameraUrl: unknown): string | null {
  if (typeof cameraUrl !== 'object' || cameraUrl === null) return null;
  const { absolute, relative } = cameraUrl as { absolute?: unknown; relative?: unknown };
  let pathAndQuery: string | undefined;
  if (typeof relative === 'string' && relative !== '') {
    pathAndQuery = relative;
  } else if (typeof absolute === 'string') {
    try {
      const abs = new URL(absolute);
      if (abs.protocol !== 'http:' && abs.protocol !== 'https:') return null;
      pathAndQuery = abs.pathname + abs.search;
    } catch {
      return null;
    }
  }
  // eslint-disable-next-line no-control-regex
  if (pathAndQuery === undefined || /[\u0000-\u001f\u007f\\]/.test(pathAndQuery)) return null;
  const root = `${publicBaseUrl(baseUrl)}/`;
  let resolved: URL;
  try {
    resolved = new URL(pathAndQuery.replace(/^\/+/, ''), root);
  } catch {
    return null;
  }
  resolved.hash = '';
  const text = resolved.toString();
  return text.startsWith(root) ? text : null;
}

function streamsOf(baseUrl: string, streams: unknown): StreamInfo[] {
  if (typeof streams !== 'object' || streams === null || Array.isArray(streams)) {
    throw badResponse('the stream list is not an object');
  }
  const out: StreamInfo[] = [];
  for (const [key, raw] of Object.entries(streams as Record<string, unknown>)) {
    if (!STREAM_NAME.test(key) || typeof raw !== 'object' || raw === null) continue;
    const d = raw as Record<string, unknown>;
    const resolution = (
      typeof d.resolution === 'object' && d.resolution !== null ? d.resolution : {}
    ) as Record<string, unknown>;
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
    const text = (v: unknown, fallback: string): string =>
      // eslint-disable-next-line no-control-regex
      typeof v === 'string' && v.length <= 64 && !/[\u0000-\u001f\u007f]/.test(v) ? v : fallback;
    const snapshot = d.snapshot as { url?: unknown } | undefined;
    out.push({
      key,
      name: text(d.name, key),
      codec: text(d.codec, ''),
      fps: num(d.fps),
      resolution: { width: num(resolution.width), height: num(resolution.height) },
      url: resolveCameraUrl(baseUrl, d.url),
      snapshotUrl:
        typeof snapshot === 'object' && snapshot !== null ? resolveCameraUrl(baseUrl, snapshot.url) : null,
    });
  }
  return out;
}

export type RtspSettings = Pick<CameraSettings, 'rtsp' | 'rtsp_port' | 'rtsp_path' | 'rtsp_auth'>;

export interface RtspCredentials {
  username?: string;
  password?: string;
}

/** The RTSP URL, or `null` when RTSP is off. */
export function buildRtspInfo(
  baseUrl: string,
  settings: Partial<RtspSettings>,
  credentials: RtspCredentials | undefined,
  includeCredentials: boolean,
): RtspInfo | null {
  if (settings.rtsp !== true) return null;
  const port = settings.rtsp_port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw badResponse(`rtsp_port is ${showValue(port)}, not a port number`);
  }
  const rawPath = settings.rtsp_path ?? '';
  // eslint-disable-next-line no-control-regex
  if (typeof rawPath !== 'string' || rawPath.length > 256 || /[\u0000-\u001f\u007f]/.test(rawPath)) {
    throw badResponse(`rtsp_path is ${showValue(rawPath)}`);
  }
  const pathPart = rawPath
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    throw new InputError(`The camera URL ${showValue(baseUrl)} is not a URL`);
  }
  const authRequired = settings.rtsp_auth === true;
  const username = credentials?.username ?? '';
  const withCredentials = authRequired && includeCredentials && username !== '';
  const userInfo = withCredentials
    ? `${encodeURIComponent(username)}:${encodeURIComponent(credentials?.password ?? '')}@`
    : '';
  return {
    url: `rtsp://${userInfo}${host}:${port}/${pathPart}`,
    authRequired,
    includesCredentials: withCredentials,
  };
}

/** The stream list with the node's stream's MJPEG and snapshot URLs and the RTSP URL. */
export function buildStreamsList(
  baseUrl: string,
  streams: unknown,
  stream: string,
  rtsp: RtspInfo | null,
): StreamsList {
  const list = streamsOf(baseUrl, streams);
  const chosen = list.find((s) => s.key === stream);
  return {
    streams: list,
    rtsp,
    mjpegUrl: chosen?.url ?? null,
    snapshotUrl: chosen?.snapshotUrl ?? null,
  };
}

/** The MJPEG or snapshot URL of one stream, or an error that says which streams there are. */
export function streamUrl(list: StreamsList, stream: string, which: 'mjpeg' | 'snapshot'): string {
  const found = list.streams.find((s) => s.key === stream);
  if (!found) {
    const names = list.streams.map((s) => s.key).join(', ') || 'none';
    throw new PfcamError(
      'errors.noStream',
      `The camera has no stream '${stream}' (it has: ${names}): set another stream`,
      {
        params: { stream },
      },
    );
  }
  const url = which === 'mjpeg' ? found.url : found.snapshotUrl;
  if (url === null) {
    throw new PfcamError(
      'errors.noStream',
      `The camera gives no usable ${which === 'mjpeg' ? 'stream' : 'snapshot'} URL for the stream '${stream}'`,
      { params: { stream } },
    );
  }
  return url;
}
