/**
 * `CameraClient`: the typed HTTP client of one PFCAM camera (implements `CameraApi`). One undici pool per
 * instance, keep-alive, timeouts and retries per client-options.ts, every answer validated by validate.ts,
 * every camera path from routes.ts.
 */
import type { Writable, Readable } from 'node:stream';
import type {
  BufferDownloadOptions,
  CallOptions,
  CameraApi,
  DownloadOptions,
  DownloadResult,
  EventListing,
  ListEventsOptions,
  MediaKind,
  RecordingFeed,
  RecordingFeedHandlers,
  RejectedEntry,
  ValidCameraEvent,
} from './camera-api';
import {
  parseClientOptions,
  type CameraClientOptions,
  type ResolvedClientOptions,
  type SseOptions,
} from './client-options';
import {
  downloadToBuffer,
  downloadToFile,
  downloadToStream,
  CameraMediaError,
  type MediaRequest,
} from './download';
import {
  BadResponseError,
  CameraInputError,
  CameraOfflineError,
  CameraTimeoutError,
  UnsupportedError,
  type CameraErrorDetails,
} from './errors';
import {
  discard,
  headerValue,
  HttpTransport,
  neverReachedCamera,
  readText,
  type TransportResponse,
} from './http-transport';
import { ROUTES, routePath, type RouteKey } from './routes';
import { SseRecordingFeed } from './sse-client';
import type {
  CameraEvent,
  CameraSettings,
  CameraUrl,
  DateTimeInfo,
  ExposureSettings,
  FirmwareInfo,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
  StorageInfo,
  StreamMap,
  SystemInfo,
  TriggerRequest,
} from './types';
import {
  jsonErrorOf,
  normaliseExtension,
  publicSettings,
  ShapeError,
  stripControl,
  unsafeFileNameReason,
  validateDateTime,
  validateEventList,
  validateExposure,
  validateFirmware,
  validateFocus,
  validateOverlay,
  validateStorage,
  validateStreams,
  validateSystemInfo,
  validateTimezones,
} from './validate';

/** Longest event name sent to the camera. */
export const MAX_EVENT_NAME_LENGTH = 128;

type MediaEvent = Pick<CameraEvent, 'fileName' | 'vidExt' | 'thmbExt'>;

function rejectedReporter(
  onRejected: ((entry: RejectedEntry) => void) | undefined,
): ((entry: RejectedEntry) => void) | undefined {
  if (!onRejected) return undefined;
  return (entry) => {
    try {
      onRejected(entry);
    } catch {
      // the listener's failure must not lose the list
    }
  };
}

function checkEventName(eventName: unknown, field = 'eventName'): string {
  if (typeof eventName !== 'string' || eventName.trim() === '')
    throw new CameraInputError(`${field} must be a non-empty string`, 'errors.badInput', { field });
  if (eventName.length > MAX_EVENT_NAME_LENGTH)
    throw new CameraInputError(
      `${field} is longer than ${MAX_EVENT_NAME_LENGTH} characters`,
      'errors.badInput',
      { field },
    );
  if (stripControl(eventName) !== eventName)
    throw new CameraInputError(`${field} contains control characters`, 'errors.badInput', { field });
  return eventName;
}

function checkFileName(fileName: unknown): string {
  const reason = unsafeFileNameReason(fileName);
  if (reason !== undefined)
    throw new CameraInputError(`Unsafe recording file name: ${reason}`, 'errors.unsafeFileName', { reason });
  return fileName as string;
}

/** A stream URL of the camera as a path on this client's own origin (the host in `absolute` is never contacted). */
export function streamPath(url: CameraUrl): string {
  const raw = url.relative !== undefined && url.relative !== '' ? url.relative : url.absolute;
  let parsed: URL;
  try {
    parsed = new URL(raw, 'http://camera.invalid/');
  } catch {
    throw new BadResponseError(`unusable stream URL ${JSON.stringify(raw)}`);
  }
  return parsed.pathname + parsed.search;
}

/**
 * An entry's `age` member as it appears in the raw list (a JSON key is always a quoted string: inside a string
 * value its quotes would be escaped). It grows every second without the list changing, so the digest of an
 * unchanged list leaves it out.
 */
const AGE_MEMBER = /"age"\s*:\s*[-+0-9.eE]+/g;

export class CameraClient implements CameraApi {
  private readonly transport: HttpTransport;
  private readonly feeds = new Set<SseRecordingFeed>();
  private closing: Promise<void> | undefined;

