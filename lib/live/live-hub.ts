/**
 * The live relays of the process, one MJPEG relay and (where ffmpeg is installed) one fMP4 relay per camera,
 * made on first use and found by camera id; snapshots; the caps the admin chose; the counters for metrics.
 */
import type { Readable } from 'node:stream';
import type { RegisteredCamera } from '../cameras/camera-registry';
import { metrics as processMetrics, type Metrics } from '../metrics/metrics';
import { NO_CAPS, pickStream, type LiveCaps } from './live-caps';
import { findFfmpeg, Fmp4Relay, type Fmp4RelayCounters, type Fmp4RelayOptions } from './fmp4-relay';
import type { LiveState } from './live-state';
import { MjpegRelay, type MjpegRelayCounters, type MjpegRelayOptions } from './mjpeg-relay';

export type { LiveCaps } from './live-caps';

export interface LiveHubOptions {
  mjpeg?: Partial<Omit<MjpegRelayOptions, 'open'>>;
  fmp4?: Partial<Omit<Fmp4RelayOptions, 'rtspUrl' | 'ffmpegPath'>>;
  /** The ffmpeg to use; `null` turns the fMP4 path off. Default: found on PATH. */
  ffmpegPath?: string | null;
  /** Budget of a camera snapshot request (ms, default 8000). */
  snapshotTimeoutMs?: number;
  /** Where viewers and dropped frames are reported (default: the process's metrics). */
  metrics?: Pick<Metrics, 'liveViewers' | 'liveFramesDropped'>;
}

export interface LiveStateReport {
  mjpeg: LiveState;
  /** `unavailable`: no ffmpeg here, or the camera has no RTSP H.264 stream. */
  fmp4: LiveState | 'unavailable';
  viewers: number;
  /** The MJPEG stream relayed (once opened): its name, width and whether it is within the width cap. */
  stream?: { name: string; width: number; withinCap: boolean };
}

export interface LiveCounters {
  camera: string;
  mjpeg: MjpegRelayCounters;
  fmp4: Fmp4RelayCounters | undefined;
}

interface Entry {
  camera: RegisteredCamera;
  mjpeg: MjpegRelay;
  fmp4: Fmp4Relay | undefined;
  rtsp: { url: string | undefined; at: number } | undefined;
  picked: { name: string; width: number; withinCap: boolean } | undefined;
}

const RTSP_CACHE_MS = 60_000;

/**
 * The camera's RTSP URL from its `/api/streams` (rebuilt on the address Node-RED reaches it by): its H.264
 * stream, the widest within `maxWidth` when the camera offers several.
 */
export async function rtspUrlOf(
  camera: RegisteredCamera,
  signal?: AbortSignal,
  maxWidth = 0,
): Promise<string | undefined> {
  const streams = await camera.client.listStreams({ signal, timeoutMs: 8000 });
  const absolute = Object.fromEntries(
    Object.entries(streams).filter(([, s]) => typeof s?.url?.absolute === 'string'),
  );
  const rtsp = pickStream(absolute, /^h\.?264$/i, maxWidth, 'rtsp')?.stream;
  if (!rtsp) return undefined;
  let url: URL;
  try {
    url = new URL(rtsp.url.absolute);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'rtsp:') return undefined;
  url.hostname = new URL(camera.client.baseUrl).hostname;
  url.username = '';
  url.password = '';
  return url.toString();
}

export class LiveHub {
  private readonly entries = new Map<string, Entry>();
  private readonly caps = new Map<string, LiveCaps>();
  private readonly ffmpeg: string | undefined;
  private defaultMaxFps = 0;
  private readonly metrics: Pick<Metrics, 'liveViewers' | 'liveFramesDropped'>;
  /** The fMP4 relays whose viewers are reported (each once). */
  private readonly watched = new WeakSet<Fmp4Relay>();
  private readonly onViewers = (): void => this.reportViewers();
  private readonly onDropped = (): void => this.metrics.liveFramesDropped();

