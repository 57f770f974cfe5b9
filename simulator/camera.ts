/**
 * One simulated PFCAM camera: a real HTTP(S) server on its own port implementing camera-api.md, with its
 * state (settings, recordings, active events, storage), restarts, random triggers and fault injection.
 */
import { EventEmitter } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { CameraEvent, CameraSettings, SystemInfo, TriggerRequest } from '../lib/camera/types';
import { Authenticator } from './auth';
import { fileNameAt, isoLocal, timeZones } from './clock';
import { drawPlan, NO_FAULTS, validateFaults, type FaultConfig, type FaultPlan } from './faults';
import { BodyError, parseJson, parseRange, readBody, Timers, writeBody } from './http-io';
import { startRtspStream, stampJpeg, type RtspStream, type RtspStreamOptions } from './live-stream';
import { bufferSource, loadFixtures, syntheticSource, type MediaSource } from './media';
import { derive, randomInt, type Random } from './prng';
import {
  defaultSettings,
  EXPOSURE,
  FOCUS,
  OVERLAY,
  validateSettingsPatch,
  type LiveResource,
  type Validation,
} from './settings';

export type { FaultConfig } from './faults';

/** Route keys that `unsupported` can turn into 404s (as on cameras whose firmware lacks them). */
export const ROUTE_KEYS = [
  'storage',
  'firmware',
  'datetime',
  'timezones',
  'exposure',
  'focus',
  'overlay',
  'sse',
  'active',
  'streams',
] as const;
export type RouteKey = (typeof ROUTE_KEYS)[number];

export interface SimulatedCameraOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Makes the serial, random triggers and faults reproducible. Default: a random seed. */
  seed?: number;
  /** Default derived from the seed, e.g. 'PFC4-2311-0042'. */
  serialNumber?: string;
  name?: string;
  /** IANA, default 'Europe/Zurich'. */
  timezone?: string;
  /** How long the camera refuses connections after a settings PUT or reboot (default 3000 ms). */
  restartMs?: number;
  /** How many recordings exist at start (default 0). */
  recordings?: number;
  /** Size of synthetic video payloads; default: the real MP4 fixture. */
  videoBytes?: number;
  /** Capacity; the oldest recordings are recycled when full (default 32 GiB). */
  storageBytes?: number;
  /** Mean interval of random hardware triggers; 0 = off (default 0). */
  triggerIntervalMs?: number;
  /** Default post-event time in seconds (fractions allowed). Default: the `recording_seconds_post_event` setting. */
  postEventSeconds?: number;
  /** Serve /api/sse/recordings (default true); false -> 404. */
  sse?: boolean;
  /** Interval of the `: ping` comments on the SSE feed (default 15000 ms). */
  ssePingMs?: number;
  /** Route keys answering 404, e.g. ['storage', 'firmware', 'exposure']. */
  unsupported?: string[];
  auth?: { scheme: 'basic' | 'digest'; username: string; password: string };
  /** Serve https. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  faults?: Partial<FaultConfig>;
  /** Pre-create this many (metadata-only, synthetic) recordings. */
  hugeList?: number;
  /** The `hd` stream has no snapshot URL (as on firmware without one). Default false. */
  noSnapshot?: boolean;
  /**
   * Also advertise a second, narrower MJPEG stream `sd` (640x360, at `/stream-sd`) in `/api/streams`, as a camera
   * with a sub-stream does. Default off.
   */
  sdStream?: boolean;
  /** Frames per second of the MJPEG live stream (default 5). */
  liveFps?: number;
  /**
   * Serve a real RTSP H.264 stream (GStreamer, see live-stream.ts) and advertise it in `/api/streams` and the
   * RTSP settings. Default off.
   */
  rtspStream?: boolean | RtspStreamOptions;
}

/** One request as the camera received it. */
export interface SimulatedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

export interface CameraControl {
  setFaults(faults: Partial<FaultConfig>): void;
  clearFaults(): void;
  readonly faults: Readonly<FaultConfig>;
  /** Creates a finished recording now (as a hardware trigger would); returns it. */
  addRecording(overrides?: Partial<CameraEvent> & { videoBytes?: number }): CameraEvent;
  /** Triggers like POST /api/events; resolves with the recording once its post-event time ran out. */
  trigger(request: Partial<TriggerRequest>): Promise<CameraEvent>;
  /** Newest first. */
  recordings(): CameraEvent[];
  removeRecording(fileName: string): boolean;
  /** The expected bytes / SHA-256 of a recording's media (to check downloads). */
  media(fileName: string, kind: 'video' | 'thumbnail'): { size: number; sha256: string };
  /** Restart now (drops sockets, refuses connections for `ms` or restartMs, uptime back to 0). */
  restart(ms?: number): Promise<void>;
  /** Go offline (every camera request's connection is dropped unanswered; /_sim/ stays reachable). */
  offline(): void;
  online(): void;
  /** The full settings, secrets included (for tests). */
  settings(): CameraSettings;
  readonly uptimeSeconds: number;
  /** Every camera request received (the last 10 000): method, path, headers. */
  requests(): ReadonlyArray<SimulatedRequest>;
  /** MJPEG live-stream connections: open right now, and opened since start. */
  liveStreams(): { open: number; opened: number };
  clearRequests(): void;
  on(event: 'recording', listener: (e: CameraEvent) => void): this;
  on(event: 'restart', listener: (info: { ms: number }) => void): this;
  on(event: 'request', listener: (request: SimulatedRequest) => void): this;
  on(event: 'online' | 'offline', listener: () => void): this;
  on(event: string, listener: (...args: unknown[]) => void): this;
  off(event: 'recording', listener: (e: CameraEvent) => void): this;
  off(event: 'restart', listener: (info: { ms: number }) => void): this;
  off(event: 'request', listener: (request: SimulatedRequest) => void): this;
  off(event: string, listener: (...args: unknown[]) => void): this;
}

export interface SimulatedCamera {
  /** 'http://127.0.0.1:PORT' (https when tls). */
  readonly url: string;
  readonly port: number;
  readonly serialNumber: string;
  readonly control: CameraControl;
  /** Closes every socket and timer; idempotent. */
  stop(): Promise<void>;
}

interface Recording {
  event: Omit<CameraEvent, 'age'>;
  /** Real instant of the trigger (the age is counted from it). */
  triggeredMs: number;
  video: MediaSource;
  thumbnail: MediaSource;
  /** The event's JSON before and after the age, so that long lists are built fast. */
  jsonHead: string;
  jsonTail: string;
}

