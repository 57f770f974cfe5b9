/**
 * The MJPEG relay of one camera: ONE upstream connection to the camera's MJPEG stream, opened when the first
 * subscriber comes and closed `idleCloseMs` after the last one left, fanned out to any number of viewers.
 * Each viewer has a small bounded queue: a viewer whose socket is full skips frames (counted), never grows
 * memory and never holds up the others. The upstream reconnects with backoff when the camera drops; the state
 * (`connecting`, `live`, `reconnecting`, `offline`) is observable. A frame-rate cap drops frames above it, so
 * that what the viewers cost is chosen by the admin.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_BACKOFF, type BackoffOptions, type LiveState } from './live-state';
import { UpstreamLifecycle } from './upstream-lifecycle';
import { boundaryOf, MultipartJpegParser, DEFAULT_MAX_FRAME_BYTES } from './multipart-parser';

/** One JPEG frame as the relay passes it on. */
export interface LiveFrame {
  readonly seq: number;
  /** The JPEG bytes (a view into `part`). */
  readonly data: Buffer;
  /** When the relay received it (ms since the epoch). */
  readonly receivedAt: number;
  /** The whole multipart part viewers write: header, bytes, CRLF (built once for every viewer). */
  readonly part: Buffer;
}

/** Opens the camera's MJPEG stream; rejects when the camera cannot be reached. */
export type MjpegOpener = (signal: AbortSignal) => Promise<{ contentType: string; body: Readable }>;

export interface MjpegRelayOptions {
  open: MjpegOpener;
  /** Frames per second passed on at most; 0 = every frame (default 0). */
  maxFps?: number;
  /** How long the upstream stays open after the last subscriber left (ms, default 5000). */
  idleCloseMs?: number;
  reconnect?: Partial<BackoffOptions>;
  /** Failed attempts in a row after which the state says `offline` (default 2). */
  offlineAfterFailures?: number;
  /** Frames a viewer may have waiting (default 2). */
  queueFrames?: number;
  maxFrameBytes?: number;
  /** No byte for this long: the upstream counts as dead and is reopened (ms, default 10 000). */
  stallMs?: number;
}

export interface MjpegRelayCounters {
  viewers: number;
  /** Upstream connections opened since the relay was made. */
  upstreamConnections: number;
  upstreamBytes: number;
  framesIn: number;
  /** Frames dropped by the frame-rate cap. */
  framesCapped: number;
  /** Frames viewers skipped because they were slow (sum over every viewer so far). */
  viewerDroppedFrames: number;
  /** Frames dropped by the parser (larger than the cap, broken headers). */
  oversizeFrames: number;
  garbageBytes: number;
  /** The most bytes the parser held at once (bounded by the frame cap plus one chunk). */
  parserPeakBytes: number;
}

export const MJPEG_BOUNDARY = 'pfcamlive';

const CRLF = Buffer.from('\r\n', 'latin1');

