/**
 * One camera's HTTP transport over undici: its own connection pool (never the global dispatcher), its own TLS
 * trust, authentication (Basic / Digest, negotiated on the first 401 and then sent up front), the mapping of
 * low-level failures to typed errors, and the retry loop with backoff.
 *
 * Retry rules: network errors, timeouts, 5xx, 408 and 429 are retried (Retry-After honoured, capped at
 * `maxDelayMs`); other 4xx never. A malformed JSON body is retried like a 5xx (a lossy link or a camera busy
 * restarting can cut or garble an answer; the retry budget bounds it); valid JSON of the wrong shape is not
 * (asking again gives the same answer). Routes that restart the camera are retried only when the request
 * surely never reached it. A call's total budget (`requestMs`, or the call's `timeoutMs`) covers every
 * attempt and every backoff wait; the client fails fast rather than sleep past it.
 */
import { createHash } from 'node:crypto';
import { Client, Pool, type Dispatcher } from 'undici';
import type { ResolvedClientOptions } from './client-options';
import { basicAuthorization, DigestSession, parseWwwAuthenticate, pickChallenge } from './digest-auth';
import {
  BadResponseError,
  CameraAbortedError,
  CameraAuthError,
  CameraError,
  CameraHttpError,
  CameraOfflineError,
  CameraTimeoutError,
  CameraTlsError,
  TooLargeError,
  UnsupportedError,
  type CameraErrorDetails,
} from './errors';
import { backoffDelay, parseRetryAfter, sleep } from './retry';
import type { HttpMethod, RouteDef } from './routes';
import { cameraErrorText } from './validate';

/** Largest JSON answer read (the event list of a busy camera is a few MB at most). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** Largest error body read for its text. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

type BodyReadable = Dispatcher.ResponseData['body'];

export interface TransportRequest {
  /** Route key (for errors) and its definition. */
  routeKey: string;
  route: RouteDef;
  /** Path from the camera's root (filled by routePath), e.g. `/api/events/x`; or a stream path. */
  path: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  /** JSON body (sent as application/json). */
  json?: unknown;
  signal: AbortSignal;
  headersTimeoutMs?: number;
  /** 0 disables (feeds). */
  bodyTimeoutMs?: number;
  /** Another dispatcher of this transport (the feed's own connection). */
  dispatcher?: Dispatcher;
}

export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface TransportResponse {
  status: number;
  headers: ResponseHeaders;
  body: BodyReadable;
}

/** Low-level codes raised before a request could reach the camera. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== err ? codeOf(cause) : undefined;
}

/** Whether a failure happened before the request could reach the camera (safe to send again). */
export function neverReachedCamera(err: unknown): boolean {
  if (err instanceof CameraTimeoutError) return err.phase === 'connect';
  if (err instanceof CameraOfflineError) return NOT_SENT_CODES.has(err.code);
  return false;
}

/**
 * A thrown low-level value as a typed camera error; programming errors (no `code`) pass through unchanged.
 */
export function toCameraError(
  err: unknown,
  details: CameraErrorDetails,
  opts: ResolvedClientOptions,
): unknown {
  if (err instanceof CameraError) return err;
  const code = codeOf(err);
  if (code === undefined) return err;
  const d = { ...details, cause: err };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new CameraTimeoutError('connect', opts.timeouts.connectMs, d);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new CameraTimeoutError('headers', opts.timeouts.headersMs, d);
    case 'UND_ERR_BODY_TIMEOUT':
      return new CameraTimeoutError('body', opts.timeouts.bodyMs, d);
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return new TooLargeError(MAX_JSON_BYTES, d);
  }
  if (
    TLS_CODES.has(code) ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT')
  )
    return new CameraTlsError(code, d);
  return new CameraOfflineError(code, d);
}

/**
 * A call's abort scope: the caller's signal, the client's close signal and the call's total budget, as one
 * signal; tells which of them fired.
 */
export class CallScope {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly cleanups: Array<() => void> = [];
  private readonly deadline: number;
  private timedOut = false;

  constructor(
    private readonly parents: { caller?: AbortSignal | undefined; client: AbortSignal },
    readonly budgetMs: number | undefined,
  ) {
    this.deadline = budgetMs === undefined ? Infinity : Date.now() + budgetMs;
    for (const parent of [parents.caller, parents.client]) {
      if (!parent) continue;
      if (parent.aborted) this.controller.abort(parent.reason);
      else {
        const onAbort = (): void => this.controller.abort(parent.reason);
        parent.addEventListener('abort', onAbort, { once: true });
        this.cleanups.push(() => parent.removeEventListener('abort', onAbort));
      }
    }
    if (budgetMs !== undefined && !this.controller.signal.aborted) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort(new Error('call budget exhausted'));
      }, budgetMs);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** The typed error for an aborted scope. */
  abortError(details: CameraErrorDetails): CameraError {
    if (this.timedOut && !this.parents.client.aborted && !this.parents.caller?.aborted)
      return new CameraTimeoutError('total', this.budgetMs ?? 0, details);
    return new CameraAbortedError(details, this.parents.client.aborted);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.cleanups.splice(0)) c();
  }
}

