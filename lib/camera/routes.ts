/**
 * Every camera route the client calls, in ONE table. The marks follow camera-api.md: [C] confirmed,
 * [I] inferred, [A] assumed. When a real camera's Swagger spec (`/api/ui/`, `/api/openapi.json`) says
 * otherwise, correct the route here; nothing else in the client spells a camera path.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** [C] confirmed, [I] inferred, [A] assumed (see camera-api.md). */
export type RouteMark = 'C' | 'I' | 'A';

export interface RouteDef {
  readonly method: HttpMethod;
  /** Path from the camera's root; `{name}` placeholders are filled, URI-encoded, by `routePath`. */
  readonly path: string;
  readonly mark: RouteMark;
  /** The feature name reported by `UnsupportedError` (the simulator's `unsupported` keys use the same names). */
  readonly feature: string;
  /**
   * What a 404 means: `unsupported` (the camera lacks the feature: [A] routes), `gone` (the thing is already
   * gone: a success for deletes), `error` (a plain `CameraHttpError`).
   */
  readonly notFound: 'unsupported' | 'gone' | 'error';
  /** What the answer carries: JSON, media bytes, an SSE feed, or nothing the client reads. */
  readonly response: 'json' | 'media' | 'sse' | 'none';
  /**
   * `read` and `write` calls are retried on network errors, 5xx, 408 and 429. `restart` calls make the camera
   * restart: they are retried only when the request surely never reached the camera (connection refused or
   * connect timeout), and a cut or empty answer counts as accepted.
   */
  readonly effect: 'read' | 'write' | 'restart';
}

function route(
  method: HttpMethod,
  path: string,
  mark: RouteMark,
  feature: string,
  response: RouteDef['response'],
  extra: Partial<Pick<RouteDef, 'notFound' | 'effect'>> = {},
): RouteDef {
  return {
    method,
    path,
    mark,
    feature,
    response,
    notFound: extra.notFound ?? (mark === 'A' ? 'unsupported' : 'error'),
    effect: extra.effect ?? (method === 'GET' ? 'read' : 'write'),
  };
}

export const ROUTES = {
  // events
  listEvents: route('GET', '/api/events', 'C', 'events', 'json'),
  listActiveEvents: route('GET', '/api/events/active', 'I', 'activeEvents', 'json'),
  triggerEvent: route('POST', '/api/events', 'C', 'trigger', 'none'),
  deleteEvent: route('DELETE', '/api/events/{fileName}', 'C', 'deleteEvent', 'none', { notFound: 'gone' }),
  deleteAllEvents: route('DELETE', '/api/events', 'I', 'deleteAllEvents', 'none'),
  stopAllActiveEvents: route('DELETE', '/api/events/active', 'I', 'stopActiveEvents', 'none'),
  stopActiveEvent: route('DELETE', '/api/events/active/{eventName}', 'I', 'stopActiveEvent', 'none', {
    notFound: 'gone',
  }),
  // media
  video: route('GET', '/api/events/{fileName}', 'C', 'video', 'media'),
  thumbnail: route('GET', '/api/events/{fileName}{thmbExt}', 'A', 'thumbnail', 'media'),
  // feed
  recordingsFeed: route('GET', '/api/sse/recordings', 'A', 'sse', 'sse'),
  // system
  systemInfo: route('GET', '/api/system', 'C', 'system', 'json'),
  getSettings: route('GET', '/api/system/settings', 'C', 'settings', 'json'),
  putSettings: route('PUT', '/api/system/settings', 'C', 'settings', 'none', { effect: 'restart' }),
  resetSettings: route('DELETE', '/api/system/settings', 'I', 'settingsReset', 'json', { effect: 'restart' }),
  storage: route('GET', '/api/system/storage', 'A', 'storage', 'json'),
  firmware: route('GET', '/api/system/firmware', 'A', 'firmware', 'json'),
  datetime: route('GET', '/api/system/datetime', 'A', 'datetime', 'json'),
  timezones: route('GET', '/api/system/timezones', 'A', 'timezones', 'json'),
  reboot: route('POST', '/api/system/reboot', 'C', 'reboot', 'none', { effect: 'restart' }),
  getExposure: route('GET', '/api/system/exposure', 'A', 'exposure', 'json'),
  putExposure: route('PUT', '/api/system/exposure', 'A', 'exposure', 'none'),
  getFocus: route('GET', '/api/system/focus', 'A', 'focus', 'json'),
  putFocus: route('PUT', '/api/system/focus', 'A', 'focus', 'none'),
  getOverlay: route('GET', '/api/system/overlay', 'A', 'overlay', 'json'),
  putOverlay: route('PUT', '/api/system/overlay', 'A', 'overlay', 'none'),
  // streams
  streams: route('GET', '/api/streams', 'C', 'streams', 'json'),
  /** Path taken from the stream descriptor (`snapshot.url`), relative to the camera's root. */
  snapshot: route('GET', '{streamPath}', 'I', 'snapshot', 'media'),
  /** Path taken from the stream descriptor (`url`), e.g. `/stream-hd`; MJPEG, outside `/api`. */
  liveStream: route('GET', '{streamPath}', 'I', 'liveStream', 'media'),
} as const satisfies Record<string, RouteDef>;

export type RouteKey = keyof typeof ROUTES;

/** The path segment every REST resource lives under; stripped from a pasted base URL. */
export const API_PREFIX = '/api';

/**
 * Fills a route's `{name}` placeholders with URI-encoded values. Throws on a missing parameter (a programming
 * error, not a camera fault).
 */
export function routePath(def: RouteDef, params: Readonly<Record<string, string>> = {}): string {
  return def.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`route ${def.path}: missing parameter ${name}`);
    return encodeURIComponent(value);
  });
}
