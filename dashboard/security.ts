/**
 * The security wiring of the shipped application: `createSecurity(options)` opens the auth tables in the
 * application's database and returns the settings fields `settings.js` spreads into its exports (`adminAuth`,
 * `httpAdminMiddleware`, `pfcam.security`). The API server serves every route of the registry under API_PREFIX:
 * authentication (session cookie or Bearer token, 401), permission and camera scope (403), CSRF on state-changing
 * methods for sessions (Origin check + X-CSRF-Token), JSON bodies up to 64 KiB, audit of `audit: true` routes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import helmet from 'helmet';
import session from 'express-session';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ServerResponse, type IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { AuditLog, type AuditEntry } from '../lib/auth/audit';
import { clientAddress, trustedProxiesFromEnv } from '../lib/auth/client-address';
import { isAllowed, PERMISSIONS, principalHas, type Principal } from '../lib/auth/permissions';
import { LoginRateLimiter } from '../lib/auth/rate-limit';
import { SecretBox } from '../lib/auth/secret-box';
import {
  SessionTable,
  sessionKey,
  sqliteSessionStore,
  type RevokeEvent,
  type SessionData,
} from '../lib/auth/session-store';
import { Tokens } from '../lib/auth/tokens';
import { principalOf, Users } from '../lib/auth/users';
import { randomPassword } from '../lib/auth/passwords';
import { PfcamError, errorText } from '../lib/errors';
import { metrics } from '../lib/metrics/metrics';
import { Database } from '../lib/store/database';
import { API_PREFIX, type ApiRequest } from './api/api-route';
import { matchRoute, registerRoutes } from './api/registry';
import { securityRoutes } from './api/security-routes';

export interface SecurityOptions {
  dataDir: string;
  databaseFile?: string;
  idleMs?: number;
  absoluteMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface PfcamSecurity {
  authenticate(req: IncomingMessage): Promise<Principal | undefined>;
  principalForSocket(socketId: string): Principal | undefined;
  audit(entry: AuditEntry): void;
  onRevoke(listener: (event: RevokeEvent) => void): () => void;
  handler(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** Records the user of a dashboard socket (and the session it runs on) until `unregisterSocket`. */
  registerSocket(socketId: string, principal: Principal, sid?: string): void;
  unregisterSocket(socketId: string): void;
}

/** The part of a socket.io server socket the dashboard middleware uses. */
export interface UiSocket {
  id: string;
  request: IncomingMessage;
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): void;
  on(event: 'disconnect', listener: () => void): void;
  disconnect(close?: boolean): void;
}

/** Login pages served from here: dist/dashboard/pages, by name only. */
const PAGES: Readonly<Record<string, { file: string; type: string }>> = {
  '/pfcam/login': { file: 'login.html', type: 'text/html; charset=utf-8' },
  '/pfcam/pages/login.js': { file: 'login.js', type: 'text/javascript; charset=utf-8' },
  '/pfcam/pages/login.css': { file: 'login.css', type: 'text/css; charset=utf-8' },
};
const PAGES_DIR = join(__dirname, 'pages');
/**
 * The security headers of the dashboard's pages. The dashboard (AngularJS 1) compiles expressions and the
 * widgets' controllers with `new Function`, and Angular Material writes <style> elements: hence 'unsafe-eval'
 * and inline styles. Inline scripts stay refused, so markup that slipped into a page cannot run.
 */
const uiHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", "'unsafe-eval'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      mediaSrc: ["'self'", 'blob:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  // the page may load cross-origin images it is given (camera stills go through the API: same origin)
  crossOriginEmbedderPolicy: false,
  // HSTS only when the server itself speaks TLS (set where TLS is configured)
  strictTransportSecurity: false,
  referrerPolicy: { policy: 'no-referrer' },
  xFrameOptions: { action: 'deny' },
});

/**
 * Makes a response refuse `Access-Control-Allow-Origin: *` (Node-RED's admin app sets it on every path, and
 * answers preflights with it before any settings middleware runs): the application is same-origin only.
 * Idempotent.
 */
export function dropWildcardCors(res: ServerResponse): void {
  const marked = res as ServerResponse & { pfcamNoWildcardCors?: boolean };
  if (marked.pfcamNoWildcardCors) return;
  marked.pfcamNoWildcardCors = true;
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) => {
    if (name.toLowerCase() === 'access-control-allow-origin' && value === '*') return res;
    return setHeader(name, value);
  };
}