  constructor(private readonly options: LiveHubOptions = {}) {
    this.ffmpeg = options.ffmpegPath === null ? undefined : (options.ffmpegPath ?? findFfmpeg());
    this.metrics = options.metrics ?? processMetrics;
  }

  /** Viewers of every relay of this hub now (MJPEG and fMP4). */
  get viewers(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.mjpeg.counters.viewers + (e.fmp4?.counters.viewers ?? 0);
    return n;
  }

  private reportViewers(): void {
    this.metrics.liveViewers(this.viewers);
  }

  private watch(relay: MjpegRelay | Fmp4Relay): void {
    relay.on('viewers', this.onViewers);
    relay.on('dropped', this.onDropped);
  }

  private unwatch(relay: MjpegRelay | Fmp4Relay | undefined): void {
    relay?.off('viewers', this.onViewers);
    relay?.off('dropped', this.onDropped);
  }

  /** True when the fMP4 path can run here (ffmpeg found). */
  get fmp4Supported(): boolean {
    return this.ffmpeg !== undefined;
  }

  /** Overrides the caps a camera registered with (applies from the next frame / the next upstream). */
  setCaps(cameraId: string, caps: LiveCaps): void {
    this.caps.set(cameraId, caps);
    const entry = this.entries.get(cameraId);
    if (entry) entry.mjpeg.setMaxFps(this.effectiveCaps(entry.camera).maxFps);
  }

  /** The frame-rate cap of every camera without its own (0 = none). */
  setDefaultMaxFps(fps: number): void {
    this.defaultMaxFps = Number.isFinite(fps) && fps > 0 ? fps : 0;
    for (const entry of this.entries.values()) {
      entry.mjpeg.setMaxFps(this.effectiveCaps(entry.camera).maxFps);
    }
  }

  capsOf(cameraId: string): LiveCaps | undefined {
    return this.caps.get(cameraId);
  }

  /**
   * The caps in force for a camera: those set with `setCaps`, else those of its `pfcam-camera` node; a camera
   * without a frame-rate cap of its own gets the default one.
   */
  effectiveCaps(camera: RegisteredCamera): LiveCaps {
    const own = this.caps.get(camera.id) ?? camera.liveCaps ?? NO_CAPS;
    const fallbackFps = this.defaultMaxFps || this.options.mjpeg?.maxFps || 0;
    return { maxFps: own.maxFps || fallbackFps, maxWidth: own.maxWidth };
  }

  mjpeg(camera: RegisteredCamera): MjpegRelay {
    return this.entry(camera).mjpeg;
  }

  /** The fMP4 relay, or undefined when ffmpeg is missing or the camera has no RTSP H.264 stream. */
  async fmp4(camera: RegisteredCamera, signal?: AbortSignal): Promise<Fmp4Relay | undefined> {
    if (!this.ffmpeg) return undefined;
    const entry = this.entry(camera);
    if (!(await this.cachedRtsp(entry, signal))) return undefined;
    entry.fmp4 ??= new Fmp4Relay({
      ...this.options.fmp4,
      ffmpegPath: this.ffmpeg,
      credentials: () => entry.camera.rtspCredentials?.(),
      rtspUrl: async (s) => {
        const url = await this.cachedRtsp(entry, s, true);
        if (!url) throw new Error('the camera has no RTSP stream');
        return url;
      },
    });
    if (!this.watched.has(entry.fmp4)) {
      this.watched.add(entry.fmp4);
      this.watch(entry.fmp4);
    }
    return entry.fmp4;
  }

  state(camera: RegisteredCamera): LiveStateReport {
    const entry = this.entries.get(camera.id);
    const rtspKnown = entry?.rtsp;
    return {
      mjpeg: entry?.mjpeg.state ?? 'idle',
      fmp4: !this.ffmpeg
        ? 'unavailable'
        : entry?.fmp4
          ? entry.fmp4.state
          : rtspKnown && rtspKnown.url === undefined
            ? 'unavailable'
            : 'idle',
      viewers: (entry?.mjpeg.counters.viewers ?? 0) + (entry?.fmp4?.counters.viewers ?? 0),
      ...(entry?.picked ? { stream: { ...entry.picked } } : {}),
    };
  }

