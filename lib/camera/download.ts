/**
 * Streaming media downloads with resume. Bytes flow from the socket to a sink under backpressure (memory stays
 * flat whatever the size); after an interruption the transfer resumes with `Range: bytes=<received>-` and the
 * running SHA-256 carries on. Checks: the answer's length (Content-Length / Content-Range) and the caller's
 * `expectedSize`; a media endpoint answering JSON `{"error"}` with 200 is an error.
 *
 * Sinks:
 * - file: `<path>.part`, hashed on start if it exists (resume across calls), fsynced, renamed. On final failure
 *   the part is kept when the error is transient (network, timeout, 5xx, abort: a later call resumes it) and
 *   removed otherwise (integrity, 4xx, unsupported).
 * - stream: the caller's Writable; bytes already written are never rewritten: a resume asks for the rest, and a
 *   camera that ignores Range has the already-written prefix skipped. The target is ended on success and
 *   destroyed (without an error event; the returned promise carries the error) on failure.
 * - buffer: bounded by `maxBytes`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DownloadOptions, DownloadProgress, DownloadResult } from './camera-api';
import {
  CameraAbortedError,
  CameraError,
  CameraHttpError,
  CameraInputError,
  IntegrityError,
  TooLargeError,
  type CameraErrorDetails,
} from './errors';
import {
  discard,
  headerValue,
  HttpTransport,
  readBuffer,
  statusError,
  toCameraError,
  type TransportResponse,
} from './http-transport';
import { backoffDelay, sleep } from './retry';
import type { RouteDef } from './routes';
import { jsonErrorOf } from './validate';

/** A media endpoint's 200 answer that carries a JSON `{"error"}` instead of bytes. Retried like a 5xx. */
export class CameraMediaError extends CameraHttpError {
  override readonly retryable = true;
}

/** Where downloaded bytes go. `bytes` and `hash` always describe exactly what the sink holds. */
export interface DownloadSink {
  readonly bytes: number;
  readonly hash: Hash;
  /** Whether the sink can drop everything and start again from byte 0. */
  readonly canRestart: boolean;
  restart(): Promise<void>;
  /** A Writable for one attempt's body; ending it must not end the sink. */
  writable(): Writable;
  /** The sink's own failure (disk full, target closed), if any: fatal, never retried. */
  readonly failure: unknown;
  /**
   * Resolves once no write of an earlier attempt is still in flight. A failed pipeline rejects at once, while a
   * write it started may still be landing: `bytes` is only the resume offset once this resolved.
   */
  settle(): Promise<void>;
}

const PROGRESS_INTERVAL_MS = 250;

/** Largest JSON error body sniffed from a media answer. */
const MEDIA_JSON_SNIFF_BYTES = 64 * 1024;

export interface MediaRequest {
  transport: HttpTransport;
  routeKey: string;
  route: RouteDef;
  path: string;
  options: DownloadOptions & { maxBytes?: number };
}

interface ContentRange {
  start: number;
  end: number | undefined;
  total: number | undefined;
}

export function parseContentRange(value: string | string[] | undefined): ContentRange | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(text);
  if (!m) return undefined;
  return {
    start: m[1] === undefined ? -1 : Number(m[1]),
    end: m[2] === undefined ? undefined : Number(m[2]),
    total: m[3] === '*' || m[3] === undefined ? undefined : Number(m[3]),
  };
}

function lengthOf(res: TransportResponse): number | undefined {
  const text = headerValue(res, 'content-length');
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text) : undefined;
}

/** Drops the first `count` bytes that pass through. */
class Skip extends Transform {
  constructor(private remaining: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.remaining >= chunk.length) {
      this.remaining -= chunk.length;
      cb();
      return;
    }
    const rest = this.remaining > 0 ? chunk.subarray(this.remaining) : chunk;
    this.remaining = 0;
    cb(null, rest);
  }
}

/**
 * Runs a download into `sink` until complete (verified length) or failed for good. Returns the result without
 * `path` (the caller finishes the sink).
 */