/** Reads a whole body, refusing past `limit` bytes. */
export async function readBuffer(
  body: BodyReadable,
  limit: number,
  details: CameraErrorDetails,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new TooLargeError(limit, details);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads a body as UTF-8 text, refusing past `limit` bytes. */
export async function readText(
  body: BodyReadable,
  limit: number,
  details: CameraErrorDetails,
): Promise<string> {
  return (await readBuffer(body, limit, details)).toString('utf8');
}

/** Reads and discards a body (bounded), so that the connection can be reused. */
export async function discard(body: BodyReadable): Promise<void> {
  try {
    await body.dump({ limit: MAX_ERROR_BODY_BYTES });
  } catch {
    body.destroy();
  }
}

/** The typed error for a non-2xx answer (reads the camera's error text). */
export async function statusError(
  res: TransportResponse,
  details: CameraErrorDetails & { feature: string; notFound: RouteDef['notFound'] },
): Promise<CameraError> {
  if (res.status === 404 && details.notFound === 'unsupported') {
    await discard(res.body);
    return new UnsupportedError(details.feature, details);
  }
  let text = '';
  try {
    text = cameraErrorText(await readText(res.body, MAX_ERROR_BODY_BYTES, details));
  } catch {
    res.body.destroy();
  }
  if (res.status === 401 || res.status === 403) return new CameraAuthError(res.status, text, details);
  const err = new CameraHttpError(res.status, text, details);
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  if (retryAfter !== undefined) retryAfterOf.set(err, retryAfter);
  return err;
}

/** The first value of a response header. */
export function headerValue(res: TransportResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const retryAfterOf = new WeakMap<CameraError, number>();

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

export class HttpTransport {
  readonly pool: Pool;
  private readonly extra = new Set<Client>();
  private probeClient: Client | undefined;
  private auth: 'basic' | DigestSession | undefined;
  private readonly closeController = new AbortController();

  /** The options without the password (kept apart, out of reach of inspection and serialisation). */
  readonly options: ResolvedClientOptions;
  readonly #password: string | undefined;

  constructor(options: ResolvedClientOptions) {
    this.options = Object.freeze({ ...options, password: undefined });
    this.#password = options.password;
    this.pool = new Pool(options.origin, this.dispatcherOptions(options.maxConnections));
  }

  /** Aborted when the client closes: every call's scope includes it. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  private dispatcherOptions(connections: number): Pool.Options {
    const o = this.options;
    const ca = o.tls.ca;
    return {
      connections,
      pipelining: 1,
      keepAliveTimeout: o.keepAliveMs,
      keepAliveMaxTimeout: o.keepAliveMs,
      headersTimeout: o.timeouts.headersMs,
      bodyTimeout: o.timeouts.bodyMs,
      connect: {
        timeout: o.timeouts.connectMs,
        // this camera's trust only: nothing process-wide is touched
        rejectUnauthorized: o.tls.rejectUnauthorized,
        ...(ca === undefined ? {} : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }),
      },
    };
  }

  /** A dedicated single connection (for the SSE feed / live streams), closed with the transport. */
  openDedicated(): Client {
    const { connections: _c, ...rest } = this.dispatcherOptions(1);
    const client = new Client(this.options.origin, rest);
    this.extra.add(client);
    return client;
  }

  /** The connection of health probes (its own, opened at first use): probes never wait behind the pool. */
  probeDispatcher(): Dispatcher {
    if (this.closed) return this.pool; // a closed client's calls end at once (their scope is aborted)
    this.probeClient ??= this.openDedicated();
    return this.probeClient;
  }

  async releaseDedicated(client: Client): Promise<void> {
    this.extra.delete(client);
    await client.destroy().catch(() => undefined);
  }

  scope(caller: AbortSignal | undefined, budgetMs: number | undefined): CallScope {
    return new CallScope({ caller, client: this.closeSignal }, budgetMs);
  }

  get closed(): boolean {
    return this.closeSignal.aborted;
  }

  private authorization(method: string, uri: string): string | undefined {
    const { username } = this.options;
    const password = this.#password;
    if (username === undefined || this.auth === undefined) return undefined;
    if (this.auth === 'basic') return basicAuthorization(username, password ?? '');
    return this.auth.authorize(method, uri, username, password ?? '');
  }

  /**
   * One exchange (no retry): sends the request, answers a 401 challenge once with the credentials (and keeps
   * the challenge for later requests). Low-level failures come out as typed camera errors.
   */
  async send(req: TransportRequest): Promise<TransportResponse> {
    const method = req.method ?? req.route.method;
    const uri = this.options.pathPrefix + req.path;
    const details: CameraErrorDetails = { route: req.routeKey, method, path: req.path };
    const body = req.json === undefined ? undefined : JSON.stringify(req.json);
    const baseHeaders: Record<string, string> = {
      'user-agent': this.options.userAgent,
      accept: req.route.response === 'json' ? 'application/json' : '*/*',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...req.headers,
    };
    const dispatcher = req.dispatcher ?? this.pool;
    const dispatch = async (authorization: string | undefined): Promise<TransportResponse> => {
      const headers = authorization === undefined ? baseHeaders : { ...baseHeaders, authorization };
      try {
        const res = await dispatcher.request({
          path: uri,
          method,
          headers,
          body,
          signal: req.signal,
          headersTimeout: req.headersTimeoutMs ?? this.options.timeouts.headersMs,
          bodyTimeout: req.bodyTimeoutMs ?? this.options.timeouts.bodyMs,
        });
        return { status: res.statusCode, headers: res.headers, body: res.body };
      } catch (err) {
        throw toCameraError(err, details, this.options);
      }
    };

    const sentAuth = this.authorization(method, uri);
    let res = await dispatch(sentAuth);
    if (res.status === 401 && this.options.username !== undefined) {
      const challenge = pickChallenge(parseWwwAuthenticate(res.headers['www-authenticate']));
      if (challenge) {
        await discard(res.body);
        this.auth = challenge.scheme === 'digest' ? new DigestSession(challenge) : 'basic';
        res = await dispatch(this.authorization(method, uri));
      }
    }
    return res;
  }

  /**
   * The retry loop: runs `send` + `handle` until it succeeds, fails for good, or the scope ends. `handle` gets
   * every 2xx answer (and a 404 when the route's 404 means "gone") and owns its body; other statuses become
   * typed errors here.
   */
  async call<T>(
    req: Omit<TransportRequest, 'signal'> & { signal?: AbortSignal; budgetMs?: number | undefined },
    handle: (res: TransportResponse, scope: CallScope) => Promise<T>,
  ): Promise<T> {
    const scope = this.scope(req.signal, req.budgetMs);
    const method = req.method ?? req.route.method;
    const details: CameraErrorDetails = { route: req.routeKey, method, path: req.path };
    const policy = this.options.retry;
    try {
      for (let attempt = 1; ; attempt++) {
        let err: unknown;
        try {
          if (scope.signal.aborted) throw scope.abortError(details);
          const res = await this.send({ ...req, signal: scope.signal });
          const accept = isOk(res.status) || (res.status === 404 && req.route.notFound === 'gone');
          if (!accept)
            throw await statusError(res, {
              ...details,
              feature: req.route.feature,
              notFound: req.route.notFound,
            });
          try {
            return await handle(res, scope);
          } catch (e) {
            res.body.destroy();
            throw e;
          }
        } catch (e) {
          err = scope.signal.aborted ? scope.abortError(details) : toCameraError(e, details, this.options);
        }
        if (!(err instanceof CameraError) || !err.retryable || attempt >= policy.attempts) throw err;
        if (req.route.effect === 'restart' && !neverReachedCamera(err)) throw err;
        const delay = Math.min(
          policy.maxDelayMs,
          Math.max(backoffDelay(attempt, policy), retryAfterOf.get(err) ?? 0),
        );
        if (delay >= scope.remainingMs) throw err;
        try {
          await sleep(delay, scope.signal);
        } catch {
          throw scope.abortError(details);
        }
      }
    } finally {
      scope.dispose();
    }
  }

  /**
   * Reads a 2xx JSON answer unless its body is the one whose digest is `previous`: then it is not parsed, and
   * `raw` is absent. The digest is the SHA-256 of the raw text without the matches of `ignore` (values that
   * move by themselves, such as a recording's age in seconds).
   */
  static async readJsonIfChanged(
    res: TransportResponse,
    details: CameraErrorDetails,
    previous: string | undefined,
    ignore?: RegExp,
  ): Promise<{ digest: string; raw?: unknown }> {
    const text = await readText(res.body, MAX_JSON_BYTES, details);
    const digest = createHash('sha256')
      .update(ignore ? text.replace(ignore, '') : text)
      .digest('hex');
    if (digest === previous) return { digest };
    return { digest, raw: HttpTransport.parseJson(text, details) };
  }

  /** Reads a 2xx JSON answer; broken JSON is a retryable BadResponseError. */
  static async readJson(res: TransportResponse, details: CameraErrorDetails): Promise<unknown> {
    return HttpTransport.parseJson(await readText(res.body, MAX_JSON_BYTES, details), details);
  }

  private static parseJson(text: string, details: CameraErrorDetails): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new BadResponseError('the body is not valid JSON', { ...details, cause, retryable: true });
    }
  }

  /** Aborts every call in flight and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.closeController.signal.aborted) this.closeController.abort(new Error('camera client closed'));
    const all: Array<Pool | Client> = [this.pool, ...this.extra];
    this.extra.clear();
    await Promise.all(all.map((d) => (d.destroyed ? Promise.resolve() : d.destroy().catch(() => undefined))));
  }
}