  /**
   * A JPEG of the camera now: from its snapshot URL, else the live stream's latest frame (fresh, under 2 s)
   * or its next one. Rejects when neither answers.
   */
  async snapshot(camera: RegisteredCamera): Promise<Buffer> {
    const timeoutMs = this.options.snapshotTimeoutMs ?? 8000;
    try {
      const { data } = await camera.client.getSnapshot('hd', { timeoutMs, maxBytes: 16 * 1024 * 1024 });
      return data;
    } catch (snapshotError) {
      const relay = this.mjpeg(camera);
      const latest = relay.latestFrame;
      if (latest && Date.now() - latest.receivedAt < 2000) return latest.data;
      const frame = await relay.nextFrame(timeoutMs);
      if (frame) return frame.data;
      throw snapshotError;
    }
  }

  /** The relays made for a camera so far (tests, metrics). */
  relaysOf(cameraId: string): { mjpeg: MjpegRelay; fmp4: Fmp4Relay | undefined } | undefined {
    const entry = this.entries.get(cameraId);
    return entry ? { mjpeg: entry.mjpeg, fmp4: entry.fmp4 } : undefined;
  }

  counters(): LiveCounters[] {
    return [...this.entries.values()].map((e) => ({
      camera: e.camera.id,
      mjpeg: e.mjpeg.counters,
      fmp4: e.fmp4?.counters,
    }));
  }

  /** Closes the relays of one camera (it was removed). */
  async forget(cameraId: string): Promise<void> {
    const entry = this.entries.get(cameraId);
    if (!entry) return;
    this.entries.delete(cameraId);
    this.unwatch(entry.mjpeg);
    this.unwatch(entry.fmp4);
    entry.mjpeg.close();
    this.reportViewers();
    await entry.fmp4?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.forget(id)));
  }

  private entry(camera: RegisteredCamera): Entry {
    let entry = this.entries.get(camera.id);
    if (entry && entry.camera !== camera) {
      // the camera was re-registered (redeploy): new client, new relays
      void this.forget(camera.id);
      entry = undefined;
    }
    if (!entry) {
      const mjpeg = new MjpegRelay({
        ...this.options.mjpeg,
        maxFps: this.effectiveCaps(camera).maxFps,
        open: (signal) => this.openMjpeg(created, signal),
      });
      this.watch(mjpeg);
      const created: Entry = { camera, mjpeg, fmp4: undefined, rtsp: undefined, picked: undefined };
      entry = created;
      this.entries.set(camera.id, entry);
    }
    return entry;
  }

  /** Opens the camera's MJPEG stream that honours the width cap (its `hd` stream when there is none). */
  private async openMjpeg(
    entry: Entry,
    signal: AbortSignal,
  ): Promise<{ contentType: string; body: Readable }> {
    const { client } = entry.camera;
    const { maxWidth } = this.effectiveCaps(entry.camera);
    let name = 'hd';
    if (maxWidth > 0) {
      const picked = pickStream(
        await client.listStreams({ signal, timeoutMs: 8000 }),
        /mjpe?g/i,
        maxWidth,
        'hd',
      );
      if (picked) {
        name = picked.name;
        entry.picked = { name, width: picked.stream.resolution?.width ?? 0, withinCap: picked.withinCap };
      }
    }
    return client.openLiveStream(name, { signal, timeoutMs: 10_000 });
  }

  private async cachedRtsp(entry: Entry, signal?: AbortSignal, fresh = false): Promise<string | undefined> {
    const cached = entry.rtsp;
    if (cached && !fresh && Date.now() - cached.at < RTSP_CACHE_MS) return cached.url;
    try {
      const url = await rtspUrlOf(entry.camera, signal, this.effectiveCaps(entry.camera).maxWidth);
      entry.rtsp = { url, at: Date.now() };
      return url;
    } catch (error) {
      if (cached?.url) return cached.url;
      throw error;
    }
  }
}

/** The process's live hub (the widget node and the live routes share it). */
export const liveHub = new LiveHub();