export async function runDownload(req: MediaRequest, sink: DownloadSink): Promise<DownloadResult> {
  const { transport, options } = req;
  const policy = transport.options.retry;
  const details: CameraErrorDetails = { route: req.routeKey, method: 'GET', path: req.path };
  const scope = transport.scope(options.signal, options.timeoutMs);
  let total: number | undefined;
  let contentType: string | undefined;
  let etag: string | undefined;
  let resumes = 0;
  let failures = 0;
  let lastProgress = 0;
  const report = (force: boolean): void => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    const p: DownloadProgress = { receivedBytes: sink.bytes, totalBytes: total ?? options.expectedSize };
    try {
      options.onProgress(p);
    } catch {
      // a progress listener's failure is not the download's
    }
  };
  const check = (condition: boolean, reason: string): void => {
    if (!condition) throw new IntegrityError(reason, details);
  };

  try {
    for (;;) {
      const startBytes = sink.bytes;
      let res: TransportResponse | undefined;
      try {
        if (scope.signal.aborted) throw scope.abortError(details);
        if (total !== undefined && sink.bytes === total) break;
        const headers: Record<string, string> = {};
        if (startBytes > 0) {
          headers.range = `bytes=${startBytes}-`;
          if (etag && !etag.startsWith('W/')) headers['if-range'] = etag;
          resumes += 1;
        }
        res = await transport.send({
          routeKey: req.routeKey,
          route: req.route,
          path: req.path,
          headers,
          signal: scope.signal,
        });
        let skip = 0;
        let sniffed: Buffer | undefined;

        if (res.status === 416) {
          const range = parseContentRange(res.headers['content-range']);
          await discard(res.body);
          if (range?.total !== undefined && range.total === startBytes) {
            total = range.total;
            break;
          }
          check(startBytes > 0 && sink.canRestart, 'the camera refused the range of the transfer');
          await sink.restart();
          continue;
        }
        if (res.status === 206) {
          const range = parseContentRange(res.headers['content-range']);
          if (!range || range.start !== startBytes) {
            await discard(res.body);
            check(startBytes > 0 && sink.canRestart, 'the camera resumed at another offset');
            await sink.restart();
            continue;
          }
          if (range.total !== undefined) {
            check(
              total === undefined || total === range.total,
              'the size changed between two parts of the transfer',
            );
            total = range.total;
          }
        } else if (res.status >= 200 && res.status < 300) {
          const length = lengthOf(res);
          if (startBytes > 0) {
            // the camera ignored Range: start again, or skip what the target already has
            if (sink.canRestart) await sink.restart();
            else skip = startBytes;
          }
          if (length !== undefined) {
            check(
              total === undefined || total === length,
              'the size changed between two parts of the transfer',
            );
            total = length;
          }
          const type = headerValue(res, 'content-type');
          contentType = type;
          const etagValue = headerValue(res, 'etag');
          if (etagValue) etag = etagValue;
          const looksJson =
            /json/i.test(type ?? '') ||
            (length !== undefined &&
              length <= MEDIA_JSON_SNIFF_BYTES &&
              !/^(video|image)\//i.test(type ?? ''));
          if (looksJson) {
            const data = await readBuffer(res.body, MEDIA_JSON_SNIFF_BYTES, details);
            const error = jsonErrorOf(data.toString('utf8'));
            if (error !== undefined) throw new CameraMediaError(200, error, details);
            // not an error after all: a small media body
            sniffed = skip > 0 ? data.subarray(Math.min(skip, data.length)) : data;
          }
        } else {
          throw await statusError(res, {
            ...details,
            feature: req.route.feature,
            notFound: req.route.notFound,
          });
        }

        if (total !== undefined && options.expectedSize !== undefined)
          check(
            total === options.expectedSize,
            `the camera announced ${total} bytes, ${options.expectedSize} expected`,
          );
        if (total !== undefined && options.maxBytes !== undefined && total > options.maxBytes) {
          res.body.destroy();
          throw new TooLargeError(options.maxBytes, details);
        }

        const progress = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            cb(null, chunk);
            report(false);
          },
        });
        if (sniffed !== undefined) {
          await pipeline(Readable.from([sniffed]), progress, sink.writable(), { signal: scope.signal });
        } else if (skip > 0) {
          await pipeline(res.body, new Skip(skip), progress, sink.writable(), { signal: scope.signal });
        } else {
          await pipeline(res.body, progress, sink.writable(), { signal: scope.signal });
        }
        if (total === undefined) total = sink.bytes; // no length given: the end of the body is the end
        check(sink.bytes <= total, `received ${sink.bytes} bytes, ${total} announced`);
        if (sink.bytes < total)
          throw toCameraError(
            Object.assign(new Error('body ended early'), { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }),
            details,
            transport.options,
          );
        break;
      } catch (e) {
        // the next attempt resumes at sink.bytes: every write of this one must have landed (or failed) first
        await sink.settle();
        if (res && !res.body.destroyed) {
          // Destroying an undici body emits an 'error' (AbortError); with no listener left (the pipeline has
          // ended) that error would be uncaught and end the process.
          res.body.on('error', () => undefined);
          res.body.destroy();
        }
        if (sink.failure !== undefined)
          throw sink.failure instanceof Error ? sink.failure : new Error('the download target failed');
        const err = scope.signal.aborted
          ? scope.abortError(details)
          : toCameraError(e, details, transport.options);
        if (!(err instanceof CameraError) || !err.retryable) throw err;
        failures = sink.bytes > startBytes ? 1 : failures + 1;
        if (failures >= policy.attempts) throw err;
        const delay = backoffDelay(failures, policy);
        if (delay >= scope.remainingMs) throw err;
        try {
          await sleep(delay, scope.signal);
        } catch {
          throw scope.abortError(details);
        }
      }
    }
    if (total === undefined) total = sink.bytes;
    check(sink.bytes === total, `received ${sink.bytes} bytes, ${total} announced`);
    if (options.expectedSize !== undefined)
      check(
        sink.bytes === options.expectedSize,
        `received ${sink.bytes} bytes, ${options.expectedSize} expected`,
      );
    report(true);
    return { bytes: sink.bytes, sha256: sink.hash.copy().digest('hex'), contentType, resumes };
  } finally {
    scope.dispose();
  }
}