interface ActiveEvent {
  fileName: string;
  eventName: string | null;
  triggeredMs: number;
  preSeconds: number;
  unlimited: boolean;
  timer: NodeJS.Timeout | undefined;
  waiters: { resolve: (event: CameraEvent) => void; reject: (error: Error) => void }[];
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  plan: FaultPlan;
}

const DEFAULT_STORAGE_BYTES = 32 * 1024 ** 3;
const SNAPSHOT_PATH = '/snapshot-hd.jpg';
const LIVE_FPS = 5;
const MAX_LOGGED_REQUESTS = 10_000;
const SOFTWARE_VERSION = '4.3.1';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A serial number such as 'PFC4-2311-0042', from the seed. */
export function serialFromSeed(seed: number): string {
  const random = derive(seed, 'serial');
  const year = randomInt(random, 21, 25);
  const month = randomInt(random, 1, 12);
  const number = randomInt(random, 1, 9999);
  return `PFC4-${year}${String(month).padStart(2, '0')}-${String(number).padStart(4, '0')}`;
}

/** Validates a trigger body (POST /api/events, `control.trigger`). */
export function validateTrigger(body: unknown): Validation<Partial<TriggerRequest>> {
  if (body === undefined) return { ok: true, value: {} };
  if (!isObject(body)) return { ok: false, error: 'trigger body must be a JSON object' };
  const checks: [keyof TriggerRequest, (value: unknown) => boolean, string][] = [
    ['eventName', (v) => typeof v === 'string' && v.length <= 128, 'a string of at most 128 characters'],
    ['overlayText', (v) => typeof v === 'string' && v.length <= 256, 'a string of at most 256 characters'],
    [
      'preEventSeconds',
      (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 600,
      'a number 0-600',
    ],
    [
      'postEventSeconds',
      (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 600,
      'a number 0-600',
    ],
    ['postEventUnlimited', (v) => typeof v === 'boolean', 'a boolean'],
    ['stopOtherEvents', (v) => v === 'none' || v === 'all', '"none" or "all"'],
  ];
  for (const [key, ok, expected] of checks) {
    if (key in body && body[key] !== undefined && !ok(body[key])) {
      return { ok: false, error: `${key} must be ${expected}` };
    }
  }
  return { ok: true, value: body };
}

class CameraControlImpl extends EventEmitter implements CameraControl {
  constructor(private readonly camera: Camera) {
    super();
  }
  setFaults(faults: Partial<FaultConfig>): void {
    this.camera.setFaults(faults);
  }
  clearFaults(): void {
    this.camera.setFaults(NO_FAULTS);
  }
  get faults(): Readonly<FaultConfig> {
    return { ...this.camera.faults };
  }
  addRecording(overrides?: Partial<CameraEvent> & { videoBytes?: number }): CameraEvent {
    return this.camera.addRecording(overrides ?? {});
  }
  trigger(request: Partial<TriggerRequest>): Promise<CameraEvent> {
    return this.camera.trigger(request);
  }
  recordings(): CameraEvent[] {
    return this.camera.listRecordings();
  }
  removeRecording(fileName: string): boolean {
    return this.camera.removeRecording(fileName);
  }
  media(fileName: string, kind: 'video' | 'thumbnail'): { size: number; sha256: string } {
    return this.camera.media(fileName, kind);
  }
  restart(ms?: number): Promise<void> {
    return this.camera.restart(ms);
  }
  offline(): void {
    this.camera.setOffline(true);
  }
  online(): void {
    this.camera.setOffline(false);
  }
  settings(): CameraSettings {
    return { ...this.camera.settings };
  }
  get uptimeSeconds(): number {
    return this.camera.uptimeSeconds;
  }
  requests(): ReadonlyArray<SimulatedRequest> {
    return [...this.camera.requestLog];
  }
  clearRequests(): void {
    this.camera.requestLog.length = 0;
  }
  liveStreams(): { open: number; opened: number } {
    return { ...this.camera.liveStreamCount };
  }
}

export class Camera implements SimulatedCamera {
  readonly control: CameraControlImpl;
  readonly serialNumber: string;
  readonly seed: number;
  faults: FaultConfig;
  settings: CameraSettings;
  readonly requestLog: SimulatedRequest[] = [];
  readonly liveStreamCount = { open: 0, opened: 0 };
  private rtsp: RtspStream | undefined;
  private liveSeq = 0;

  private readonly options: SimulatedCameraOptions;
  private readonly host: string;
  private listenPort: number;
  private readonly server: Server;
  private readonly tls: boolean;
  private readonly timers = new Timers();
  private readonly sockets = new Set<Socket>();
  private readonly auth: Authenticator | undefined;
  private readonly unsupported: Set<string>;
  private readonly restartMs: number;
  private readonly capacity: number;
  private readonly macAddress: string;
  private readonly passwordHashes: [string, string];
  private readonly faultRandom: Random;
  private readonly miscRandom: Random;
  private readonly triggerRandom: Random;
  private readonly fixtures = loadFixtures();
  private readonly thumbnailSource: MediaSource;

  /** Recordings, oldest trigger first. */
  private readonly list: Recording[] = [];
  private readonly byName = new Map<string, Recording>();
  private readonly byThumbnail = new Map<string, Recording>();
  private usedBytes = 0;
  private readonly active = new Map<string, ActiveEvent>();
  private readonly sseClients = new Set<ServerResponse>();
  private hostileCounter = 0;

  private bootMs = Date.now();
  private listening = false;
  private restarting = false;
  private offlineMode = false;
  private stopped: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> = Promise.resolve();
  private upWaiters: (() => void)[] = [];
  private stormTimer: NodeJS.Timeout | undefined;
  private stormCarry = 0;

  constructor(options: SimulatedCameraOptions) {
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.listenPort = options.port ?? 0;
    this.seed = (options.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.serialNumber = options.serialNumber ?? serialFromSeed(this.seed);
    this.faultRandom = derive(this.seed, 'faults');
    this.miscRandom = derive(this.seed, 'misc');
    this.triggerRandom = derive(this.seed, 'triggers');
    const identity = derive(this.seed, 'identity');
    this.macAddress = ['02', '50', '46', ...Array.from({ length: 3 }, () => randomInt(identity, 0, 255))]
      .map((part) => (typeof part === 'number' ? part.toString(16).padStart(2, '0') : part))
      .join(':')
      .toUpperCase();
    const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const fakeHash = (): string =>
      '$2b$10$' + Array.from({ length: 53 }, () => alphabet.charAt(randomInt(identity, 0, 63))).join('');
    this.passwordHashes = [fakeHash(), fakeHash()];
    this.restartMs = options.restartMs ?? 3000;
    this.capacity = options.storageBytes ?? DEFAULT_STORAGE_BYTES;
    this.unsupported = new Set(options.unsupported ?? []);
    for (const key of this.unsupported) {
      if (!(ROUTE_KEYS as readonly string[]).includes(key)) throw new TypeError(`unknown route key: ${key}`);
    }
    if (options.sse === false) this.unsupported.add('sse');
    this.faults = { ...NO_FAULTS, ...validateFaults(options.faults ?? {}) };
    this.settings = this.factorySettings();
    this.thumbnailSource = this.fixtures.thumbnail;
    this.control = new CameraControlImpl(this);
    this.auth = options.auth ? new Authenticator(options.auth, `PFCAM ${this.serialNumber}`) : undefined;
    this.tls = options.tls !== undefined;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent && !res.destroyed) this.plainJson(res, 500, { error: 'internal error' });
        else res.destroy();
      });
    };
    this.server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : createHttpServer(handler);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_error, socket) => socket.destroy());
    // Listen errors reject start() / a restart; later server errors must not take the process down.
    this.server.on('error', () => undefined);
    this.server.on('tlsClientError', () => undefined);
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    const initial = (this.options.hugeList ?? 0) + (this.options.recordings ?? 0);
    if (initial > 0) this.createInitialRecordings(initial);
    await this.listen();
    const address = this.server.address();
    if (address && typeof address === 'object') this.listenPort = address.port;
    if (this.options.rtspStream) await this.startRtsp(this.options.rtspStream);
    this.bootMs = Date.now();
    this.scheduleRandomTrigger();
    this.configureStorm();
  }

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.tls ? 'https' : 'http'}://${host}:${this.listenPort}`;
  }

  get uptimeSeconds(): number {
    return Math.max(0, Math.floor((Date.now() - this.bootMs) / 1000));
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.timers.close();
      for (const event of this.active.values()) {
        for (const waiter of event.waiters) waiter.reject(new Error('camera stopped'));
      }
      this.active.clear();
      this.sseClients.clear();
      for (const socket of this.sockets) socket.destroy();
      if (this.listening) await this.closeListener();
      await this.rtsp?.stop();
      await this.closing;
      this.wakeUpWaiters();
      this.control.removeAllListeners();
    })();
    return this.stopped;
  }

  private async startRtsp(options: true | RtspStreamOptions): Promise<void> {
    const given = options === true ? {} : options;
    this.rtsp = await startRtspStream({
      host: this.host,
      fps: this.settings.rtsp_fps > 15 ? 15 : this.settings.rtsp_fps,
      ...given,
    });
    this.settings = { ...this.settings, rtsp: true, rtsp_port: this.rtsp.port, rtsp_path: this.rtsp.path };
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        this.listening = true;
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(this.listenPort, this.host);
    });
  }

  private closeListener(): Promise<void> {
    this.listening = false;
    this.closing = new Promise((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return this.closing;
  }

  setOffline(offline: boolean): void {
    if (this.stopped || this.offlineMode === offline) return;
    this.offlineMode = offline;
    if (offline) {
      for (const socket of this.sockets) socket.destroy();
      this.control.emit('offline');
    } else {
      this.control.emit('online');
    }
  }

  restart(ms = this.restartMs): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const back = new Promise<void>((resolve) => this.upWaiters.push(resolve));
    this.control.emit('restart', { ms });
    this.timers.clear(this.restartTimer);
    this.restarting = true;
    // A camera going down saves what it was recording.
    for (const event of [...this.active.values()]) this.finishActive(event);
    this.sseClients.clear();
    this.auth?.reset();
    const down = this.listening ? this.closeListener() : this.closing;
    this.restartTimer = this.timers.timeout(() => {
      this.restartTimer = undefined;
      void down.then(() => this.comeUp(0));
    }, ms);
    return back;
  }

  private comeUp(attempt: number): void {
    if (this.stopped || this.listening) return;
    this.listen().then(
      () => {
        if (this.stopped) {
          void this.closeListener();
          return;
        }
        this.restarting = false;
        this.bootMs = Date.now();
        this.wakeUpWaiters();
        this.control.emit('online');
      },
      () => {
        // The port is briefly taken (rare): try again, as a booting camera would.
        if (attempt < 100) this.timers.timeout(() => this.comeUp(attempt + 1), 50);
      },
    );
  }

  private wakeUpWaiters(): void {
    const waiters = this.upWaiters;
    this.upWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Answers first, then restarts once the response is done (or cut). */
  private restartAfter(res: ServerResponse, ms = this.restartMs): void {
    const go = (): void => void this.restart(ms);
    if (res.writableFinished || res.destroyed) go();
    else res.once('close', go);
  }

  // ---- faults, triggers, storm ----

  setFaults(patch: Partial<FaultConfig>): void {
    this.faults = { ...this.faults, ...validateFaults(patch) };
    this.configureStorm();
  }

  private configureStorm(): void {
    this.timers.clear(this.stormTimer);
    this.stormTimer = undefined;
    this.stormCarry = 0;
    const rate = this.faults.eventStormPerSecond;
    if (rate <= 0 || this.stopped) return;
    const every = Math.max(10, Math.floor(1000 / rate));
    this.stormTimer = this.timers.interval(() => {
      if (this.restarting) return;
      this.stormCarry += (rate * every) / 1000;
      for (; this.stormCarry >= 1; this.stormCarry--) this.addRecording({});
    }, every);
  }

  private scheduleRandomTrigger(): void {
    const mean = this.options.triggerIntervalMs ?? 0;
    if (mean <= 0) return;
    const wait = Math.max(1, Math.round(-Math.log(1 - this.triggerRandom()) * mean));
    this.timers.timeout(() => {
      if (!this.restarting) {
        this.startEvent({}).promise.catch(() => undefined);
      }
      this.scheduleRandomTrigger();
    }, wait);
  }

  // ---- recordings ----

  private factorySettings(): CameraSettings {
    const ip =
      /^\d+\.\d+\.\d+\.\d+$/.test(this.host) && this.host !== '0.0.0.0' ? this.host : '192.168.1.100';
    return defaultSettings({
      name: this.options.name ?? `PFCAM ${this.serialNumber}`,
      timezone: this.options.timezone ?? 'Europe/Zurich',
      ip,
      passwordHashes: this.passwordHashes,
    });
  }

  private get zone(): string {
    return this.settings.time_zone || 'UTC';
  }

  private get skewMs(): number {
    return this.faults.clockSkewSeconds * 1000;
  }

  private uniqueName(ms: number): string {
    for (let bump = 0; bump < 1000; bump++) {
      const name = fileNameAt(ms + this.skewMs + bump, this.zone);
      if (!this.byName.has(name) && !this.active.has(name)) return name;
    }
    let name = fileNameAt(ms + this.skewMs, this.zone);
    for (let n = 1; this.byName.has(name) || this.active.has(name); n++) name = `${name}-${n}`;
    return name;
  }

  private videoSource(fileName: string, videoBytes: number | undefined): MediaSource {
    const size = videoBytes ?? this.options.videoBytes;
    return size === undefined ? this.fixtures.video : syntheticSource(this.seed, fileName, size);
  }

  private createInitialRecordings(count: number): void {
    const now = Date.now();
    const spacing = 30_000;
    const random = derive(this.seed, 'initial');
    for (let i = 0; i < count; i++) {
      const triggeredMs = now - (count - i) * spacing - Math.floor(random() * 5000);
      const named = random() < 0.5;
      this.store(
        this.makeRecording({
          fileName: this.uniqueName(triggeredMs),
          eventName: named ? `event-${i + 1}` : null,
          triggeredMs,
          playbackTime:
            this.settings.recording_seconds_pre_event + this.settings.recording_seconds_post_event,
        }),
      );
    }
  }

  private makeRecording(input: {
    fileName: string;
    eventName: string | null;
    triggeredMs: number;
    playbackTime: number;
    overrides?: Partial<CameraEvent> & { videoBytes?: number };
  }): Recording {
    const event: Omit<CameraEvent, 'age'> = {
      fileName: input.fileName,
      eventName: input.eventName,
      triggeredAt: isoLocal(input.triggeredMs + this.skewMs, this.zone),
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: Math.max(1, Math.round(input.playbackTime)),
      dir: input.eventName ? 'named' : 'unnamed',
    };
    let triggeredMs = input.triggeredMs;
    if (this.faults.hostileRecordings) this.applyHostile(event, triggeredMs);
    const overrides = input.overrides ?? {};
    if (overrides.age !== undefined) {
      triggeredMs = Date.now() - overrides.age * 1000;
      event.triggeredAt = isoLocal(triggeredMs + this.skewMs, this.zone);
    }
    if (overrides.triggeredAt !== undefined) {
      event.triggeredAt = overrides.triggeredAt;
      const parsed = Date.parse(overrides.triggeredAt);
      if (Number.isFinite(parsed) && overrides.age === undefined) triggeredMs = parsed - this.skewMs;
    }
    for (const key of ['fileName', 'eventName', 'vidExt', 'thmbExt', 'playbackTime', 'dir'] as const) {
      if (overrides[key] !== undefined) (event as Record<string, unknown>)[key] = overrides[key];
    }
    if (overrides.eventName !== undefined && overrides.dir === undefined) {
      event.dir = event.eventName ? 'named' : 'unnamed';
    }
    if (this.byName.has(event.fileName)) {
      if (overrides.fileName !== undefined) throw new Error(`a recording named ${overrides.fileName} exists`);
      let n = 1;
      while (this.byName.has(`${event.fileName}-${n}`)) n++;
      event.fileName = `${event.fileName}-${n}`;
    }
    const q = (value: unknown): string => JSON.stringify(value);
    return {
      event,
      triggeredMs,
      video: this.videoSource(event.fileName, overrides.videoBytes),
      thumbnail: this.thumbnailSource,
      jsonHead:
        `{"fileName":${q(event.fileName)},"eventName":${q(event.eventName)},"triggeredAt":${q(event.triggeredAt)},` +
        `"vidExt":${q(event.vidExt)},"thmbExt":${q(event.thmbExt)},"playbackTime":${q(event.playbackTime)},"age":`,
      jsonTail: `,"dir":${q(event.dir)}}`,
    };
  }

  /** Hostile values, one kind per new recording in turn. */
  private applyHostile(event: Omit<CameraEvent, 'age'>, triggeredMs: number): void {
    const turn = this.hostileCounter++;
    const round = Math.floor(turn / 8);
    const suffix = round === 0 ? '' : `-${round}`;
    switch (turn % 8) {
      case 0:
        event.fileName = `../../etc/passwd${suffix}`;
        break;
      case 1:
        event.fileName = `..\\..\\win.ini${suffix}`;
        break;
      case 2:
        event.fileName = `a/b${suffix}`;
        break;
      case 3:
        event.eventName = '<script>alert(1)</script>';
        event.dir = 'named';
        break;
      case 4:
        event.triggeredAt = isoLocal(triggeredMs + this.skewMs, this.zone, false);
        break;
      case 5:
        event.vidExt = 'mp4';
        break;
      case 6:
        event.vidExt = '.mp4/../../x';
        break;
      default:
        event.fileName = `${event.fileName}\u0000x`;
    }
  }

  private bytesOf(recording: Recording): number {
    return recording.video.size + recording.thumbnail.size;
  }

  /** Stores a finished recording, recycling the oldest when storage is short; false when it was dropped. */
  private store(recording: Recording): boolean {
    const need = this.bytesOf(recording);
    if (this.usedBytes + need > this.capacity) {
      if (!this.settings.recording_ensure_free_storage || need > this.capacity) return false;
      let free = this.capacity - this.usedBytes;
      let count = 0;
      while (free < need && count < this.list.length) free += this.bytesOf(this.list[count++]!);
      for (const old of this.list.splice(0, count)) this.forget(old);
    }
    const at = this.list.length;
    if (at === 0 || this.list[at - 1]!.triggeredMs <= recording.triggeredMs) {
      this.list.push(recording);
    } else {
      let low = 0;
      let high = at;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if (this.list[mid]!.triggeredMs <= recording.triggeredMs) low = mid + 1;
        else high = mid;
      }
      this.list.splice(low, 0, recording);
    }
    this.byName.set(recording.event.fileName, recording);
    const thumbKey = recording.event.fileName + recording.event.thmbExt;
    if (!this.byThumbnail.has(thumbKey)) this.byThumbnail.set(thumbKey, recording);
    this.usedBytes += need;
    return true;
  }

  private forget(recording: Recording): void {
    this.byName.delete(recording.event.fileName);
    const thumbKey = recording.event.fileName + recording.event.thmbExt;
    if (this.byThumbnail.get(thumbKey) === recording) this.byThumbnail.delete(thumbKey);
    this.usedBytes -= this.bytesOf(recording);
  }

  private isFull(): boolean {
    const need = this.fixtures.video.size + this.thumbnailSource.size;
    return !this.settings.recording_ensure_free_storage && this.usedBytes + need > this.capacity;
  }

  private publicEvent(recording: Recording): CameraEvent {
    const { dir, ...rest } = recording.event;
    return { ...rest, age: this.ageOf(recording.triggeredMs), dir };
  }

  private ageOf(triggeredMs: number): number {
    return Math.max(0, Math.floor((Date.now() - triggeredMs) / 1000));
  }

  /** Announces a finished recording to listeners and SSE clients. */
  private announce(recording: Recording): CameraEvent {
    const event = this.publicEvent(recording);
    const frame = `event: recording\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of this.sseClients) if (!res.destroyed) res.write(frame);
    this.control.emit('recording', event);
    return event;
  }

  addRecording(overrides: Partial<CameraEvent> & { videoBytes?: number }): CameraEvent {
    const now = Date.now();
    const eventName = overrides.eventName ?? null;
    const recording = this.makeRecording({
      fileName: this.uniqueName(now),
      eventName,
      triggeredMs: now,
      playbackTime: this.settings.recording_seconds_pre_event + this.settings.recording_seconds_post_event,
      overrides,
    });
    if (!this.store(recording)) throw new Error('storage full');
    return this.announce(recording);
  }

  listRecordings(): CameraEvent[] {
    const out: CameraEvent[] = [];
    for (let i = this.list.length - 1; i >= 0; i--) out.push(this.publicEvent(this.list[i]!));
    return out;
  }

  removeRecording(fileName: string): boolean {
    const recording = this.byName.get(fileName);
    if (!recording) return false;
    this.list.splice(this.list.indexOf(recording), 1);
    this.forget(recording);
    return true;
  }

  private removeAll(): void {
    this.list.length = 0;
    this.byName.clear();
    this.byThumbnail.clear();
    this.usedBytes = 0;
  }

  media(fileName: string, kind: 'video' | 'thumbnail'): { size: number; sha256: string } {
    const recording = this.byName.get(fileName);
    if (!recording) throw new Error(`no recording named ${fileName}`);
    const source = kind === 'video' ? recording.video : recording.thumbnail;
    return { size: source.size, sha256: source.sha256() };
  }

  // ---- active events ----

  trigger(request: Partial<TriggerRequest>): Promise<CameraEvent> {
    const checked = validateTrigger(request);
    if (!checked.ok) return Promise.reject(new TypeError(checked.error));
    if (this.isFull()) return Promise.reject(new Error('storage full'));
    const { promise } = this.startEvent(checked.value);
    promise.catch(() => undefined);
    return promise;
  }

  private startEvent(request: Partial<TriggerRequest>): {
    event: ActiveEvent;
    promise: Promise<CameraEvent>;
  } {
    if (request.stopOtherEvents === 'all') {
      for (const other of [...this.active.values()]) this.finishActive(other);
    }
    const now = Date.now();
    const postSeconds =
      request.postEventSeconds ?? this.options.postEventSeconds ?? this.settings.recording_seconds_post_event;
    const event: ActiveEvent = {
      fileName: this.uniqueName(now),
      eventName: request.eventName ? request.eventName : null,
      triggeredMs: now,
      preSeconds: request.preEventSeconds ?? this.settings.recording_seconds_pre_event,
      unlimited: request.postEventUnlimited === true,
      timer: undefined,
      waiters: [],
    };
    const promise = new Promise<CameraEvent>((resolve, reject) => event.waiters.push({ resolve, reject }));
    this.active.set(event.fileName, event);
    if (!event.unlimited) {
      event.timer = this.timers.timeout(() => this.finishActive(event), postSeconds * 1000);
    }
    return { event, promise };
  }

  private finishActive(event: ActiveEvent): void {
    if (this.active.get(event.fileName) !== event) return;
    this.active.delete(event.fileName);
    this.timers.clear(event.timer);
    const recorded = (Date.now() - event.triggeredMs) / 1000;
    const recording = this.makeRecording({
      fileName: event.fileName,
      eventName: event.eventName,
      triggeredMs: event.triggeredMs,
      playbackTime: event.preSeconds + recorded,
    });
    if (!this.store(recording)) {
      for (const waiter of event.waiters) waiter.reject(new Error('storage full'));
      return;
    }
    const announced = this.announce(recording);
    for (const waiter of event.waiters) waiter.resolve(announced);
  }

  private activeEvents(): CameraEvent[] {
    const out: CameraEvent[] = [];
    for (const event of this.active.values()) {
      out.push({
        fileName: event.fileName,
        eventName: event.eventName,
        triggeredAt: isoLocal(event.triggeredMs + this.skewMs, this.zone),
        vidExt: '.mp4',
        thmbExt: '.jpg',
        playbackTime: Math.round(event.preSeconds + (Date.now() - event.triggeredMs) / 1000),
        age: this.ageOf(event.triggeredMs),
        dir: event.eventName ? 'named' : 'unnamed',
      });
    }
    return out.reverse();
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const query = raw.indexOf('?');
    const path = query >= 0 ? raw.slice(0, query) : raw;
    const method = req.method ?? 'GET';
    if (path === '/_sim' || path.startsWith('/_sim/')) return this.handleSim(req, res, path, method);
    if (this.offlineMode || this.restarting || this.stopped) {
      req.socket.destroy();
      return;
    }
    const entry: SimulatedRequest = { method, path: raw, headers: { ...req.headers }, at: Date.now() };
    this.requestLog.push(entry);
    if (this.requestLog.length > MAX_LOGGED_REQUESTS) this.requestLog.splice(0, this.requestLog.length / 2);
    this.control.emit('request', entry);

    const plan = drawPlan(this.faultRandom, this.faults);
    const ctx: Context = { req, res, method, plan };
    if (this.faults.latencyMs > 0) {
      await this.timers.sleep(this.faults.latencyMs);
      if (res.destroyed || this.stopped) return;
    }
    if (plan.stall) return; // never answered; the socket goes when the client gives up, or at restart / stop
    if (plan.reset) {
      resetSocket(req.socket);
      return;
    }
    if (plan.error) {
      const message = plan.errorStatus === 503 ? 'service unavailable' : 'internal error';
      return this.json(ctx, plan.errorStatus, { error: message });
    }
    if (this.auth) {
      const result = this.auth.check(method, raw, req.headers.authorization);
      if (!result.ok) {
        return this.json(ctx, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': result.challenge });
      }
    }
    try {
      await this.route(ctx, path);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      if (!res.headersSent) this.json(ctx, error.status, { error: error.message });
    }
  }

  private async route(ctx: Context, path: string): Promise<void> {
    const { method } = ctx;
    if (
      (path === '/stream-hd' || (path === '/stream-sd' && this.options.sdStream)) &&
      !this.unsupported.has('streams')
    ) {
      return this.only(ctx, ['GET'], () => this.mjpeg(ctx));
    }
    if (path === SNAPSHOT_PATH && !this.unsupported.has('streams') && !this.options.noSnapshot) {
      return this.only(ctx, ['GET', 'HEAD'], () => this.snapshot(ctx));
    }
    if (!path.startsWith('/api/')) return this.notFound(ctx);
    const rest = path.slice('/api/'.length);
    switch (rest) {
      case 'system':
        return this.only(ctx, ['GET'], () => this.json(ctx, 200, this.systemInfo()));
      case 'system/settings':
        return this.only(ctx, ['GET', 'PUT', 'DELETE'], () => this.settingsRoute(ctx));
      case 'system/storage':
        return this.feature(ctx, 'storage', ['GET'], () =>
          this.json(ctx, 200, {
            totalBytes: this.capacity,
            usedBytes: this.usedBytes,
            freeBytes: Math.max(0, this.capacity - this.usedBytes),
            recordings: this.list.length,
          }),
        );
      case 'system/firmware':
        return this.feature(ctx, 'firmware', ['GET'], () =>
          this.json(ctx, 200, { version: SOFTWARE_VERSION, buildDate: '2025-06-12' }),
        );
      case 'system/datetime':
        return this.feature(ctx, 'datetime', ['GET'], () =>
          this.json(ctx, 200, {
            systemTime: new Date(Date.now() + this.skewMs).toISOString(),
            timezone: this.zone,
            ntpServer: this.settings.network_ntp,
            ntpSynced: this.settings.network_ntp !== '' && this.faults.clockSkewSeconds === 0,
          }),
        );
      case 'system/timezones':
        return this.feature(ctx, 'timezones', ['GET'], () => this.json(ctx, 200, timeZones()));
      case 'system/reboot':
        return this.only(ctx, ['POST'], () => {
          this.empty(ctx, 200);
          this.restartAfter(ctx.res);
        });
      case 'system/exposure':
        return this.feature(ctx, 'exposure', ['GET', 'PUT'], () => this.live(ctx, EXPOSURE));
      case 'system/focus':
        return this.feature(ctx, 'focus', ['GET', 'PUT'], () => this.live(ctx, FOCUS));
      case 'system/overlay':
        return this.feature(ctx, 'overlay', ['GET', 'PUT'], () => this.live(ctx, OVERLAY));
      case 'streams':
        return this.feature(ctx, 'streams', ['GET'], () => this.json(ctx, 200, this.streams()));
      case 'sse/recordings':
        return this.feature(ctx, 'sse', ['GET'], () => this.sse(ctx));
      case 'events':
        return this.only(ctx, ['GET', 'POST', 'DELETE'], () => this.eventsRoute(ctx));
      case 'events/active':
        return this.feature(ctx, 'active', ['GET', 'DELETE'], () => {
          if (method === 'GET') return this.json(ctx, 200, this.activeEvents());
          for (const event of [...this.active.values()]) this.finishActive(event);
          return this.empty(ctx, 200);
        });
    }
    if (rest.startsWith('events/active/')) {
      return this.feature(ctx, 'active', ['DELETE'], () => {
        const name = decode(rest.slice('events/active/'.length));
        const matching = [...this.active.values()].filter((event) => event.eventName === name);
        if (name === undefined || matching.length === 0) return this.notFound(ctx);
        for (const event of matching) this.finishActive(event);
        return this.empty(ctx, 200);
      });
    }
    if (rest.startsWith('events/')) {
      const name = decode(rest.slice('events/'.length));
      return this.only(ctx, ['GET', 'HEAD', 'DELETE'], () => this.recordingRoute(ctx, name));
    }
    return this.notFound(ctx);
  }

  private async only(ctx: Context, methods: string[], run: () => void | Promise<void>): Promise<void> {
    if (!methods.includes(ctx.method)) {
      return this.json(ctx, 405, { error: 'method not allowed' }, { Allow: methods.join(', ') });
    }
    await run();
  }

  private feature(
    ctx: Context,
    key: RouteKey,
    methods: string[],
    run: () => void | Promise<void>,
  ): void | Promise<void> {
    if (this.unsupported.has(key)) return this.notFound(ctx);
    return this.only(ctx, methods, run);
  }

  private notFound(ctx: Context): void {
    this.json(ctx, 404, { error: 'not found' });
  }

  private async readJson(ctx: Context): Promise<unknown> {
    return parseJson(await readBody(ctx.req));
  }

  private systemInfo(): SystemInfo {
    const uptime = this.uptimeSeconds;
    const wave = Math.sin(Date.now() / 600_000) * 0.8;
    return {
      brand: 'PFCAM',
      name: this.settings.name,
      serialNumber: this.serialNumber,
      customSerialNumber: '',
      hardwareVersion: 'PFC4-R2',
      softwareVersion: SOFTWARE_VERSION,
      firmwareLink: `${this.url}/api/system/firmware`,
      settingsLink: `${this.url}/api/system/settings`,
      hasVcm: true,
      heaterTemperature: Math.round((19.5 + this.settings.heater_level * 6 + wave) * 10) / 10,
      ipAddress: this.settings.network_ip,
      macAddress: this.macAddress,
      systemTime: new Date(Date.now() + this.skewMs).toISOString(),
      timezone: this.zone,
      uptime,
      service_uptime: Math.max(0, uptime - 2),
    };
  }

  private async settingsRoute(ctx: Context): Promise<void> {
    if (ctx.method === 'GET') return this.json(ctx, 200, this.settings);
    if (ctx.method === 'DELETE') {
      this.settings = this.factorySettings();
      this.json(ctx, 200, this.settings);
      return this.restartAfter(ctx.res);
    }
    const checked = validateSettingsPatch(await this.readJson(ctx));
    if (!checked.ok) return this.json(ctx, 400, { error: checked.error });
    this.settings = { ...this.settings, ...checked.value };
    // Real cameras answer with the settings, or with nothing at all before they go down.
    if (this.miscRandom() < 0.5) this.empty(ctx, 200);
    else this.json(ctx, 200, this.settings);
    this.restartAfter(ctx.res);
  }

  private async live<T>(ctx: Context, resource: LiveResource<T>): Promise<void> {
    if (ctx.method === 'PUT') {
      const checked = resource.patch(await this.readJson(ctx));
      if (!checked.ok) return this.json(ctx, 400, { error: checked.error });
      this.settings = { ...this.settings, ...checked.value };
    }
    this.json(ctx, 200, resource.read(this.settings));
  }

  private streams(): Record<string, unknown> {
    const s = this.settings;
    const height = (width: number): number => Math.round((width * 9) / 16);
    const out: Record<string, unknown> = {
      hd: {
        name: 'hd',
        codec: 'mjpeg',
        fps: this.options.liveFps ?? LIVE_FPS,
        resolution: { width: s.live_resolution_width, height: height(s.live_resolution_width) },
        url: { absolute: `${this.url}/stream-hd`, relative: '/stream-hd' },
        ...(this.options.noSnapshot
          ? {}
          : { snapshot: { url: { absolute: `${this.url}${SNAPSHOT_PATH}`, relative: SNAPSHOT_PATH } } }),
      },
    };
    if (this.options.sdStream) {
      out.sd = {
        name: 'sd',
        codec: 'mjpeg',
        fps: this.options.liveFps ?? LIVE_FPS,
        resolution: { width: 640, height: 360 },
        url: { absolute: `${this.url}/stream-sd`, relative: '/stream-sd' },
      };
    }
    if (s.rtsp) {
      const host = this.host.includes(':') ? `[${this.host}]` : this.host;
      out.rtsp = {
        name: 'rtsp',
        codec: 'h264',
        fps: s.rtsp_fps,
        resolution: { width: s.rtsp_resolution_width, height: height(s.rtsp_resolution_width) },
        url: { absolute: `rtsp://${host}:${s.rtsp_port}/${s.rtsp_path.replace(/^\/+/, '')}` },
      };
    }
    return out;
  }

  private async eventsRoute(ctx: Context): Promise<void> {
    if (ctx.method === 'GET') {
      const parts = new Array<string>(this.list.length);
      const now = Date.now();
      for (let i = this.list.length - 1, j = 0; i >= 0; i--, j++) {
        const r = this.list[i]!;
        parts[j] = r.jsonHead + Math.max(0, Math.floor((now - r.triggeredMs) / 1000)) + r.jsonTail;
      }
      return this.json(ctx, 200, undefined, {}, `[${parts.join(',')}]`);
    }
    if (ctx.method === 'DELETE') {
      this.removeAll();
      return this.empty(ctx, 200);
    }
    const checked = validateTrigger(await this.readJson(ctx));
    if (!checked.ok) return this.json(ctx, 400, { error: checked.error });
    if (this.isFull()) return this.json(ctx, 507, { error: 'storage full' });
    this.startEvent(checked.value).promise.catch(() => undefined);
    this.empty(ctx, 200);
  }

  private async recordingRoute(ctx: Context, name: string | undefined): Promise<void> {
    if (name === undefined) return this.notFound(ctx);
    const asVideo = this.byName.get(name);
    if (ctx.method === 'DELETE') {
      if (!asVideo) return this.notFound(ctx);
      this.removeRecording(name);
      return this.empty(ctx, 200);
    }
    const recording = asVideo ?? this.byThumbnail.get(name);
    if (!recording) return this.notFound(ctx);
    await this.serveMedia(
      ctx,
      asVideo ? recording.video : recording.thumbnail,
      asVideo ? 'video/mp4' : 'image/jpeg',
    );
  }

  /** Serves a media body with Range support (and the media faults). */
  private async serveMedia(ctx: Context, source: MediaSource, contentType: string): Promise<void> {
    if (ctx.plan.mediaJsonError) return this.mediaJsonError(ctx);
    const range = parseRange(ctx.req.headers.range, source.size);
    const headers: Record<string, string> = { 'Content-Type': contentType, 'Accept-Ranges': 'bytes' };
    if (range.kind === 'invalid') {
      return this.json(
        ctx,
        416,
        { error: 'range not satisfiable' },
        { 'Content-Range': `bytes */${source.size}` },
      );
    }
    if (range.kind === 'partial') {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${source.size}`;
      return this.body(ctx, 206, headers, source, range.start, range.end);
    }
    return this.body(ctx, 200, headers, source, 0, source.size - 1);
  }

  private mediaJsonError(ctx: Context): void {
    void this.body(
      ctx,
      200,
      { 'Content-Type': 'application/json' },
      jsonSource({ error: 'file not available' }),
    );
  }

  private async snapshot(ctx: Context): Promise<void> {
    if (ctx.plan.mediaJsonError) return this.mediaJsonError(ctx);
    const frames = this.fixtures.frames;
    const frame = frames[Math.floor(Date.now() / (1000 / LIVE_FPS)) % frames.length]!;
    await this.body(
      ctx,
      200,
      { 'Content-Type': 'image/jpeg', 'Cache-Control': 'no-store' },
      bufferSource(frame, 'image/jpeg'),
    );
  }

  private mjpeg(ctx: Context): void {
    if (ctx.plan.mediaJsonError) return this.mediaJsonError(ctx);
    const { res } = ctx;
    const boundary = 'pfcamframe';
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${boundary}`,
      'Cache-Control': 'no-store',
      Connection: 'close',
    });
    if (ctx.plan.resetAfterHeaders) return this.resetAfterHeaders(ctx);
    const frames = this.fixtures.frames;
    let index = 0;
    const send = (): void => {
      if (res.destroyed || res.writableNeedDrain) return;
      const seq = ++this.liveSeq;
      const now = Date.now();
      const frame = stampJpeg(frames[index++ % frames.length]!, seq, now);
      res.write(`--${boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`);
      res.write(frame);
      res.write('\r\n');
    };
    this.liveStreamCount.open++;
    this.liveStreamCount.opened++;
    send();
    const timer = this.timers.interval(send, 1000 / (this.options.liveFps ?? LIVE_FPS));
    res.on('close', () => {
      this.liveStreamCount.open--;
      this.timers.clear(timer);
    });
  }

  private sse(ctx: Context): void {
    const { res } = ctx;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (ctx.plan.resetAfterHeaders) return this.resetAfterHeaders(ctx);
    res.write(': connected\n\n');
    this.sseClients.add(res);
    const ping = this.timers.interval(() => {
      if (!res.destroyed) res.write(': ping\n\n');
    }, this.options.ssePingMs ?? 15_000);
    const drop =
      this.faults.sseDropAfterMs > 0
        ? this.timers.timeout(() => res.destroy(), this.faults.sseDropAfterMs)
        : undefined;
    res.on('close', () => {
      this.sseClients.delete(res);
      this.timers.clear(ping);
      this.timers.clear(drop);
    });
  }

  // ---- responses (every camera answer goes through these, and so through the faults) ----

  private json(
    ctx: Context,
    status: number,
    value: unknown,
    headers: Record<string, string> = {},
    text?: string,
  ): void {
    let body = text ?? JSON.stringify(value);
    if (status === 200 && ctx.plan.malformedJson)
      body = body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    void this.body(
      ctx,
      status,
      { ...headers, 'Content-Type': 'application/json' },
      bufferSource(Buffer.from(body), ''),
    );
  }

  private empty(ctx: Context, status: number): void {
    void this.body(ctx, status, {}, bufferSource(Buffer.alloc(0), ''));
  }

  private body(
    ctx: Context,
    status: number,
    headers: Record<string, string>,
    source: MediaSource,
    start = 0,
    end = source.size - 1,
  ): Promise<void> {
    const { res, plan } = ctx;
    if (res.destroyed) return Promise.resolve();
    const length = Math.max(0, end - start + 1);
    res.writeHead(status, { ...headers, 'Content-Length': String(length) });
    if (plan.resetAfterHeaders) {
      this.resetAfterHeaders(ctx);
      return Promise.resolve();
    }
    if (ctx.method === 'HEAD' || length === 0) {
      if (plan.truncate) {
        res.flushHeaders();
        setImmediate(() => res.destroy());
      } else res.end();
      return Promise.resolve();
    }
    const cutAfter = plan.truncate ? Math.floor(length * plan.truncateAt) : undefined;
    return writeBody(res, source.chunks(start, end), {
      bandwidth: this.faults.bandwidthBytesPerSec,
      cutAfter,
      timers: this.timers,
    }).then(() => undefined);
  }

  private resetAfterHeaders(ctx: Context): void {
    ctx.res.flushHeaders();
    setImmediate(() => resetSocket(ctx.req.socket));
  }

  /** A response outside the camera API (no faults, no auth). */
  private plainJson(res: ServerResponse, status: number, value: unknown): void {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
    res.end(body);
  }

  // ---- /_sim/ control ----

  state(): Record<string, unknown> {
    return {
      url: this.url,
      serialNumber: this.serialNumber,
      seed: this.seed,
      online: !this.offlineMode && !this.restarting,
      offline: this.offlineMode,
      restarting: this.restarting,
      uptime: this.uptimeSeconds,
      faults: this.faults,
      recordings: this.list.length,
      active: this.active.size,
      storage: { totalBytes: this.capacity, usedBytes: this.usedBytes },
      sseClients: this.sseClients.size,
      requests: this.requestLog.length,
    };
  }

  private async handleSim(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): Promise<void> {
    const route = `${method} ${path}`;
    const body = async (): Promise<unknown> => {
      try {
        return parseJson(await readBody(req));
      } catch (error) {
        this.plainJson(res, error instanceof BodyError ? error.status : 400, { error: String(error) });
        return BAD_BODY;
      }
    };
    switch (route) {
      case 'GET /_sim/state':
        return this.plainJson(res, 200, this.state());
      case 'PUT /_sim/faults': {
        const patch = await body();
        if (patch === BAD_BODY) return;
        try {
          this.setFaults(validateFaults(patch ?? {}));
        } catch (error) {
          return this.plainJson(res, 400, { error: (error as Error).message });
        }
        return this.plainJson(res, 200, this.faults);
      }
      case 'DELETE /_sim/faults':
        this.setFaults(NO_FAULTS);
        return this.plainJson(res, 200, this.faults);
      case 'POST /_sim/recordings': {
        const overrides = await body();
        if (overrides === BAD_BODY) return;
        const checked = validateOverrides(overrides ?? {});
        if (!checked.ok) return this.plainJson(res, 400, { error: checked.error });
        try {
          return this.plainJson(res, 201, this.addRecording(checked.value));
        } catch (error) {
          return this.plainJson(res, 409, { error: (error as Error).message });
        }
      }
      case 'POST /_sim/restart': {
        const options = await body();
        if (options === BAD_BODY) return;
        const ms = isObject(options) && typeof options.ms === 'number' ? options.ms : this.restartMs;
        this.plainJson(res, 202, { restarting: true, ms });
        return this.restartAfter(res, ms);
      }
      case 'POST /_sim/offline':
        this.plainJson(res, 200, { offline: true });
        res.once('close', () => this.setOffline(true));
        return;
      case 'POST /_sim/online':
        this.setOffline(false);
        return this.plainJson(res, 200, { offline: false });
      default:
        return this.plainJson(res, 404, { error: 'not found' });
    }
  }
}

