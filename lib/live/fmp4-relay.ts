/**
 * The fMP4 relay of one camera: ONE ffmpeg reading the camera's RTSP H.264 stream and remuxing it (no
 * transcode) into fragmented MP4 on its stdout, shared by every viewer, started by the first viewer and stopped
 * `idleCloseMs` after the last (SIGTERM, then SIGKILL). Each viewer first gets the init segment, then fragments
 * from the next keyframe on; a viewer whose socket backs up skips to the next keyframe. ffmpeg is restarted with
 * backoff when it exits or stalls (the camera dropped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DEFAULT_BACKOFF, type BackoffOptions, type LiveState } from './live-state';
import { UpstreamLifecycle } from './upstream-lifecycle';
import { Mp4FragmentParser, type Mp4InitSegment } from './mp4-fragments';
import { ffconcatList, redactSecrets, withCredentials, type RtspCredentials } from './rtsp-credentials';

/** How much of ffmpeg's error output is kept (the end of it), in characters. */
const STDERR_KEEP = 2000;

/** Where ffmpeg is, or undefined when it is not installed (`PFCAM_FFMPEG` overrides the PATH lookup). */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.PFCAM_FFMPEG
    ? [env.PFCAM_FFMPEG]
    : (env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'ffmpeg'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The RTSP input options (as arguments before `-i`, or as `option` lines of the concat list). */
export const RTSP_INPUT_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  rtsp_transport: 'tcp',
  timeout: '5000000',
  fflags: 'nobuffer',
});

/**
 * The ffmpeg arguments: RTSP over TCP in, H.264 copied into fragmented MP4 (one fragment per frame) out. With
 * `rtspUrl` undefined, ffmpeg reads its input from a concat list on stdin (`ffconcatList`): the way to give it
 * a URL with credentials that is not in its arguments (rtsp-credentials.ts).
 */
export function ffmpegArgs(rtspUrl: string | undefined): string[] {
  const input =
    rtspUrl === undefined
      ? [
          '-f',
          'concat',
          '-safe',
          '0',
          '-protocol_whitelist',
          'pipe,rtsp,rtsps,rtp,tcp,udp,tls',
          '-i',
          'pipe:0',
        ]
      : [
          ...Object.entries(RTSP_INPUT_OPTIONS)
            .filter(([key]) => key !== 'fflags')
            .flatMap(([key, value]) => [`-${key}`, value]),
          '-i',
          rtspUrl,
        ];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    ...input,
    '-an',
    '-c:v',
    'copy',
    '-f',
    'mp4',
    '-movflags',
    'frag_every_frame+empty_moov+default_base_moof',
    'pipe:1',
  ];
}

/** What a viewer's connection must offer (a `ws` WebSocket does). */
export interface Fmp4Sink {
  send(data: Buffer | string): void;
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

export interface Fmp4RelayOptions {
  /** The camera's RTSP URL, without credentials (asked at each start: it may change with the settings). */
  rtspUrl: (signal: AbortSignal) => Promise<string>;
  /**
   * The camera's RTSP credentials, asked at each start; undefined or none: the stream is opened without. They
   * reach ffmpeg on its stdin, never in its arguments, and are redacted from every text the relay keeps.
   */
  credentials?: () => RtspCredentials | undefined;
  ffmpegPath: string;
  idleCloseMs?: number;
  reconnect?: Partial<BackoffOptions>;
  offlineAfterFailures?: number;
  /** No output for this long: ffmpeg is restarted (ms, default 10 000). */
  stallMs?: number;
  /** A viewer with more than this queued on its socket skips to the next keyframe (default 1 MiB). */
  maxViewerBufferBytes?: number;
  /** How long ffmpeg gets after SIGTERM before SIGKILL (ms, default 3000). */
  killGraceMs?: number;
}

export interface Fmp4RelayCounters {
  viewers: number;
  /** ffmpeg processes started. */
  upstreamConnections: number;
  upstreamBytes: number;
  fragments: number;
  /** Fragments viewers skipped (slow socket, waiting for a keyframe after a skip). */
  viewerDroppedFragments: number;
}

/** One viewer of the fMP4 relay. */
export class Fmp4Viewer {
  droppedFragments = 0;
  sentFragments = 0;
  private waitingForKeyframe = true;
  private initSent: Mp4InitSegment | undefined;

  constructor(
    readonly sink: Fmp4Sink,
    private readonly maxBuffered: number,
    private readonly onDrop: () => void,
  ) {}

  init(init: Mp4InitSegment): void {
    if (this.initSent === init) return;
    this.initSent = init;
    this.waitingForKeyframe = true;
    this.sink.send(JSON.stringify({ type: 'init', codec: init.codec }));
    this.sink.send(init.data);
  }

  state(state: LiveState): void {
    this.sink.send(JSON.stringify({ type: 'state', state }));
  }