// ---- sinks ----------------------------------------------------------------------------------------------

/** A sink's own failure (disk full, target closed): never retried, never mistaken for a camera fault. */
class SinkFailure extends Error {
  override name = 'SinkFailure';
}

abstract class BaseSink implements DownloadSink {
  bytes = 0;
  hash: Hash = createHash('sha256');
  abstract readonly canRestart: boolean;
  /** Set when the sink itself failed. */
  failure: unknown;

  restart(): Promise<void> {
    return Promise.reject(new SinkFailure('this target cannot start over'));
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  protected accept(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  protected fail(err: unknown): Error {
    this.failure ??= err;
    return new SinkFailure(err instanceof Error ? err.message : String(err), { cause: err });
  }

  abstract writable(): Writable;
}

/** `<path>.part`, appended to; `bytes`/`hash` count what reached the file. */
export class FileSink extends BaseSink {
  readonly canRestart = true;

  private constructor(
    readonly partPath: string,
    private readonly fh: FileHandle,
  ) {
    super();
  }

  /** Opens (or creates) the part file; an existing part is hashed so that the transfer resumes after it. */
  static async open(partPath: string, expectedSize: number | undefined): Promise<FileSink> {
    const fh = await open(partPath, 'a');
    const sink = new FileSink(partPath, fh);
    try {
      const size = (await fh.stat()).size;
      if (size > 0 && expectedSize !== undefined && size > expectedSize) await fh.truncate(0);
      else if (size > 0) {
        for await (const chunk of createReadStream(partPath, {
          start: 0,
          end: size - 1,
        }) as AsyncIterable<Buffer>)
          sink.accept(chunk);
        if (sink.bytes !== size) await sink.restart();
      }
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    return sink;
  }

  /** The write in flight, if any (the Writable hands over one writev at a time). */
  private inflight: Promise<void> | undefined;

  override async settle(): Promise<void> {
    while (this.inflight) await this.inflight;
  }

  private landed(write: Promise<void>): void {
    if (this.inflight === write) this.inflight = undefined;
  }

  override async restart(): Promise<void> {
    await this.settle();
    await this.fh.truncate(0);
    this.hash = createHash('sha256');
    this.bytes = 0;
  }

  writable(): Writable {
    // every chunk in one writev call, each accounted only once it reached the file
    const write = async (buffers: Buffer[]): Promise<void> => {
      let pending = buffers;
      while (pending.length > 0) {
        const { bytesWritten } = await this.fh.writev(pending);
        let left = bytesWritten;
        const rest: Buffer[] = [];
        for (const buf of pending) {
          if (left >= buf.length) {
            left -= buf.length;
            this.accept(buf);
          } else if (left > 0) {
            this.accept(buf.subarray(0, left));
            rest.push(buf.subarray(left));
            left = 0;
          } else rest.push(buf);
        }
        pending = rest;
      }
    };
    return new Writable({
      highWaterMark: 256 * 1024,
      writev: (chunks, cb) => {
        const done = write(chunks.map((c) => c.chunk as Buffer));
        // settles either way (its failure is reported through cb)
        const tracked: Promise<void> = done.then(
          () => this.landed(tracked),
          () => this.landed(tracked),
        );
        this.inflight = tracked;
        done.then(
          () => cb(),
          (err: unknown) => cb(this.fail(err)),
        );
      },
    });
  }

  /** fsync, close, rename into place, fsync the folder (best effort). */
  async finish(finalPath: string): Promise<void> {
    await this.settle();
    await this.fh.sync();
    await this.fh.close();
    await rename(this.partPath, finalPath);
    try {
      const dir = await open(dirname(finalPath), 'r');
      await dir.sync().catch(() => undefined);
      await dir.close();
    } catch {
      // some platforms cannot fsync a folder
    }
  }

  async abandon(keep: boolean): Promise<void> {
    await this.settle();
    await this.fh.close().catch(() => undefined);
    if (!keep || this.bytes === 0) await rm(this.partPath, { force: true });
  }
}

/** The caller's Writable. Bytes count once the target took them. */
export class StreamSink extends BaseSink {
  readonly canRestart = false;

  constructor(private readonly target: Writable) {
    super();
  }

  writable(): Writable {
    const target = this.target;
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (target.destroyed || target.writableEnded) {
          cb(this.fail(new Error('the download target was closed')));
          return;
        }
        this.accept(chunk);
        if (target.write(chunk)) {
          cb();
          return;
        }
        const done = (err?: unknown): void => {
          target.off('drain', onDrain);
          target.off('error', onError);
          target.off('close', onClose);
          cb(err === undefined ? undefined : this.fail(err));
        };
        const onDrain = (): void => done();
        const onError = (err: Error): void => done(err);
        const onClose = (): void => done(new Error('the download target was closed'));
        target.on('drain', onDrain);
        target.on('error', onError);
        target.on('close', onClose);
      },
    });
  }