const BAD_BODY = Symbol('bad body');

function validateOverrides(value: unknown): Validation<Partial<CameraEvent> & { videoBytes?: number }> {
  if (!isObject(value)) return { ok: false, error: 'overrides must be a JSON object' };
  const kinds: Record<string, (v: unknown) => boolean> = {
    fileName: (v) => typeof v === 'string' && v.length > 0,
    eventName: (v) => v === null || typeof v === 'string',
    triggeredAt: (v) => typeof v === 'string',
    vidExt: (v) => typeof v === 'string',
    thmbExt: (v) => typeof v === 'string',
    playbackTime: (v) => typeof v === 'number' && Number.isFinite(v),
    age: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
    dir: (v) => typeof v === 'string',
    videoBytes: (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0,
  };
  for (const [key, val] of Object.entries(value)) {
    const ok = kinds[key];
    if (!ok) return { ok: false, error: `unknown field: ${key}` };
    if (!ok(val)) return { ok: false, error: `invalid ${key}` };
  }
  return { ok: true, value };
}

function jsonSource(value: unknown): MediaSource {
  return bufferSource(Buffer.from(JSON.stringify(value)), 'application/json');
}

/** Percent-decodes one path remainder; undefined when it is malformed. */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Destroys a connection with a TCP reset where the socket allows it. */
function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