  fragment(data: Buffer, keyframe: boolean): void {
    if (!this.initSent) return;
    if (this.sink.bufferedAmount > this.maxBuffered) {
      this.waitingForKeyframe = true;
    }
    if (this.waitingForKeyframe && !(keyframe && this.sink.bufferedAmount <= this.maxBuffered)) {
      this.droppedFragments++;
      this.onDrop();
      return;
    }
    this.waitingForKeyframe = false;
    this.sink.send(data);
    this.sentFragments++;
  }
}

export class Fmp4Relay extends EventEmitter {
  private readonly viewers = new Set<Fmp4Viewer>();
  private readonly lifecycle: UpstreamLifecycle;
  private init: Mp4InitSegment | undefined;
  private closed = false;
  private child: ChildProcess | undefined;
  private lastErrorText: string | undefined;
  private readonly options: Required<Omit<Fmp4RelayOptions, 'reconnect'>> & { reconnect: BackoffOptions };
  private readonly stats = {
    upstreamConnections: 0,
    upstreamBytes: 0,
    fragments: 0,
    viewerDroppedFragments: 0,
  };

  constructor(options: Fmp4RelayOptions) {
    super();
    this.options = {
      rtspUrl: options.rtspUrl,
      credentials: options.credentials ?? ((): undefined => undefined),
      ffmpegPath: options.ffmpegPath,
      idleCloseMs: options.idleCloseMs ?? 5000,
      reconnect: { ...DEFAULT_BACKOFF, ...options.reconnect },
      offlineAfterFailures: options.offlineAfterFailures ?? 2,
      stallMs: options.stallMs ?? 10_000,
      maxViewerBufferBytes: options.maxViewerBufferBytes ?? 1024 * 1024,
      killGraceMs: options.killGraceMs ?? 3000,
    };
    this.lifecycle = new UpstreamLifecycle(
      this.options,
      async (signal, onLive) => {
        const url = await this.options.rtspUrl(signal);
        if (signal.aborted) return false;
        return this.runFfmpeg(url, signal, onLive);
      },
      {
        relay: this,
        onState: (state) => {
          for (const viewer of this.viewers) viewer.state(state);
        },
      },
    );
  }

  get state(): LiveState {
    return this.lifecycle.state;
  }

  /** The end of the last error output of ffmpeg, credentials redacted; undefined when it printed none. */
  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  get counters(): Fmp4RelayCounters {
    return { viewers: this.viewers.size, ...this.stats };
  }

  /** The running ffmpeg's pid (tests), undefined when none runs. */
  get ffmpegPid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  addViewer(sink: Fmp4Sink): Fmp4Viewer {
    if (this.closed) throw new Error('the live relay is closed');
    const viewer = new Fmp4Viewer(sink, this.options.maxViewerBufferBytes, () => {
      this.stats.viewerDroppedFragments++;
      this.emit('dropped');
    });
    this.viewers.add(viewer);
    viewer.state(this.lifecycle.state);
    if (this.init) viewer.init(this.init);
    this.lifecycle.want();
    this.emit('viewers', this.viewers.size);
    return viewer;
  }

  removeViewer(viewer: Fmp4Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    this.emit('viewers', this.viewers.size);
    if (this.viewers.size === 0) this.lifecycle.release(() => this.viewers.size === 0);
  }

  /** Closes every viewer and stops ffmpeg; resolves once it exited. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const viewer of [...this.viewers]) viewer.sink.close(1001, 'relay closed');
      this.viewers.clear();
      this.lifecycle.close();
    }
    await this.exited();
    this.removeAllListeners();
  }

  /** Resolves once no ffmpeg of this relay runs. */
  exited(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  private runFfmpeg(url: string, signal: AbortSignal, onLive: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const credentials = this.options.credentials();
      const secrets = [credentials?.password];
      const viaStdin = credentials !== undefined && credentials.username !== '';
      const child = spawn(this.options.ffmpegPath, ffmpegArgs(viaStdin ? undefined : url), {
        stdio: [viaStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      if (viaStdin) {
        child.stdin!.on('error', () => undefined);
        child.stdin!.end(ffconcatList(withCredentials(url, credentials), RTSP_INPUT_OPTIONS));
      }
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        stderr = (stderr + text).slice(-STDERR_KEEP * 2);
      });
      child.stderr!.once('end', () => {
        const text = redactSecrets(stderr.trim(), secrets).slice(-STDERR_KEEP);
        if (text) this.lastErrorText = text;
      });
      this.stats.upstreamConnections++;
      this.emit('upstream-open');
      let gotFragment = false;
      let killTimer: NodeJS.Timeout | undefined;
      let stall: NodeJS.Timeout | undefined;
      const terminate = (): void => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        killTimer ??= setTimeout(() => child.kill('SIGKILL'), this.options.killGraceMs);
      };
      const armStall = (): void => {
        clearTimeout(stall);
        stall = setTimeout(terminate, this.options.stallMs);
      };
      const parser = new Mp4FragmentParser({
        onInit: (init) => {
          this.init = init;
          for (const viewer of this.viewers) viewer.init(init);
        },
        onFragment: (fragment) => {
          if (!gotFragment) {
            gotFragment = true;
            onLive();
          }
          this.stats.fragments++;
          for (const viewer of this.viewers) viewer.fragment(fragment.data, fragment.keyframe);
        },
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        this.stats.upstreamBytes += chunk.length;
        armStall();
        try {
          parser.push(chunk);
        } catch {
          terminate();
        }
      });
      const onAbort = (): void => terminate();
      signal.addEventListener('abort', onAbort, { once: true });
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(stall);
        clearTimeout(killTimer);
        signal.removeEventListener('abort', onAbort);
        this.init = undefined;
        resolve(gotFragment);
      };
      child.once('error', finish);
      child.once('close', finish);
      armStall();
    });
  }
}
