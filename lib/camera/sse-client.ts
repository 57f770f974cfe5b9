/**
 * The camera's recordings feed (`GET /api/sse/recordings`, Server-Sent Events) over an undici request on its
 * own connection: a spec-conformant parser (`event:`, `data:`, `id:`, `retry:`, comments), reconnection with
 * backoff (reset once a connection delivered data), `Last-Event-ID` on reconnect, and a heartbeat watchdog:
 * a feed silent for `heartbeatTimeoutMs` (2.5x the camera's 15 s ping by default) is dropped and reopened,
 * because a dead mobile link often never closes the socket.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Client } from 'undici';
import type { RecordingFeed, RecordingFeedHandlers } from './camera-api';
import type { SseOptions } from './client-options';
import { BadResponseError, CameraError, CameraTimeoutError, type CameraErrorDetails } from './errors';
import { discard, statusError, toCameraError, type HttpTransport } from './http-transport';
import { backoffDelay, sleep } from './retry';
import { ROUTES, routePath } from './routes';
import { validateEvent } from './validate';

export interface SseMessage {
  /** `message` when the event had no `event:` field. */
  event: string;
  data: string;
  lastEventId: string;
}

/** Largest event (all its `data:` lines) accepted; a larger one is a broken feed. */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/**
 * Incremental SSE parser (WHATWG "event stream interpretation"): feed it text chunks of any size; it calls
 * `onMessage` per dispatched event, `onComment` per comment line, `onRetry` per valid `retry:` field.
 */
export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private data = '';
  private hasData = false;
  private eventType = '';
  private lastEventId = '';
  private first = true;

  constructor(
    private readonly handlers: {
      onMessage(message: SseMessage): void;
      onComment?(text: string): void;
      onRetry?(ms: number): void;
    },
    private readonly maxEventChars = MAX_SSE_EVENT_CHARS,
  ) {}

  get eventId(): string {
    return this.lastEventId;
  }

  push(chunk: string): void {
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer + text.slice(start, i));
      this.buffer = '';
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else this.pendingCr = true;
      }
      start = i + 1;
    }
    this.buffer += text.slice(start);
    if (this.buffer.length + this.data.length > this.maxEventChars) throw new Error('SSE event too large');
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.handlers.onComment?.(line.slice(1).replace(/^ /, ''));
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data += value + '\n';
        this.hasData = true;
        if (this.data.length > this.maxEventChars) throw new Error('SSE event too large');
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const type = this.eventType;
    this.eventType = '';
    if (!this.hasData) return;
    const data = this.data.slice(0, -1);
    this.data = '';
    this.hasData = false;
    this.handlers.onMessage({ event: type === '' ? 'message' : type, data, lastEventId: this.lastEventId });
  }
}

/** Calls a handler; its failure must not end the feed. */
function safely(fn: (() => void) | undefined): void {
  if (!fn) return;
  try {
    fn();
  } catch {
    // a handler's failure must not end the feed
  }
}

/**
 * The recordings feed: opens at once, reconnects by itself until `close()`, stops for good when the camera
 * has no feed (404 -> `onUnsupported`).
 */
export class SseRecordingFeed implements RecordingFeed {
  private closedFlag = false;
  private connectedFlag = false;
  private current: AbortController | undefined;
  private readonly stop = new AbortController();
  private client: Client | undefined;
  private serverRetryMs: number | undefined;
  private lastEventId = '';
  /** Resolves when the loop has ended (after close or unsupported). */
  readonly done: Promise<void>;

  constructor(
    private readonly transport: HttpTransport,
    private readonly handlers: RecordingFeedHandlers,
    private readonly options: SseOptions,
  ) {
    this.done = this.loop();
  }

  get connected(): boolean {
    return this.connectedFlag;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stop.abort();
    this.current?.abort();
  }