/** The editor request being served (Node-RED's adminAuth.authenticate is not given it). */
const editorRequest = new AsyncLocalStorage<{ ip: string }>();
/** What a setup session (first login: password to change, authenticator to enrol) may do, and nothing else. */
const SETUP_ROUTES: ReadonlySet<string> = new Set([
  '/account/password',
  '/account/totp/start',
  '/account/totp/confirm',
]);

/** The path of a page file inside PAGES_DIR, or undefined when the name would leave it. */
export function pageFile(name: string): string | undefined {
  const full = normalize(join(PAGES_DIR, name));
  return full.startsWith(PAGES_DIR + sep) ? full : undefined;
}

interface Parts {
  db: Database;
  users: Users;
  sessions: SessionTable;
  tokens: Tokens;
  audit: AuditLog;
}

const SESSION_COOKIE = 'pfcam.sid';
const BODY_LIMIT = 64 * 1024;

/** A request after express-session read its cookie: `session` is the stored data (a new, empty one if none). */
type SessionRequest = IncomingMessage & {
  session?: SessionData & {
    regenerate(cb: (err?: unknown) => void): void;
    destroy(cb: (err?: unknown) => void): void;
    save(cb: (err?: unknown) => void): void;
  };
  sessionID?: string;
};
type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The proxies whose X-Forwarded-For is believed (PFCAM_TRUSTED_PROXIES, default none), read once. */
const TRUSTED_PROXIES = trustedProxiesFromEnv();

