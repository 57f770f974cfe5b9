/**
 * The live relays of the process, one MJPEG relay and (where ffmpeg is installed) one fMP4 relay per camera,
 * made on first use and found by camera id; snapshots; the caps the admin chose; the counters for metrics.
 */
import type { RegisteredCamera } from '../cameras/camera-registry';
import { findFfmpeg, Fmp4Relay, type Fmp4RelayCounters, type Fmp4RelayOptions } from './fmp4-relay';
import type { LiveState } from './live-state';
import { MjpegRelay, type MjpegRelayCounters, type MjpegRelayOptions } from './mjpeg-relay';

/**
 * The uplink caps of one camera's relay, chosen by the admin. The camera's own live resolution and quality
 * (`live_resolution_width`, `live_quality_level`) are camera settings, written with `pfcam-settings`.
 */
export interface LiveCaps {
  /** MJPEG frames per second passed on at most (0 = as the camera sends). */
  maxFps: number;
}

export interface LiveHubOptions {
  mjpeg?: Partial<Omit<MjpegRelayOptions, 'open'>>;
  fmp4?: Partial<Omit<Fmp4RelayOptions, 'rtspUrl' | 'ffmpegPath'>>;
  /** The ffmpeg to use; `null` turns the fMP4 path off. Default: found on PATH. */
  ffmpegPath?: string | null;
  /** Budget of a camera snapshot request (ms, default 8000). */
  snapshotTimeoutMs?: number;
}

export interface LiveStateReport {
  mjpeg: LiveState;
  /** `unavailable`: no ffmpeg here, or the camera has no RTSP H.264 stream. */
  fmp4: LiveState | 'unavailable';
  viewers: number;
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
}

const RTSP_CACHE_MS = 60_000;

/** The camera's RTSP URL from its `/api/streams` (rebuilt on the address Node-RED reaches it by). */
export async function rtspUrlOf(camera: RegisteredCamera, signal?: AbortSignal): Promise<string | undefined> {
  const streams = await camera.client.listStreams({ signal, timeoutMs: 8000 });
  const rtsp = Object.values(streams).find(
    (s) =>
      typeof s === 'object' &&
      s !== null &&
      /^h\.?264$/i.test(s.codec) &&
      typeof s.url?.absolute === 'string',
  );
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

  constructor(private readonly options: LiveHubOptions = {}) {
    this.ffmpeg = options.ffmpegPath === null ? undefined : (options.ffmpegPath ?? findFfmpeg());
  }

  /** True when the fMP4 path can run here (ffmpeg found). */
  get fmp4Supported(): boolean {
    return this.ffmpeg !== undefined;
  }

  setCaps(cameraId: string, caps: LiveCaps): void {
    this.caps.set(cameraId, caps);
    this.entries.get(cameraId)?.mjpeg.setMaxFps(caps.maxFps);
  }

  /** The frame-rate cap of every camera without its own caps (0 = none). */
  setDefaultMaxFps(fps: number): void {
    this.defaultMaxFps = Number.isFinite(fps) && fps > 0 ? fps : 0;
    for (const [id, entry] of this.entries) {
      if (!this.caps.has(id)) entry.mjpeg.setMaxFps(this.defaultMaxFps);
    }
  }

  capsOf(cameraId: string): LiveCaps | undefined {
    return this.caps.get(cameraId);
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
      rtspUrl: async (s) => {
        const url = await this.cachedRtsp(entry, s, true);
        if (!url) throw new Error('the camera has no RTSP stream');
        return url;
      },
    });
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
    entry.mjpeg.close();
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
        maxFps: this.caps.get(camera.id)?.maxFps ?? (this.defaultMaxFps || this.options.mjpeg?.maxFps),
        open: (signal) => camera.client.openLiveStream('hd', { signal, timeoutMs: 10_000 }),
      });
      entry = { camera, mjpeg, fmp4: undefined, rtsp: undefined };
      this.entries.set(camera.id, entry);
    }
    return entry;
  }

  private async cachedRtsp(entry: Entry, signal?: AbortSignal, fresh = false): Promise<string | undefined> {
    const cached = entry.rtsp;
    if (cached && !fresh && Date.now() - cached.at < RTSP_CACHE_MS) return cached.url;
    try {
      const url = await rtspUrlOf(entry.camera, signal);
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
