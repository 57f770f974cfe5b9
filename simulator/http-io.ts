/**
 * HTTP plumbing of the simulator: timers that stop() can clear all at once, request bodies, `Range` headers,
 * and a body writer with backpressure, a bandwidth cap and truncation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Every timer of one camera, so that stopping it leaves nothing behind. */
export class Timers {
  private readonly handles = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
    return handle;
  }

  interval(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const handle = setInterval(fn, ms);
    this.handles.add(handle);
    return handle;
  }

  clear(handle: NodeJS.Timeout | undefined): void {
    if (!handle) return;
    clearTimeout(handle);
    this.handles.delete(handle);
    const wake = this.sleepers.get(handle);
    this.sleepers.delete(handle);
    wake?.();
  }

  /** Resolves after `ms`, or at once when the timers are cleared. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const handle = setTimeout(() => {
        this.handles.delete(handle);
        this.sleepers.delete(handle);
        resolve();
      }, ms);
      this.handles.add(handle);
      this.sleepers.set(handle, resolve);
    });
  }

  /** Clears every timer and wakes every sleeper; no timer can be set afterwards. */
  close(): void {
    this.closed = true;
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
    const wake = [...this.sleepers.values()];
    this.sleepers.clear();
    for (const fn of wake) fn();
  }
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body (at most `limit` bytes) as text. */
export async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new BodyError(413, 'request body too large');
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Parses a JSON body; an empty body is `undefined`. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, 'invalid JSON body');
  }
}

export type RangeResult =
  { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'invalid' };

/**
 * Interprets a `Range` header against a body of `size` bytes. A single `bytes=` range is honoured; anything
 * else (several ranges, other units, syntax errors) is ignored and the whole body served, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'full' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'invalid' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'invalid' };
  return { kind: 'partial', start, end };
}

/** Writes one piece and resolves once it left (its buffer may then be reused), or the connection closed. */
function writePiece(res: ServerResponse, piece: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('close', done);
      resolve();
    };
    res.on('close', done);
    res.write(piece, done);
  });
}

export interface WriteOptions {
  /** 0 = unlimited (bytes per second). */
  bandwidth: number;
  /** Stop after this many bytes and destroy the connection (a cut body). */
  cutAfter?: number;
  timers: Timers;
}

/**
 * Writes `chunks` to `res` one at a time (each chunk has left before the next is asked for, so that a source
 * may reuse its buffer), at most `bandwidth` bytes per second, and ends the response;
 * with `cutAfter`, destroys the connection after that many bytes instead. Resolves false when the body was
 * not sent whole (cut, or the client went away).
 */
export async function writeBody(
  res: ServerResponse,
  chunks: Iterable<Buffer>,
  options: WriteOptions,
): Promise<boolean> {
  const started = Date.now();
  let sent = 0;
  const slice =
    options.bandwidth > 0 ? Math.max(512, Math.min(64 * 1024, Math.floor(options.bandwidth / 20))) : 0;
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length;) {
      if (res.destroyed) return false;
      let piece = slice > 0 ? chunk.subarray(at, at + slice) : at === 0 ? chunk : chunk.subarray(at);
      if (options.cutAfter !== undefined && sent + piece.length >= options.cutAfter) {
        piece = piece.subarray(0, options.cutAfter - sent);
        if (piece.length > 0) res.write(piece);
        // Let the piece reach the socket before it closes: a cut body, not a lost one.
        await new Promise<void>((resolve) => setImmediate(resolve));
        res.destroy();
        return false;
      }
      if (options.bandwidth > 0) {
        const due = (sent / options.bandwidth) * 1000 - (Date.now() - started);
        if (due > 0) await options.timers.sleep(due);
        if (res.destroyed) return false;
      }
      at += piece.length;
      sent += piece.length;
      await writePiece(res, piece);
    }
  }
  if (res.destroyed) return false;
  if (options.cutAfter !== undefined && sent >= options.cutAfter) {
    res.destroy();
    return false;
  }
  res.end();
  return true;
}