  constructor(options: CameraClientOptions) {
    this.transport = new HttpTransport(parseClientOptions(options));
  }

  /** The validated options, without the password. */
  get options(): ResolvedClientOptions {
    return this.transport.options;
  }

  get baseUrl(): string {
    return this.transport.options.baseUrl;
  }

  // ---- plumbing --------------------------------------------------------------------------------------

  private budget(options: CallOptions | undefined): number {
    return options?.timeoutMs ?? this.options.timeouts.requestMs;
  }

  private async json<T>(
    key: RouteKey,
    validate: (raw: unknown) => T,
    options: CallOptions | undefined,
    extra: { params?: Record<string, string>; body?: unknown } = {},
  ): Promise<T> {
    const route = ROUTES[key];
    const path = routePath(route, extra.params);
    const details: CameraErrorDetails = { route: key, method: route.method, path };
    return this.transport.call(
      {
        routeKey: key,
        route,
        path,
        json: extra.body,
        signal: options?.signal,
        budgetMs: this.budget(options),
        ...(options?.probe ? { dispatcher: this.transport.probeDispatcher() } : {}),
      },
      async (res) => {
        const raw = await HttpTransport.readJson(res, details);
        try {
          return validate(raw);
        } catch (err) {
          if (err instanceof ShapeError) throw new BadResponseError(err.message, { ...details, cause: err });
          throw err;
        }
      },
    );
  }

  /** A call whose answer body is not used; resolves with the status (404 for a "gone" route). */
  private async plain(
    key: RouteKey,
    options: CallOptions | undefined,
    extra: { params?: Record<string, string>; body?: unknown } = {},
  ): Promise<number> {
    const route = ROUTES[key];
    const path = routePath(route, extra.params);
    return this.transport.call(
      {
        routeKey: key,
        route,
        path,
        json: extra.body,
        signal: options?.signal,
        budgetMs: this.budget(options),
      },
      async (res) => {
        await discard(res.body);
        return res.status;
      },
    );
  }

  /**
   * Restarting writes: a connection cut or a silence after the request was sent counts as accepted (the camera
   * restarts; callers confirm with a probe).
   */
  private async restarting(key: RouteKey, options: CallOptions | undefined, body?: unknown): Promise<void> {
    try {
      await this.plain(key, options, { body });
    } catch (err) {
      const cut =
        (err instanceof CameraOfflineError && !neverReachedCamera(err)) ||
        (err instanceof CameraTimeoutError && (err.phase === 'headers' || err.phase === 'body'));
      if (!cut) throw err;
    }
  }

  private mediaRequest(
    kind: MediaKind,
    event: MediaEvent,
    options: DownloadOptions & { maxBytes?: number },
  ): MediaRequest {
    const fileName = checkFileName(event.fileName);
    const key: RouteKey = kind === 'video' ? 'video' : 'thumbnail';
    let params: Record<string, string> = { fileName };
    if (kind === 'thumbnail') {
      const thmbExt = normaliseExtension(event.thmbExt);
      if (thmbExt === undefined)
        throw new CameraInputError('Unsafe thumbnail extension', 'errors.unsafeFileName', {
          reason: 'thmbExt',
        });
      params = { fileName, thmbExt };
    } else if (kind !== 'video') {
      throw new CameraInputError(`Unknown media kind ${String(kind)}`, 'errors.badInput', { field: 'kind' });
    }
    const route = ROUTES[key];
    return { transport: this.transport, routeKey: key, route, path: routePath(route, params), options };
  }

  // ---- events ----------------------------------------------------------------------------------------

  listEvents(options?: ListEventsOptions): Promise<ValidCameraEvent[]> {
    const onRejected = rejectedReporter(options?.onRejected);
    return this.json('listEvents', (raw) => validateEventList(raw, onRejected), options);
  }

  listEventsIfChanged(
    previousDigest: string | undefined,
    options?: ListEventsOptions,
  ): Promise<EventListing> {
    const onRejected = rejectedReporter(options?.onRejected);
    const route = ROUTES.listEvents;
    const path = routePath(route, undefined);
    const details: CameraErrorDetails = { route: 'listEvents', method: route.method, path };
    return this.transport.call(
      { routeKey: 'listEvents', route, path, signal: options?.signal, budgetMs: this.budget(options) },
      async (res) => {
        const { digest, raw } = await HttpTransport.readJsonIfChanged(
          res,
          details,
          previousDigest,
          AGE_MEMBER,
        );
        if (raw === undefined) return { digest };
        try {
          return { digest, events: validateEventList(raw, onRejected) };
        } catch (err) {
          if (err instanceof ShapeError) throw new BadResponseError(err.message, { ...details, cause: err });
          throw err;
        }
      },
    );
  }

