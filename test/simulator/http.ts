/**
 * Plain node:http(s) requests for the simulator's own tests: raw paths (no URL normalisation), one fresh
 * connection per request (no pooled socket hides a restart), and the status, headers and bytes as received.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Fails with 'timeout' when no response starts within this time (ms). Default 5000. */
  timeoutMs?: number;
  /** CA for https. */
  ca?: string | Buffer;
}

/** Opens a request and resolves with the response head (the body still to read). */
export function open(baseUrl: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
  const url = new URL(baseUrl);
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({
      host: url.hostname,
      port: url.port,
      path,
      method: options.method ?? 'GET',
      headers,
      agent: false,
      ca: options.ca,
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error('timeout')));
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a whole response (rejects when the connection ends early). */
export function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    res.on('data', (chunk: Buffer) => parts.push(chunk));
    res.on('end', () => resolve(Buffer.concat(parts)));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

export async function call(baseUrl: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const res = await open(baseUrl, path, options);
  const body = await readAll(res);
  return { status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') };
}

/** GETs JSON and parses it (asserting a 200). */
export async function getJson<T>(baseUrl: string, path: string, options: RequestOptions = {}): Promise<T> {
  const reply = await call(baseUrl, path, options);
  if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as T;
}

/** The error a request fails with (fails the test when the request succeeds). */
export async function failure(
  baseUrl: string,
  path: string,
  options: RequestOptions = {},
): Promise<NodeJS.ErrnoException> {
  try {
    const reply = await call(baseUrl, path, options);
    throw new Error(`expected a failure, got ${reply.status}`);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('expected a failure')) throw error;
    return error as NodeJS.ErrnoException;
  }
}

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Something with on/off listeners: an EventEmitter, a response, or a camera's control. */
interface Listenable {
  on: (...args: never[]) => unknown;
  off: (...args: never[]) => unknown;
}
interface Subscribable<T> {
  on(event: string, listener: (value: T) => void): unknown;
  off(event: string, listener: (value: T) => void): unknown;
}

/** Waits for one `event` from `emitter`, or fails after `timeoutMs`. */
export function once<T>(source: Listenable, event: string, timeoutMs = 5000): Promise<T> {
  const emitter = source as unknown as Subscribable<T>;
  return new Promise((resolve, reject) => {
    const listener = (value: T): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** Collects the text of a streaming response until `done(text)` is true, or fails after `timeoutMs`. */
export function readUntil(
  res: IncomingMessage,
  done: (text: string) => boolean,
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      res.off('data', onData);
      res.off('end', onEnd);
      if (error) reject(error);
      else resolve(text);
    };
    const timer = setTimeout(
      () => finish(new Error(`not seen within ${timeoutMs} ms; got ${JSON.stringify(text)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const onEnd = (): void => finish(new Error(`stream ended; got ${JSON.stringify(text)}`));
    res.on('data', onData);
    res.on('end', onEnd);
  });
}
