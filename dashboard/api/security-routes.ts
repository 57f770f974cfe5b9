/**
 * The API routes of user, token, audit and account management, served by the security module's API server
 * (registered by `createSecurity` under the owner `pfcam-security`). Admin routes need `users:manage` (users,
 * audit) or `system:manage` (API tokens, the route list); account routes need `events:view` (every role holds it) and refuse API
 * tokens. Nothing answered holds a password hash, a stored TOTP secret, a token hash or a session id; a new
 * password, token secret, TOTP enrolment secret or recovery code is answered once, when it is made.
 */
import type { IncomingMessage } from 'node:http';
import { toDataURL } from 'qrcode';
import type { AuditLog, AuditOutcome } from '../../lib/auth/audit';
import { randomPassword, passwordProblem } from '../../lib/auth/passwords';
import { isRole, ROLES, type Role } from '../../lib/auth/permissions';
import { sessionHandle, type SessionTable } from '../../lib/auth/session-store';
import type { Tokens } from '../../lib/auth/tokens';
import { totpUri } from '../../lib/auth/totp';
import type { User, Users } from '../../lib/auth/users';
import type { Database } from '../../lib/store/database';
import { forgetViewer } from '../../lib/store/viewed-marks';
import { errorText } from '../../lib/errors';
import { readInstant } from '../../lib/time/zoned-time';
import type { ApiRequest, ApiResult, ApiRoute } from './api-route';
import { listRoutes } from './registry';

/** The parts of the security module these routes use (the same objects `createSecurity` opens). */
export interface SecurityRouteParts {
  readonly users: Users;
  readonly sessions: SessionTable;
  readonly tokens: Tokens;
  readonly audit: AuditLog;
  /** The database of the users table: a deleted user's or token's "viewed" marks are deleted there too. */
  readonly db: Database;
}

/** The session cookie the security module sets (its value is the session id; never answered). */

/** What the API answers about a user: never the password hash or the TOTP secret. */
export interface UserView {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  readonly cameras: readonly string[] | null;
  readonly disabled: boolean;
  readonly mustChangePassword: boolean;
  readonly mfaEnrolled: boolean;
  readonly createdAt: string;
}

export function userView(u: User): UserView {
  return {
    id: u.id,
    name: u.name,
    role: u.role,
    cameras: u.cameras,
    disabled: u.disabled,
    mustChangePassword: u.mustChangePassword,
    mfaEnrolled: u.mfaEnrolled,
    createdAt: u.createdAt,
  };
}

const RANK: Readonly<Record<Role, number>> = { viewer: 0, manager: 1, admin: 2 };

/** True when going from `before` to `after` takes some access away (role, camera scope, or disabling). */
export function reducesAccess(before: User, after: User): boolean {
  if (RANK[after.role] < RANK[before.role]) return true;
  if (after.disabled && !before.disabled) return true;
  if (after.cameras !== null) {
    if (before.cameras === null) return true;
    const kept = new Set(after.cameras);
    if (before.cameras.some((s) => !kept.has(s))) return true;
  }
  return false;
}

/** What `GET /routes` answers about a route (the API reference, and what the role x action matrix test reads). */
export interface RouteView {
  readonly method: string;
  /** Below API_PREFIX, with `:name` parameters. */
  readonly path: string;
  readonly permission: string;
  /** True when the route checks the camera scope of the camera (or recording) it concerns. */
  readonly cameraScoped: boolean;
  readonly audited: boolean;
  readonly summary: string;
  /** Who registered it (`pfcam-security`, `pfcam-ui-config:<node id>`, `pfcam-ui-live`). */
  readonly owner: string;
}

export function routeView(r: ApiRoute & { owner: string }): RouteView {
  return {
    method: r.method,
    path: r.path,
    permission: r.permission,
    cameraScoped: r.camera !== undefined,
    audited: r.audit === true,
    summary: r.summary,
    owner: r.owner,
  };
}

function bad(message: string, status = 400): ApiResult {
  return { status, json: { error: message } };
}

function idParam(req: ApiRequest): number | undefined {
  const id = Number(req.params['id']);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function body(req: ApiRequest): Record<string, unknown> {
  return req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)
    ? (req.body as Record<string, unknown>)
    : {};
}