  listActiveEvents(options?: ListEventsOptions): Promise<ValidCameraEvent[]> {
    const onRejected = rejectedReporter(options?.onRejected);
    return this.json('listActiveEvents', (raw) => validateEventList(raw, onRejected), options);
  }

  async triggerEvent(
    request: Partial<TriggerRequest> & { eventName: string },
    options?: CallOptions,
  ): Promise<void> {
    const body: Partial<TriggerRequest> = { eventName: checkEventName(request.eventName) };
    if (request.overlayText !== undefined) {
      if (typeof request.overlayText !== 'string')
        throw new CameraInputError('overlayText must be a string', 'errors.badInput', {
          field: 'overlayText',
        });
      body.overlayText = stripControl(request.overlayText);
    }
    for (const field of ['preEventSeconds', 'postEventSeconds'] as const) {
      const v = request[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new CameraInputError(`${field} must be a non-negative integer`, 'errors.badInput', { field });
      body[field] = v;
    }
    if (request.postEventUnlimited !== undefined) {
      if (typeof request.postEventUnlimited !== 'boolean')
        throw new CameraInputError('postEventUnlimited must be true or false', 'errors.badInput', {
          field: 'postEventUnlimited',
        });
      body.postEventUnlimited = request.postEventUnlimited;
    }
    if (request.stopOtherEvents !== undefined) {
      if (request.stopOtherEvents !== 'none' && request.stopOtherEvents !== 'all')
        throw new CameraInputError('stopOtherEvents must be "none" or "all"', 'errors.badInput', {
          field: 'stopOtherEvents',
        });
      body.stopOtherEvents = request.stopOtherEvents;
    }
    await this.plain('triggerEvent', options, { body });
  }

  async deleteEvent(fileName: string, options?: CallOptions): Promise<boolean> {
    const status = await this.plain('deleteEvent', options, {
      params: { fileName: checkFileName(fileName) },
    });
    return status !== 404;
  }

  async deleteAllEvents(options?: CallOptions): Promise<void> {
    await this.plain('deleteAllEvents', options);
  }

  async stopActiveEvent(eventName: string, options?: CallOptions): Promise<void> {
    await this.plain('stopActiveEvent', options, { params: { eventName: checkEventName(eventName) } });
  }

  async stopAllActiveEvents(options?: CallOptions): Promise<void> {
    await this.plain('stopAllActiveEvents', options);
  }

  // ---- media -----------------------------------------------------------------------------------------

  async downloadToFile(
    kind: MediaKind,
    event: MediaEvent,
    filePath: string,
    options: DownloadOptions = {},
  ): Promise<DownloadResult> {
    return downloadToFile(this.mediaRequest(kind, event, options), filePath);
  }

  async downloadToStream(
    kind: MediaKind,
    event: MediaEvent,
    target: Writable,
    options: DownloadOptions = {},
  ): Promise<DownloadResult> {
    return downloadToStream(this.mediaRequest(kind, event, options), target);
  }

  async downloadToBuffer(
    kind: MediaKind,
    event: MediaEvent,
    options: BufferDownloadOptions = {},
  ): Promise<{ data: Buffer } & DownloadResult> {
    return downloadToBuffer(this.mediaRequest(kind, event, options));
  }

  private async streamUrl(
    streamName: string,
    which: 'url' | 'snapshot',
    options: CallOptions | undefined,
  ): Promise<string> {
    const streams = await this.listStreams(options);
    const stream = Object.prototype.hasOwnProperty.call(streams, streamName)
      ? streams[streamName]
      : undefined;
    const url = which === 'url' ? stream?.url : stream?.snapshot?.url;
    const route = which === 'url' ? ROUTES.liveStream : ROUTES.snapshot;
    if (!url)
      throw new UnsupportedError(`${route.feature}:${streamName}`, {
        route: which,
        method: 'GET',
        path: ROUTES.streams.path,
      });
    return streamPath(url);
  }

  async getSnapshot(
    streamName = 'hd',
    options: BufferDownloadOptions = {},
  ): Promise<{ data: Buffer } & DownloadResult> {
    const path = await this.streamUrl(streamName, 'snapshot', options);
    return downloadToBuffer({
      transport: this.transport,
      routeKey: 'snapshot',
      route: ROUTES.snapshot,
      path,
      options,
    });
  }

  async openLiveStream(
    streamName = 'hd',
    options?: CallOptions,
  ): Promise<{ contentType: string; body: Readable }> {
    const path = await this.streamUrl(streamName, 'url', options);
    const route = ROUTES.liveStream;
    const details: CameraErrorDetails = { route: 'liveStream', method: 'GET', path };
    const client = this.transport.openDedicated();
    try {
      return await this.transport.call(
        {
          routeKey: 'liveStream',
          route,
          path,
          dispatcher: client,
          signal: options?.signal,
          budgetMs: this.budget(options),
        },
        async (res: TransportResponse) => {
          const contentType = headerValue(res, 'content-type') ?? '';
          if (!/^multipart\//i.test(contentType)) {
            const text = await readText(res.body, 64 * 1024, details);
            const error = jsonErrorOf(text);
            if (error !== undefined) throw new CameraMediaError(200, error, details);
            throw new BadResponseError(
              `the live stream is ${contentType || 'untyped'}, not multipart`,
              details,
            );
          }
          const release = (): void => void this.transport.releaseDedicated(client);
          res.body.once('close', release);
          return { contentType, body: res.body };
        },
      );
    } catch (err) {
      await this.transport.releaseDedicated(client);
      throw err;
    }
  }

  // ---- feed ------------------------------------------------------------------------------------------

  subscribeRecordings(handlers: RecordingFeedHandlers, options?: Partial<SseOptions>): RecordingFeed {
    const feed = new SseRecordingFeed(this.transport, handlers, { ...this.options.sse, ...options });
    this.feeds.add(feed);
    void feed.done.then(() => this.feeds.delete(feed));
    return feed;
  }

  // ---- system ----------------------------------------------------------------------------------------

  getSystemInfo(options?: CallOptions): Promise<SystemInfo> {
    return this.json('systemInfo', validateSystemInfo, options);
  }

  getSettings(options?: CallOptions): Promise<PublicCameraSettings> {
    return this.json('getSettings', publicSettings, options);
  }

  async putSettings(changes: Partial<CameraSettings>, options?: CallOptions): Promise<void> {
    if (typeof changes !== 'object' || changes === null || Array.isArray(changes))
      throw new CameraInputError('settings changes must be an object', 'errors.badInput', {
        field: 'settings',
      });
    await this.restarting('putSettings', options, changes);
  }

  resetSettings(options?: CallOptions): Promise<PublicCameraSettings> {
    return this.json('resetSettings', publicSettings, options);
  }

  getStorage(options?: CallOptions): Promise<StorageInfo> {
    return this.json('storage', validateStorage, options);
  }

  getFirmware(options?: CallOptions): Promise<FirmwareInfo> {
    return this.json('firmware', validateFirmware, options);
  }

  getDateTime(options?: CallOptions): Promise<DateTimeInfo> {
    return this.json('datetime', validateDateTime, options);
  }

  getTimezones(options?: CallOptions): Promise<string[]> {
    return this.json('timezones', validateTimezones, options);
  }

  async reboot(options?: CallOptions): Promise<void> {
    await this.restarting('reboot', options);
  }

  getExposure(options?: CallOptions): Promise<ExposureSettings> {
    return this.json('getExposure', validateExposure, options);
  }

  async putExposure(changes: Partial<ExposureSettings>, options?: CallOptions): Promise<void> {
    await this.plain('putExposure', options, { body: changes });
  }

  getFocus(options?: CallOptions): Promise<FocusSettings> {
    return this.json('getFocus', validateFocus, options);
  }

  async putFocus(changes: Partial<FocusSettings>, options?: CallOptions): Promise<void> {
    await this.plain('putFocus', options, { body: changes });
  }

  getOverlay(options?: CallOptions): Promise<OverlaySettings> {
    return this.json('getOverlay', validateOverlay, options);
  }

  async putOverlay(changes: Partial<OverlaySettings>, options?: CallOptions): Promise<void> {
    await this.plain('putOverlay', options, { body: changes });
  }

  // ---- streams ---------------------------------------------------------------------------------------

  listStreams(options?: CallOptions): Promise<StreamMap> {
    return this.json('streams', validateStreams, options);
  }

  /** Closes every feed, aborts every call in flight, closes the connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const feeds = [...this.feeds];
      for (const feed of feeds) feed.close();
      await this.transport.close();
      await Promise.all(feeds.map((f) => f.done));
    })();
    return this.closing;
  }
}

/** Validates the options and returns a client (the same as `new CameraClient(options)`). */
export function createCameraClient(options: CameraClientOptions): CameraClient {
  return new CameraClient(options);
}
