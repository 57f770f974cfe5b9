/**
 * The simulator's live streams: the MJPEG frames stamped for latency measurement, and the RTSP H.264 stream
 * (a GStreamer RTSP server run by `rtsp-server.py` through the system Python with PyGObject).
 *
 * Stamping: each MJPEG frame gets a JPEG comment (COM) segment right after its SOI marker reading
 * `pfcam-ts=<ms since the epoch>;seq=<counter>`. A browser reads it from the bytes of the image it decodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The frame with a COM segment `pfcam-ts=<ms>;seq=<seq>` inserted after its SOI marker. */
export function stampJpeg(jpeg: Buffer, seq: number, ms: number): Buffer {
  if (jpeg.length < 2 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const text = Buffer.from(`pfcam-ts=${ms};seq=${seq}`, 'latin1');
  const segment = Buffer.alloc(4 + text.length);
  segment[0] = 0xff;
  segment[1] = 0xfe;
  segment.writeUInt16BE(text.length + 2, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** Reads the stamp back (tests, benches): undefined when the frame has none. */
export function readJpegStamp(jpeg: Buffer): { ms: number; seq: number } | undefined {
  if (jpeg.length < 6 || jpeg[2] !== 0xff || jpeg[3] !== 0xfe) return undefined;
  const length = jpeg.readUInt16BE(4);
  const match = /^pfcam-ts=(\d+);seq=(\d+)$/.exec(jpeg.subarray(6, 4 + length).toString('latin1'));
  return match ? { ms: Number(match[1]), seq: Number(match[2]) } : undefined;
}

export interface RtspStreamOptions {
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  path?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Ask for these credentials (HTTP Basic over RTSP), as a camera with `rtsp_auth` does. Default: none. */
  auth?: { username: string; password: string };
}

export interface RtspStream {
  readonly port: number;
  readonly path: string;
  stop(): Promise<void>;
}

/** The Python that has PyGObject (the system one; a pyenv `python3` on PATH may lack `gi`). */
export const RTSP_PYTHON = process.env.PFCAM_RTSP_PYTHON ?? '/usr/bin/python3';

/** True when this machine can run the RTSP server (the system Python exists). */
export function rtspAvailable(): boolean {
  return existsSync(RTSP_PYTHON);
}

/** Starts the RTSP server; resolves once it listens (rejects after 15 s or when it exits first). */
export function startRtspStream(options: RtspStreamOptions = {}): Promise<RtspStream> {
  const path = (options.path ?? 'live').replace(/^\/+|\/+$/g, '') || 'live';
  const script = join(__dirname, 'rtsp-server.py');
  const source = existsSync(script) ? script : join(__dirname, '..', '..', 'simulator', 'rtsp-server.py');
  const child: ChildProcess = spawn(
    RTSP_PYTHON,
    [
      source,
      '--host',
      options.host ?? '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--path',
      path,
      '--width',
      String(options.width ?? 640),
      '--height',
      String(options.height ?? 360),
      '--fps',
      String(options.fps ?? 15),
    ],
    {
      stdio: ['pipe', 'pipe', 'ignore'],
      // the credentials go in the environment, not in the arguments (readable by every local user)
      env: options.auth
        ? {
            ...process.env,
            PFCAM_RTSP_USER: options.auth.username,
            PFCAM_RTSP_PASSWORD: options.auth.password,
          }
        : process.env,
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      void stop();
      reject(new Error('the RTSP server did not start within 15 s'));
    }, 15_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the RTSP server exited (${code ?? 'signal'}) before listening`));
    });
    lines.on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve({ port: Number(match[1]), path, stop });
    });
  });
}