  /** Ends the target and waits until it flushed. */
  async end(): Promise<void> {
    const target = this.target;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      target.once('error', onError);
      target.end(() => {
        target.off('error', onError);
        resolve();
      });
    });
  }
}

/** Memory, bounded. */
export class BufferSink extends BaseSink {
  readonly canRestart = true;
  private chunks: Buffer[] = [];

  constructor(
    private readonly maxBytes: number,
    private readonly details: CameraErrorDetails,
  ) {
    super();
  }

  override restart(): Promise<void> {
    this.chunks = [];
    this.hash = createHash('sha256');
    this.bytes = 0;
    return Promise.resolve();
  }

  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.bytes + chunk.length > this.maxBytes) {
          cb(this.fail(new TooLargeError(this.maxBytes, this.details)));
          return;
        }
        this.chunks.push(chunk);
        this.accept(chunk);
        cb();
      },
    });
  }

  data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

// ---- the three download forms --------------------------------------------------------------------------

const activeParts = new Set<string>();

/** Keeps a part for a later resume only when the failure is transient. */
function keepPart(err: unknown): boolean {
  return err instanceof CameraError && (err.retryable || err instanceof CameraAbortedError);
}

export async function downloadToFile(req: MediaRequest, filePath: string): Promise<DownloadResult> {
  const partPath = `${filePath}.part`;
  if (activeParts.has(partPath))
    throw new CameraInputError(`Already downloading to ${filePath}`, 'errors.downloadInProgress', {
      path: filePath,
    });
  activeParts.add(partPath);
  let sink: FileSink | undefined;
  try {
    sink = await FileSink.open(partPath, req.options.expectedSize);
    const result = await runDownload(req, sink);
    await sink.finish(filePath);
    return { ...result, path: filePath };
  } catch (err) {
    await sink?.abandon(keepPart(err));
    throw err;
  } finally {
    activeParts.delete(partPath);
  }
}

export async function downloadToStream(req: MediaRequest, target: Writable): Promise<DownloadResult> {
  const sink = new StreamSink(target);
  try {
    const result = await runDownload(req, sink);
    await sink.end();
    return result;
  } catch (err) {
    // no error event on the target (a listener-less target would crash the process): the promise carries it
    if (!target.destroyed) target.destroy();
    throw err;
  }
}

/** Default byte limit of buffered downloads. */
export const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

export async function downloadToBuffer(req: MediaRequest): Promise<{ data: Buffer } & DownloadResult> {
  const sink = new BufferSink(req.options.maxBytes ?? DEFAULT_MAX_BUFFER_BYTES, {
    route: req.routeKey,
    method: 'GET',
    path: req.path,
  });
  const result = await runDownload(
    { ...req, options: { maxBytes: DEFAULT_MAX_BUFFER_BYTES, ...req.options } },
    sink,
  );
  return { data: sink.data(), ...result };
}