  private async loop(): Promise<void> {
    const route = ROUTES.recordingsFeed;
    const path = routePath(route);
    const details: CameraErrorDetails = { route: 'recordingsFeed', method: route.method, path };
    let failures = 0;
    this.client = this.transport.openDedicated();
    const onTransportClose = (): void => this.close();
    this.transport.closeSignal.addEventListener('abort', onTransportClose, { once: true });
    try {
      while (!this.closedFlag && !this.transport.closed) {
        const outcome = await this.connectOnce(path, details);
        if (outcome.kind === 'unsupported') {
          safely(() => this.handlers.onUnsupported?.());
          break;
        }
        if (this.closedFlag) break;
        safely(() => this.handlers.onDisconnect?.(outcome.error));
        // a connection that delivered bytes was healthy: the backoff starts over
        failures = outcome.receivedData ? 1 : failures + 1;
        const computed = backoffDelay(failures, {
          baseDelayMs: this.options.reconnectBaseMs,
          maxDelayMs: this.options.reconnectMaxMs,
        });
        const delay = Math.min(this.options.reconnectMaxMs, Math.max(computed, this.serverRetryMs ?? 0));
        try {
          await sleep(delay, this.stop.signal);
        } catch {
          break;
        }
      }
    } finally {
      this.closedFlag = true;
      this.connectedFlag = false;
      this.transport.closeSignal.removeEventListener('abort', onTransportClose);
      if (this.client) await this.transport.releaseDedicated(this.client);
    }
  }

  private async connectOnce(
    path: string,
    details: CameraErrorDetails,
  ): Promise<{ kind: 'unsupported' } | { kind: 'ended'; error: Error | undefined; receivedData: boolean }> {
    const controller = new AbortController();
    this.current = controller;
    let receivedData = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const armHeartbeat = (): void => {
      if (heartbeat) clearTimeout(heartbeat);
      heartbeat = setTimeout(
        () => controller.abort(new CameraTimeoutError('heartbeat', this.options.heartbeatTimeoutMs, details)),
        this.options.heartbeatTimeoutMs,
      );
    };
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' };
      if (this.lastEventId) headers['last-event-id'] = this.lastEventId;
      const res = await this.transport.send({
        routeKey: 'recordingsFeed',
        route: ROUTES.recordingsFeed,
        path,
        headers,
        signal: controller.signal,
        bodyTimeoutMs: 0,
        dispatcher: this.client,
      });
      if (res.status === 404) {
        await discard(res.body);
        return { kind: 'unsupported' };
      }
      if (res.status < 200 || res.status >= 300)
        throw await statusError(res, {
          ...details,
          feature: ROUTES.recordingsFeed.feature,
          notFound: 'error',
        });
      const type = res.headers['content-type'];
      if (!/text\/event-stream/i.test(Array.isArray(type) ? type.join() : (type ?? ''))) {
        await discard(res.body);
        throw new BadResponseError('the recordings feed is not text/event-stream', details);
      }

      this.connectedFlag = true;
      safely(() => this.handlers.onOpen?.());
      armHeartbeat();
      const parser = new SseParser({
        onMessage: (m) => this.onMessage(m),
        onRetry: (ms) => {
          this.serverRetryMs = ms;
        },
      });
      const decoder = new StringDecoder('utf8');
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        receivedData = true;
        armHeartbeat();
        parser.push(decoder.write(chunk));
        if (parser.eventId) this.lastEventId = parser.eventId;
      }
      return { kind: 'ended', error: undefined, receivedData };
    } catch (err) {
      const reason: unknown = controller.signal.reason;
      const error =
        controller.signal.aborted && reason instanceof CameraError
          ? reason
          : (toCameraError(err, details, this.transport.options) as Error);
      return {
        kind: 'ended',
        error: error instanceof Error ? error : new Error(String(error)),
        receivedData,
      };
    } finally {
      if (heartbeat) clearTimeout(heartbeat);
      this.connectedFlag = false;
      this.current = undefined;
      if (!controller.signal.aborted) controller.abort();
    }
  }

  private onMessage(message: SseMessage): void {
    if (message.event !== 'recording') return;
    let raw: unknown;
    try {
      raw = JSON.parse(message.data);
    } catch {
      safely(() => this.handlers.onRejected?.({ raw: message.data, reason: 'data is not JSON' }));
      return;
    }
    const check = validateEvent(raw);
    if (check.ok) safely(() => this.handlers.onRecording(check.event));
    else safely(() => this.handlers.onRejected?.({ raw, reason: check.reason }));
  }
}