function ipOf(req: IncomingMessage): string {
  return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], TRUSTED_PROXIES);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<unknown> {
  // Mounted on Node-RED's HTTP server, an earlier body parser (the editor API's, at the same root) may have
  // read the body already: take its result.
  const parsed = req as IncomingMessage & { _body?: boolean; body?: unknown };
  if (parsed._body === true) return Promise.resolve(parsed.body);
  if (req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, 'the request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'the request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof PfcamError) {
    if (err.key === 'errors.notFound') return 404;
    if (err.key === 'errors.conflict') return 409;
    return 400;
  }
  return 500;
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createSecurity(options: SecurityOptions): {
  adminAuth: Record<string, unknown>;
  httpAdminMiddleware: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
  security: PfcamSecurity;
  uiMiddleware: (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
  ioMiddleware: (socket: UiSocket, next: (err?: Error) => void) => void;
  ready: Promise<void>;
  close: () => Promise<void>;
} {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const box = SecretBox.forDataDir(options.dataDir, env);
  const limiter = new LoginRateLimiter();
  const sockets = new Map<string, { principal: Principal; sid?: string }>();
  let parts: Parts | undefined;
  let unregisterRoutes = (): void => undefined;
  let sessionMiddleware: Middleware | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  const ready = (async () => {
    // The archive writes to the same file through its own connection: wait for its lock rather than fail.
    const db = await Database.open(join(options.dataDir, options.databaseFile ?? 'pfcam.sqlite'), {
      busyTimeoutMs: 30_000,
    });
    const users = await Users.open(db, box);
    const sessions = await SessionTable.open(db, { idleMs: options.idleMs, absoluteMs: options.absoluteMs });
    const tokens = await Tokens.open(db);
    const audit = await AuditLog.open(db);
    parts = { db, users, sessions, tokens, audit };
    // Sessions: express-session over the SQLite table (idle and absolute expiry are the table's), a cookie
    // signed with a key derived from the auth key, httpOnly, SameSite=Strict, Secure under TLS.
    sessionMiddleware = session({
      name: SESSION_COOKIE,
      secret: box.derive('session-cookie'),
      store: sqliteSessionStore(session.Store, sessions) as session.Store,
      genid: () => randomBytes(32).toString('base64url'),
      resave: false,
      saveUninitialized: false,
      unset: 'destroy',
      cookie: { httpOnly: true, sameSite: 'strict', secure: Boolean(env['PFCAM_TLS_CERT']), path: '/' },
    }) as unknown as Middleware;
    // expired sessions end on time, and their sockets with them, even when no request comes
    sweeper = setInterval(
      () => {
        sessions.sweep().catch((err: unknown) => log(`[pfcam] session sweep failed: ${errorText(err)}`));
      },
      Math.max(1000, Math.min(sessions.idleMs / 4, 60_000)),
    );
    sweeper.unref();
    if ((await users.countAdmins()) === 0) {
      const name = env['PFCAM_ADMIN_USER'] || 'admin';
      const given = env['PFCAM_ADMIN_PASSWORD'];
      const password = given || randomPassword();
      await users.create({
        name,
        password,
        role: 'admin',
        mustChangePassword: !given,
        totpSecret: env['PFCAM_ADMIN_TOTP_SECRET'] || undefined,
      });
      await audit.append({ actor: 'system', action: 'user.create', outcome: 'ok', target: name });
      if (!given)
        log(
          `[pfcam] first admin "${name}" created; one-time password (change it at first login): ${password}`,
        );
    }
    // User, token, audit and account management routes (dashboard/api/security-routes.ts).
    unregisterRoutes = registerRoutes('pfcam-security', securityRoutes(parts));
  })();
  ready.catch((err: unknown) => log(`[pfcam] security could not start: ${errorText(err)}`));

  async function need(): Promise<Parts> {
    await ready;
    if (!parts) throw new HttpError(503, 'security is not ready');
    return parts;
  }

  /**
   * Runs express-session on a request (once): `req.session` and `req.sessionID` afterwards. A request without a
   * response (a socket's handshake, a WebSocket upgrade) gets a detached one: nothing is written to it.
   */
  async function withSession(req: IncomingMessage, res?: ServerResponse): Promise<SessionRequest> {
    const r = req as SessionRequest;
    if (r.session) return r;
    await need();
    const middleware = sessionMiddleware;
    if (!middleware) throw new HttpError(503, 'security is not ready');
    await new Promise<void>((resolve, reject) =>
      middleware(req, res ?? new ServerResponse(req), (err?: unknown) =>
        err ? reject(toError(err)) : resolve(),
      ),
    );
    return r;
  }

  function audit(entry: AuditEntry): void {
    need()
      .then((p) => p.audit.append(entry))
      .catch((err: unknown) => log(`[pfcam] audit write failed: ${errorText(err)}`));
  }

  /**
   * The session's user. `setup` is true while the account is not ready for use (password must change, or no
   * authenticator enrolled): such a session reaches only SETUP_ROUTES, never the dashboard, socket or API.
   */
  async function sessionPrincipal(
    req: IncomingMessage,
    res?: ServerResponse,
  ): Promise<{ principal: Principal; csrf: string; sid: string; setup: boolean } | undefined> {
    const r = await withSession(req, res);
    const data = r.session;
    const sid = r.sessionID;
    if (!data || !sid || typeof data.userId !== 'number') return undefined;
    const p = await need();
    const user = await p.users.byId(data.userId);
    if (!user || user.disabled) return undefined;
    if (data['mfa'] !== true && data['setup'] !== true) return undefined;
    // A setup session of a user who enrolled meanwhile (elsewhere) does not become a full one.
    if (data['mfa'] !== true && user.mfaEnrolled && data['enrolledHere'] !== true) return undefined;
    // (a request with a response is touched by express-session when it ends)
    if (!res) await p.sessions.touch(sid);
    const setup = data['mfa'] !== true || user.mustChangePassword || !user.mfaEnrolled;
    return {
      principal: principalOf(user),
      csrf: typeof data['csrf'] === 'string' ? data['csrf'] : '',
      sid,
      setup,
    };
  }

  /** A session ready for use (not a setup one). */
  async function fullSession(
    req: IncomingMessage,
    res?: ServerResponse,
  ): Promise<{ principal: Principal; csrf: string; sid: string } | undefined> {
    const s = await sessionPrincipal(req, res);
    return s && !s.setup ? s : undefined;
  }

  async function authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return (await need()).tokens.authenticate(auth.slice(7).trim());
    return (await fullSession(req))?.principal;
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const bearer = req.headers.authorization?.startsWith('Bearer ') === true;
    let principal: Principal | undefined;
    let csrf = '';
    let setupOf: { sid: string } | undefined;
    if (bearer)
      principal = await (await need()).tokens.authenticate(req.headers.authorization!.slice(7).trim());
    else {
      const s = await sessionPrincipal(req, res);
      principal = s?.principal;
      csrf = s?.csrf ?? '';
      if (s?.setup) setupOf = { sid: s.sid };
    }
    if (!principal) return sendJson(res, 401, { error: 'login required' });
    const url = new URL(req.url ?? '/', 'http://x');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    if (path === '/session' && method === 'GET') {
      const user = principal.kind === 'user' ? await (await need()).users.byId(principal.id) : undefined;
      return sendJson(res, 200, {
        user: { name: principal.name, role: principal.role, cameras: principal.cameras },
        csrfToken: csrf,
        // what the screens offer (the server checks every request all the same)
        permissions: PERMISSIONS.filter((p) => principalHas(principal, p)),
        setup: setupOf
          ? { mustChangePassword: user?.mustChangePassword ?? false, mfaEnrolled: user?.mfaEnrolled ?? false }
          : undefined,
      });
    }
    if (setupOf && !(method === 'POST' && SETUP_ROUTES.has(path)))
      return sendJson(res, 403, { error: 'finish setting up your account first', setup: true });
    const match = matchRoute(method, path);
    if (match === undefined) return sendJson(res, 404, { error: 'no such API route' });
    if (match === 'method') return sendJson(res, 405, { error: 'method not allowed' });
    const { route, params } = match;
    if (method !== 'GET' && !bearer) {
      const sent = req.headers['x-csrf-token'];
      if (!sameOrigin(req) || typeof sent !== 'string' || csrf === '' || !equal(sent, csrf))
        return sendJson(res, 403, { error: 'CSRF check failed' });
    }
    const body = method === 'GET' || method === 'DELETE' ? undefined : await readBody(req);
    const apiReq: ApiRequest = { principal, params, query, body, ip: ipOf(req), raw: req };
    const action = `${route.method} ${route.path}`;
    if (!isAllowed(principal, route.permission)) {
      if (route.audit) audit({ actor: principal.name, action, outcome: 'denied', ip: apiReq.ip });
      return sendJson(res, 403, { error: 'not allowed' });
    }
    const camera = route.camera ? await route.camera(apiReq) : undefined;
    if (route.camera && (camera === undefined || !isAllowed(principal, route.permission, camera))) {
      if (route.audit) audit({ actor: principal.name, action, outcome: 'denied', ip: apiReq.ip, camera });
      return sendJson(res, 404, { error: 'not found' });
    }
    try {
      const result = await route.handler(apiReq, res);
      if (route.audit) audit({ actor: principal.name, action, outcome: 'ok', ip: apiReq.ip, camera });
      if (setupOf && principal.kind === 'user') await finishSetup(req, principal.id, path);
      if ('json' in result) sendJson(res, result.status ?? 200, result.json);
    } catch (err) {
      if (route.audit) audit({ actor: principal.name, action, outcome: 'failed', ip: apiReq.ip, camera });
      const status = statusOf(err);
      if (!res.headersSent)
        sendJson(res, status, { error: status === 500 ? 'internal error' : errorText(err) });
    }
  }

  /**
   * After a setup step succeeded on a setup session: remember an enrolment made on it, and once the account is
   * ready (password changed, authenticator enrolled) the session becomes a full one. The user proved the
   * password at login and a code of the new authenticator at enrolment: both factors.
   */
  async function finishSetup(req: SessionRequest, userId: number, path: string): Promise<void> {
    const data = req.session;
    const user = await (await need()).users.byId(userId);
    if (!data || !user) return;
    const enrolledHere =
      data['enrolledHere'] === true || (path === '/account/totp/confirm' && user.mfaEnrolled);
    const ready = user.mfaEnrolled && !user.mustChangePassword;
    // saved by express-session when the response ends
    data['enrolledHere'] = enrolledHere;
    data['mfa'] = data['mfa'] === true || (ready && enrolledHere);
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!sameOrigin(req)) return sendJson(res, 403, { error: 'cross-origin request refused' });
    const p = await need();
    const body = (await readBody(req)) as
      { username?: unknown; password?: unknown; code?: unknown } | undefined;
    const name = typeof body?.username === 'string' ? body.username : '';
    const ip = ipOf(req);
    const wait = limiter.retryAfterMs(ip, name);
    if (wait > 0) {
      metrics.login('locked');
      return sendJson(
        res,
        429,
        { error: 'too many attempts' },
        { 'Retry-After': String(Math.ceil(wait / 1000)) },
      );
    }
    const user = await p.users.checkPassword(name, typeof body?.password === 'string' ? body.password : '');
    // A user without an authenticator signs in with the password alone, into a setup session (enrolment).
    const setup = user !== undefined && !user.mfaEnrolled;
    const factor = setup
      ? 'password'
      : user?.mfaEnrolled && typeof body?.code === 'string'
        ? await p.users.checkSecondFactor(user.id, body.code)
        : undefined;
    if (!user || !factor) {
      metrics.login('failure');
      limiter.fail(ip, name);
      audit({ actor: name, action: 'login.failed', outcome: 'failed', ip });
      return sendJson(res, 401, { error: 'wrong user name, password or code' });
    }
    limiter.succeed(ip, name);
    metrics.login('success');
    // a new session id at every login (no fixation): express-session regenerates it
    const r = await withSession(req, res);
    await new Promise<void>((resolve, reject) =>
      r.session!.regenerate((err) => (err ? reject(toError(err)) : resolve())),
    );
    const csrf = randomBytes(24).toString('base64url');
    Object.assign(r.session!, {
      userId: user.id,
      mfa: !setup,
      setup,
      csrf,
      ip,
      userAgent: String(req.headers['user-agent'] ?? ''),
    });
    audit({ actor: user.name, action: setup ? 'login.setup' : 'login', outcome: 'ok', ip, detail: factor });
    sendJson(res, 200, {
      user: { name: user.name, role: user.role },
      csrfToken: csrf,
      mustChangePassword: user.mustChangePassword,
      mfaEnrolled: user.mfaEnrolled,
    });
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const s = await sessionPrincipal(req, res);
    if (!s) return sendJson(res, 401, { error: 'login required' });
    const sent = req.headers['x-csrf-token'];
    if (!sameOrigin(req) || typeof sent !== 'string' || !equal(sent, s.csrf))
      return sendJson(res, 403, { error: 'CSRF check failed' });
    const r = req as SessionRequest;
    await new Promise<void>((resolve, reject) =>
      r.session!.destroy((err) => (err ? reject(toError(err)) : resolve())),
    );
    audit({ actor: s.principal.name, action: 'logout', outcome: 'ok', ip: ipOf(req) });
    sendJson(
      res,
      200,
      { ok: true },
      { 'Set-Cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` },
    );
  }

  async function servePage(res: ServerResponse, page: { file: string; type: string }): Promise<void> {
    const file = pageFile(page.file);
    if (!file) return sendJson(res, 404, { error: 'not found' });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return sendJson(res, 404, { error: 'not found' });
    }
    res.writeHead(200, {
      'Content-Type': page.type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    });
    res.end(body);
  }

  const security: PfcamSecurity = {
    authenticate,
    principalForSocket: (id) => sockets.get(id)?.principal,
    registerSocket(id, principal, sid) {
      sockets.set(id, { principal, sid });
    },
    unregisterSocket(id) {
      sockets.delete(id);
    },
    audit,
    onRevoke(listener) {
      let off = (): void => undefined;
      need()
        .then((p) => {
          p.sessions.on('revoke', listener);
          off = () => p.sessions.off('revoke', listener);
        })
        .catch(() => undefined);
      return () => off();
    },
    handler(req, res, next) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!path.startsWith('/pfcam/')) return next();
      let work: Promise<void>;
      if (path === '/pfcam/login' && req.method === 'POST') work = login(req, res);
      else if (path === '/pfcam/logout' && req.method === 'POST') work = logout(req, res);
      else if (path.startsWith(API_PREFIX + '/')) work = serveApi(req, res, path.slice(API_PREFIX.length));
      else if (Object.hasOwn(PAGES, path) && (req.method === 'GET' || req.method === 'HEAD'))
        work = servePage(res, PAGES[path]!);
      else return next();
      work.catch((err: unknown) => {
        const status = statusOf(err);
        if (!res.headersSent)
          sendJson(res, status, { error: status === 500 ? 'internal error' : errorText(err) });
      });
    },
  };

  const adminAuth = {
    type: 'credentials',
    /** The editor login: the password field holds the password immediately followed by the 6-digit code. */
    async users(username: string) {
      const user = await (await need()).users.byName(username);
      return user && user.role === 'admin' && !user.disabled
        ? { username: user.name, permissions: '*' }
        : null;
    },
    async authenticate(username: string, passwordAndCode: string) {
      const p = await need();
      const name = String(username);
      // the client's address, kept by httpAdminMiddleware for the request that is signing in
      const ip = editorRequest.getStore()?.ip ?? 'editor';
      if (limiter.retryAfterMs(ip, name) > 0) {
        metrics.login('locked');
        audit({ actor: name, action: 'editor.login', outcome: 'denied', ip, detail: 'too many attempts' });
        return null;
      }
      const code = typeof passwordAndCode === 'string' ? passwordAndCode.slice(-6) : '';
      const user =
        typeof passwordAndCode === 'string' && passwordAndCode.length > 6
          ? await p.users.checkPassword(name, passwordAndCode.slice(0, -6))
          : undefined;
      const ok =
        user !== undefined &&
        user.role === 'admin' &&
        user.mfaEnrolled &&
        !user.mustChangePassword &&
        (await p.users.checkSecondFactor(user.id, code)) !== undefined;
      if (ok) limiter.succeed(ip, name);
      else limiter.fail(ip, name);
      metrics.login(ok ? 'success' : 'failure');
      audit({ actor: name, action: 'editor.login', outcome: ok ? 'ok' : 'failed', ip });
      return ok ? { username: user.name, permissions: '*' } : null;
    },
  };

  /** Drops the wildcard CORS answer Node-RED gives its admin API: the editor is same-origin only. */
  function httpAdminMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    // Node-RED's own CORS handler ran before this one and answered `*`: take it back
    dropWildcardCors(res);
    if (res.getHeader('access-control-allow-origin') === '*') res.removeHeader('access-control-allow-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    editorRequest.run({ ip: ipOf(req) }, next);
  }

  /** Who a request to the dashboard is: the session's user (sid included), or undefined. */
  async function sessionOf(
    req: IncomingMessage,
    res?: ServerResponse,
  ): Promise<{ principal: Principal; sid: string } | undefined> {
    const s = await fullSession(req, res);
    return s ? { principal: s.principal, sid: s.sid } : undefined;
  }

  /**
   * `ui.middleware`: the dashboard's pages only for a signed-in user; a browser page without a session goes to
   * the login page, anything else gets 401.
   */
  function uiMiddleware(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    sessionOf(req, res).then(
      (s) => {
        if (s) return uiHeaders(req, res, next);
        const wantsHtml = /text\/html/.test(String(req.headers.accept ?? ''));
        if (wantsHtml) {
          res.writeHead(302, { Location: '/pfcam/login?next=/ui/', 'Cache-Control': 'no-store' });
          res.end();
        } else sendJson(res, 401, { error: 'login required' });
      },
      (err: unknown) => {
        log(`[pfcam] dashboard session check failed: ${errorText(err)}`);
        if (!res.headersSent) sendJson(res, 503, { error: 'security is not ready' });
      },
    );
  }

  /** Sockets per session key, to cut them when the session is revoked or expires. */
  const bySid = new Map<string, Set<UiSocket>>();
  ready
    .then(() =>
      parts?.sessions.on('revoke', (event: RevokeEvent) => {
        for (const socket of bySid.get(event.key) ?? []) socket.disconnect(true);
      }),
    )
    .catch(() => undefined);

  /**
   * `ui.ioMiddleware` (socket.io `io.use`): a dashboard socket only for a signed-in user from the same origin;
   * the socket's user is recorded for `principalForSocket`, every incoming packet's `socketid` is overwritten
   * with the real socket id, and the socket is cut when its session is revoked (logout, user disabled).
   */
  function ioMiddleware(socket: UiSocket, next: (err?: Error) => void): void {
    const req = socket.request;
    if (!sameOrigin(req)) return next(new Error('cross-origin refused'));
    sessionOf(req).then(
      (s) => {
        if (!s) return next(new Error('login required'));
        security.registerSocket(socket.id, s.principal, s.sid);
        const key = sessionKey(s.sid);
        let set = bySid.get(key);
        if (!set) bySid.set(key, (set = new Set()));
        set.add(socket);
        socket.on('disconnect', () => {
          security.unregisterSocket(socket.id);
          const open = bySid.get(key);
          open?.delete(socket);
          if (open?.size === 0) bySid.delete(key);
        });
        socket.use((packet, nextPacket) => {
          const data = packet[1];
          if (data !== null && typeof data === 'object') {
            const d = data as { socketid?: unknown; msg?: unknown };
            d.socketid = socket.id;
            if (d.msg !== null && typeof d.msg === 'object')
              (d.msg as { socketid?: unknown }).socketid = socket.id;
          }
          nextPacket();
        });
        next();
      },
      () => next(new Error('security is not ready')),
    );
  }

  /** Closes the database (tests, shutdown). */
  async function close(): Promise<void> {
    await ready.catch(() => undefined);
    if (sweeper) clearInterval(sweeper);
    unregisterRoutes();
    await parts?.db.close();
  }

  return { adminAuth, httpAdminMiddleware, security, uiMiddleware, ioMiddleware, ready, close };
}