/** The id of the request's session (express-session has read the signed cookie). */
function cookieSid(raw: IncomingMessage): string | undefined {
  const id = (raw as IncomingMessage & { sessionID?: unknown }).sessionID;
  return typeof id === 'string' ? id : undefined;
}

/** `cameras` from a request body: absent, `null` (every camera) or a list of serial numbers. */
function camerasOf(value: unknown): readonly string[] | null | undefined | 'bad' {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value) && value.every((s) => typeof s === 'string' && s.trim() !== ''))
    return [...new Set(value.map((s: string) => s.trim()))];
  return 'bad';
}

export function securityRoutes(parts: SecurityRouteParts): ApiRoute[] {
  const { users, sessions, tokens, audit, db } = parts;

  async function record(
    req: ApiRequest,
    action: string,
    target: string,
    detail?: string,
    outcome: AuditOutcome = 'ok',
  ): Promise<void> {
    await audit.append({ actor: req.principal.name, action, outcome, ip: req.ip, target, detail });
  }

  /** The logged-in user behind an account route, or the refusal (API tokens have no account). */
  async function accountUser(req: ApiRequest): Promise<User | ApiResult> {
    if (req.principal.kind !== 'user') return bad('API tokens cannot use account routes', 403);
    const user = await users.byId(req.principal.id);
    return user ?? bad('login required', 401);
  }

  function isResult(v: User | ApiResult): v is ApiResult {
    return 'json' in v;
  }

  const admin: ApiRoute[] = [
    {
      method: 'GET',
      path: '/users',
      permission: 'users:manage',
      summary: 'List the users (admin)',
      handler: async () => ({ json: { users: (await users.list()).map(userView) } }),
    },
    {
      method: 'POST',
      path: '/users',
      permission: 'users:manage',
      summary: 'Create a user with a one-time password answered once (admin)',
      audit: true,
      handler: async (req) => {
        const b = body(req);
        const cameras = camerasOf(b['cameras']);
        if (cameras === 'bad') return bad('cameras must be null or a list of serial numbers');
        if (!isRole(b['role'])) return bad(`the role must be one of ${ROLES.join(', ')}`);
        const password = randomPassword();
        const user = await users.create({
          name: text(b['name']),
          password,
          role: b['role'],
          cameras: cameras ?? null,
          mustChangePassword: true,
        });
        await record(req, 'user.create', user.name, `role=${user.role}`);
        return { status: 201, json: { user: userView(user), password } };
      },
    },
    {
      method: 'PATCH',
      path: '/users/:id',
      permission: 'users:manage',
      summary: "Change a user's role, camera scope or disabled flag; less access ends their sessions (admin)",
      audit: true,
      handler: async (req) => {
        const id = idParam(req);
        const before = id === undefined ? undefined : await users.byId(id);
        if (!before) return bad('no such user', 404);
        const b = body(req);
        const cameras = camerasOf(b['cameras']);
        if (cameras === 'bad') return bad('cameras must be null or a list of serial numbers');
        if (b['role'] !== undefined && !isRole(b['role']))
          return bad(`the role must be one of ${ROLES.join(', ')}`);
        if (b['disabled'] !== undefined && typeof b['disabled'] !== 'boolean')
          return bad('disabled must be true or false');
        const after = await users.update(before.id, {
          role: b['role'],
          cameras: 'cameras' in b ? cameras : undefined,
          disabled: b['disabled'],
        });
        let revoked = 0;
        if (reducesAccess(before, after)) revoked = await sessions.revokeUser(after.id, 'access reduced');
        await record(
          req,
          'user.update',
          after.name,
          `role=${after.role} cameras=${after.cameras === null ? '*' : after.cameras.join(',')} disabled=${after.disabled} sessionsEnded=${revoked}`,
        );
        return { json: { user: userView(after), sessionsEnded: revoked } };
      },
    },
    {
      method: 'POST',
      path: '/users/:id/reset-mfa',
      permission: 'users:manage',
      summary: "Reset a user's TOTP and recovery codes and end their sessions (admin)",
      audit: true,
      handler: async (req) => {
        const id = idParam(req);
        const user = id === undefined ? undefined : await users.byId(id);
        if (!user) return bad('no such user', 404);
        await users.resetMfa(user.id);
        const revoked = await sessions.revokeUser(user.id, 'mfa reset');
        await record(req, 'user.reset-mfa', user.name, `sessionsEnded=${revoked}`);
        return { json: { user: userView((await users.byId(user.id)) ?? user), sessionsEnded: revoked } };
      },
    },
    {
      method: 'DELETE',
      path: '/users/:id',
      permission: 'users:manage',
      summary: 'Delete a user and end their sessions (admin)',
      audit: true,
      handler: async (req) => {
        const id = idParam(req);
        const user = id === undefined ? undefined : await users.byId(id);
        if (!user) return bad('no such user', 404);
        await users.remove(user.id);
        await forgetViewer(db, { kind: 'user', id: user.id });
        const revoked = await sessions.revokeUser(user.id, 'user deleted');
        await record(req, 'user.delete', user.name, `sessionsEnded=${revoked}`);
        return { json: { deleted: user.name, sessionsEnded: revoked } };
      },
    },
    {
      method: 'GET',
      path: '/tokens',
      permission: 'system:manage',
      summary: 'List the API tokens, without their secrets (admin)',
      handler: async () => ({ json: { tokens: await tokens.list() } }),
    },
    {
      method: 'POST',
      path: '/tokens',
      permission: 'system:manage',
      summary: 'Create an API token (scopes within the token scopes); its secret is answered once (admin)',
      audit: true,
      handler: async (req) => {
        const b = body(req);
        const cameras = camerasOf(b['cameras']);
        if (cameras === 'bad') return bad('cameras must be null or a list of serial numbers');
        const scopes = b['scopes'];
        if (!Array.isArray(scopes)) return bad('scopes must be a list');
        const { token, info } = await tokens.create({
          label: text(b['label']),
          scopes: scopes as string[],
          cameras: cameras ?? null,
          createdBy: req.principal.name,
        });
        await record(req, 'token.create', info.label, `id=${info.id} scopes=${info.scopes.join(',')}`);
        return { status: 201, json: { token: info, secret: token } };
      },
    },
    {
      method: 'DELETE',
      path: '/tokens/:id',
      permission: 'system:manage',
      summary: 'Revoke an API token (admin)',
      audit: true,
      handler: async (req) => {
        const id = idParam(req);
        const known = (await tokens.list()).find((t) => t.id === id);
        if (!known || id === undefined) return bad('no such token', 404);
        const revoked = await tokens.revoke(id);
        await forgetViewer(db, { kind: 'token', id });
        await record(req, 'token.revoke', known.label, `id=${id}`);
        return { json: { revoked } };
      },
    },
    {
      method: 'GET',
      path: '/routes',
      permission: 'system:manage',
      summary: 'Every API route served now: method, path, permission, camera scope, summary (admin)',
      handler: () => Promise.resolve({ json: { routes: listRoutes().map(routeView) } }),
    },
    {
      method: 'GET',
      path: '/audit',
      permission: 'users:manage',
      summary: 'Query the audit log: user, action, outcome, from, to, before (keyset), limit (admin)',
      handler: async (req) => {
        const q = req.query;
        const before = q['before'] === undefined ? undefined : Number(q['before']);
        if (before !== undefined && !Number.isSafeInteger(before)) return bad('before must be a record id');
        const limit = q['limit'] === undefined ? undefined : Number(q['limit']);
        if (limit !== undefined && !Number.isFinite(limit)) return bad('limit must be a number');
        const range: { from?: string; to?: string } = {};
        for (const k of ['from', 'to'] as const) {
          let ms: number | undefined;
          try {
            ms = readInstant({ value: q[k], source: k });
          } catch (err) {
            return bad(errorText(err));
          }
          if (ms !== undefined) range[k] = new Date(ms).toISOString();
        }
        const outcome = q['outcome'];
        if (outcome !== undefined && !['ok', 'denied', 'failed'].includes(outcome))
          return bad('outcome must be ok, denied or failed');
        const page = await audit.query({
          actor: q['user'],
          action: q['action'],
          outcome: outcome as AuditOutcome | undefined,
          from: range.from,
          to: range.to,
          before,
          limit,
        });
        return { json: page };
      },
    },
  ];

  const account: ApiRoute[] = [
    {
      method: 'GET',
      path: '/account/sessions',
      permission: 'events:view',
      summary: 'My sessions (events:view: every role holds it; API tokens refused)',
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        const sid = cookieSid(req.raw);
        const current = sid === undefined ? undefined : sessionHandle(sid);
        const list = await sessions.listForUser(user.id);
        return {
          json: {
            sessions: list.map((s) => ({
              handle: s.handle,
              createdAt: new Date(s.createdAt).toISOString(),
              lastSeenAt: new Date(s.lastSeenAt).toISOString(),
              ip: s.ip,
              userAgent: s.userAgent,
              current: s.handle === current,
            })),
          },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/account/sessions',
      permission: 'events:view',
      summary: 'Log out everywhere, this session included (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        const ended = await sessions.revokeUser(user.id, 'logout everywhere');
        await record(req, 'account.logout-everywhere', user.name, `sessionsEnded=${ended}`);
        return { json: { sessionsEnded: ended } };
      },
    },
    {
      method: 'DELETE',
      path: '/account/sessions/:handle',
      permission: 'events:view',
      summary: 'End one of my sessions by its handle (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        const ok = await sessions.revokeHandle(user.id, req.params['handle'] ?? '', 'logout');
        if (!ok) return bad('no such session', 404);
        await record(req, 'account.logout-session', user.name);
        return { json: { ended: true } };
      },
    },
    {
      method: 'POST',
      path: '/account/password',
      permission: 'events:view',
      summary:
        'Change my password (current + new, 12+ characters); ends my other sessions (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        const b = body(req);
        const next = b['newPassword'];
        const problem = passwordProblem(next);
        if (problem) return bad(problem);
        const ok = await users.checkPassword(user.name, text(b['currentPassword']));
        if (!ok) {
          await record(req, 'account.password', user.name, 'wrong current password', 'failed');
          return bad('the current password is wrong');
        }
        await users.setPassword(user.id, next as string, false);
        const ended = await sessions.revokeUser(user.id, 'password changed', cookieSid(req.raw));
        await record(req, 'account.password', user.name, `otherSessionsEnded=${ended}`);
        return { json: { changed: true, otherSessionsEnded: ended } };
      },
    },
    {
      method: 'POST',
      path: '/account/totp/start',
      permission: 'events:view',
      summary:
        'Start TOTP enrolment when not enrolled: otpauth URI, QR code, secret (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        if (user.mfaEnrolled) return bad('TOTP is enrolled already: an admin resets it first', 409);
        const secret = await users.beginEnrolment(user.id);
        const uri = totpUri(secret, user.name);
        const qr = await toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
        await record(req, 'account.totp-start', user.name);
        return { json: { otpauthUri: uri, qrCode: qr, secret } };
      },
    },
    {
      method: 'POST',
      path: '/account/totp/confirm',
      permission: 'events:view',
      summary:
        'Confirm TOTP enrolment with a code; answers the recovery codes once (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        const codes = await users.finishEnrolment(user.id, text(body(req)['code']));
        if (!codes) {
          await record(req, 'account.totp-confirm', user.name, 'wrong code or no enrolment', 'failed');
          return bad('the code does not match a pending enrolment');
        }
        await record(req, 'account.totp-confirm', user.name);
        return { json: { enrolled: true, recoveryCodes: codes } };
      },
    },
    {
      method: 'POST',
      path: '/account/recovery-codes',
      permission: 'events:view',
      summary: 'Regenerate my recovery codes, answered once (events:view: every role; API tokens refused)',
      audit: true,
      handler: async (req) => {
        const user = await accountUser(req);
        if (isResult(user)) return user;
        if (!user.mfaEnrolled) return bad('TOTP is not enrolled', 409);
        const codes = await users.regenerateRecoveryCodes(user.id);
        await record(req, 'account.recovery-codes', user.name);
        return { json: { recoveryCodes: codes } };
      },
    },
  ];

  return [...admin, ...account];
}

/** True for the routes a token may never use even with a matching scope (account routes). */
export function isAccountRoute(path: string): boolean {
  return path.startsWith('/account/');
}