/** The Content-Type of what a viewer receives. */
export const MJPEG_CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`;

/** One viewer: writes each frame as a multipart part to `target`, honouring its backpressure. */
export class MjpegViewer {
  sentFrames = 0;
  droppedFrames = 0;
  private readonly queue: LiveFrame[] = [];
  private closed = false;
  private readonly onDrain = (): void => this.flush();

  constructor(
    private readonly target: Writable,
    private readonly queueFrames: number,
    private readonly onDrop: () => void,
    private readonly onClose: (viewer: MjpegViewer) => void,
  ) {
    target.on('drain', this.onDrain);
    target.once('close', () => this.close());
  }

  /** Frames waiting for this viewer right now (never above the queue size). */
  get queued(): number {
    return this.queue.length;
  }

  offer(frame: LiveFrame): void {
    if (this.closed) return;
    if (this.queue.length === 0 && !this.target.writableNeedDrain) {
      this.write(frame);
      return;
    }
    this.queue.push(frame);
    while (this.queue.length > this.queueFrames) {
      this.queue.shift();
      this.droppedFrames++;
      this.onDrop();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.target.off('drain', this.onDrain);
    this.onClose(this);
  }

  private flush(): void {
    while (!this.closed && this.queue.length > 0 && !this.target.writableNeedDrain) {
      this.write(this.queue.shift()!);
    }
  }

  private write(frame: LiveFrame): void {
    if (this.target.destroyed || this.target.writableEnded) {
      this.close();
      return;
    }
    // One write per frame, no cork(): on Node.js 22 a ServerResponse written between cork() and uncork() may
    // never emit 'drain' (nodejs/node#60432), and the viewer would wait for it forever.
    this.target.write(frame.part);
    this.sentFrames++;
  }
}

type Subscriber = (frame: LiveFrame) => void;

export class MjpegRelay extends EventEmitter {
  private readonly options: Required<Omit<MjpegRelayOptions, 'reconnect'>> & { reconnect: BackoffOptions };
  private readonly subscribers = new Set<Subscriber>();
  private readonly viewers = new Set<MjpegViewer>();
  private readonly lifecycle: UpstreamLifecycle;
  private latest: LiveFrame | undefined;
  private seq = 0;
  private lastPassedAt = 0;
  private closed = false;
  private liveParser: MultipartJpegParser | undefined;
  private readonly stats: Omit<MjpegRelayCounters, 'viewers'> = {
    upstreamConnections: 0,
    upstreamBytes: 0,
    framesIn: 0,
    framesCapped: 0,
    viewerDroppedFrames: 0,
    oversizeFrames: 0,
    garbageBytes: 0,
    parserPeakBytes: 0,
  };

  constructor(options: MjpegRelayOptions) {
    super();
    this.options = {
      open: options.open,
      maxFps: options.maxFps ?? 0,
      idleCloseMs: options.idleCloseMs ?? 5000,
      reconnect: { ...DEFAULT_BACKOFF, ...options.reconnect },
      offlineAfterFailures: options.offlineAfterFailures ?? 2,
      queueFrames: options.queueFrames ?? 2,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      stallMs: options.stallMs ?? 10_000,
    };
    this.lifecycle = new UpstreamLifecycle(
      this.options,
      async (signal, onLive) => {
        const { contentType, body } = await this.options.open(signal);
        this.stats.upstreamConnections++;
        this.emit('upstream-open');
        return this.pump(body, contentType, signal, onLive);
      },
      { relay: this },
    );
  }

  get state(): LiveState {
    return this.lifecycle.state;
  }

  /** The newest frame received (kept while the upstream is open, and after, until the relay closes). */
  get latestFrame(): LiveFrame | undefined {
    return this.latest;
  }

  get counters(): MjpegRelayCounters {
    const live = this.liveParser?.counters;
    return {
      viewers: this.viewers.size,
      ...this.stats,
      oversizeFrames: this.stats.oversizeFrames + (live?.oversizeFrames ?? 0),
      garbageBytes: this.stats.garbageBytes + (live?.garbageBytes ?? 0),
    };
  }

  /** Changes the frame-rate cap (0 = none); applies from the next frame. */
  setMaxFps(fps: number): void {
    this.options.maxFps = Number.isFinite(fps) && fps > 0 ? fps : 0;
  }

  /**
   * Adds a viewer writing to `target` (the caller has written the response head with `MJPEG_CONTENT_TYPE`).
   * The viewer leaves when `target` closes or `close()` is called.
   */
  addViewer(target: Writable): MjpegViewer {
    if (this.closed) throw new Error('the live relay is closed');
    let unsubscribe: () => void = () => undefined;
    const viewer = new MjpegViewer(
      target,
      this.options.queueFrames,
      () => {
        this.stats.viewerDroppedFrames++;
        this.emit('dropped');
      },
      (v) => {
        this.viewers.delete(v);
        unsubscribe();
        this.emit('viewers', this.viewers.size);
      },
    );
    this.viewers.add(viewer);
    unsubscribe = this.subscribe((frame) => viewer.offer(frame));
    this.emit('viewers', this.viewers.size);
    return viewer;
  }

  /** Calls `listener` with every frame passed on; keeps the upstream open while subscribed. */
  subscribe(listener: Subscriber): () => void {
    if (this.closed) return () => undefined;
    this.subscribers.add(listener);
    this.lifecycle.want();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscribers.delete(listener);
      if (this.subscribers.size === 0) this.lifecycle.release(() => this.subscribers.size === 0);
    };
  }

  /** The next frame (opening the upstream if needed), or undefined after `timeoutMs`. */
  nextFrame(timeoutMs: number): Promise<LiveFrame | undefined> {
    return new Promise((resolve) => {
      let unsubscribe: () => void = () => undefined;
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(undefined);
      }, timeoutMs);
      unsubscribe = this.subscribe((frame) => {
        clearTimeout(timer);
        unsubscribe();
        resolve(frame);
      });
    });
  }

  /** Ends every viewer and the upstream; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const viewer of [...this.viewers]) viewer.close();
    this.subscribers.clear();
    this.lifecycle.close();
    this.removeAllListeners();
  }

  /** Reads one upstream connection to its end; resolves true when at least one frame came. */
  private pump(
    body: Readable,
    contentType: string,
    signal: AbortSignal,
    onFirstFrame: () => void,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      let gotFrame = false;
      const parser = new MultipartJpegParser(
        (part) => {
          if (!gotFrame) {
            gotFrame = true;
            onFirstFrame();
          }
          this.onFrame(part.data);
        },
        { boundary: boundaryOf(contentType), maxFrameBytes: this.options.maxFrameBytes },
      );
      this.liveParser = parser;
      let stall: NodeJS.Timeout | undefined;
      const armStall = (): void => {
        clearTimeout(stall);
        stall = setTimeout(() => body.destroy(), this.options.stallMs);
      };
      const finish = (): void => {
        clearTimeout(stall);
        signal.removeEventListener('abort', onAbort);
        body.off('data', onData);
        this.stats.oversizeFrames += parser.counters.oversizeFrames;
        this.stats.garbageBytes += parser.counters.garbageBytes;
        if (this.liveParser === parser) this.liveParser = undefined;
        resolve(gotFrame);
      };
      const onAbort = (): void => {
        body.destroy();
      };
      const onData = (chunk: Buffer): void => {
        this.stats.upstreamBytes += chunk.length;
        armStall();
        parser.push(chunk);
        if (parser.peakBytes > this.stats.parserPeakBytes) {
          this.stats.parserPeakBytes = parser.peakBytes;
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      body.on('data', onData);
      body.once('close', finish);
      body.on('error', () => undefined);
      armStall();
    });
  }

  private onFrame(data: Buffer): void {
    this.stats.framesIn++;
    const now = Date.now();
    const { maxFps } = this.options;
    if (maxFps > 0 && now - this.lastPassedAt < (1000 / maxFps) * 0.9) {
      this.stats.framesCapped++;
      return;
    }
    this.lastPassedAt = now;
    const seq = ++this.seq;
    const header = Buffer.from(
      `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${data.length}\r\n` +
        `X-Frame: ${seq}\r\n\r\n`,
      'latin1',
    );
    const part = Buffer.concat([header, data, CRLF]);
    const frame: LiveFrame = {
      seq,
      data: part.subarray(header.length, header.length + data.length),
      receivedAt: now,
      part,
    };
    this.latest = frame;
    for (const subscriber of [...this.subscribers]) subscriber(frame);
  }
}
