import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTotpSecret, totpCode } from '../../lib/auth/totp';
import { registerRoutes } from '../../dashboard/api/registry';
import { createSecurity } from '../../dashboard/security';
import { AuditLog, type AuditRecord } from '../../lib/auth/audit';
import { Database } from '../../lib/store/database';
import { setTimeout as sleep } from 'node:timers/promises';

describe('security API server (real HTTP, real SQLite)', function () {
  this.timeout(30000);
  let dir: string;
  let server: Server;
  let base: string;
  let unregister: () => void;
  let close: () => Promise<void>;
  let adminAuth: Record<string, unknown>;
  const secret = newTotpSecret();
  const password = 'admin password 0123';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-sec-'));
    const sec = createSecurity({
      dataDir: dir,
      env: { PFCAM_ADMIN_USER: 'root', PFCAM_ADMIN_PASSWORD: password, PFCAM_ADMIN_TOTP_SECRET: secret },
      log: () => undefined,
    });
    close = sec.close;
    adminAuth = sec.adminAuth;
    await sec.ready;
    unregister = registerRoutes('test', [
      {
        method: 'GET',
        path: '/test/view',
        permission: 'events:view',
        summary: 'view',
        handler: () => Promise.resolve({ json: { ok: 1 } }),
      },
      {
        method: 'POST',
        path: '/test/act',
        permission: 'users:manage',
        summary: 'act',
        audit: true,
        handler: () => Promise.resolve({ json: { done: 1 } }),
      },
    ]);
    server = createServer((req, res) =>
      sec.security.handler(req, res, () => {
        res.statusCode = 404;
        res.end();
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    unregister?.();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await close?.();
    await rm(dir, { recursive: true, force: true });
  });

  async function login(code: string, pw = password): Promise<Response> {
    return fetch(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: pw, code }),
    });
  }

  it('answers 401 to an API request without a session', async () => {
    assert.equal((await fetch(`${base}/pfcam/api/test/view`)).status, 401);
  });

  it('logs in with password and code, refuses the same code again, and needs the CSRF token to change state', async () => {
    const now = Date.now() / 1000;
    assert.equal((await login(totpCode(secret, now), 'wrong password 123')).status, 401);
    const ok = await login(totpCode(secret, now));
    assert.equal(ok.status, 200);
    const { csrfToken } = (await ok.json()) as { csrfToken: string };
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    assert.match(ok.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await login(totpCode(secret, now))).status, 401, 'replayed code refused');
    assert.equal((await fetch(`${base}/pfcam/api/test/view`, { headers: { cookie } })).status, 200);
    assert.equal(
      (await fetch(`${base}/pfcam/api/test/act`, { method: 'POST', headers: { cookie } })).status,
      403,
    );
    const withToken = await fetch(`${base}/pfcam/api/test/act`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    assert.equal(withToken.status, 200);
    const crossOrigin = await fetch(`${base}/pfcam/api/test/act`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, origin: 'http://evil.example' },
    });
    assert.equal(crossOrigin.status, 403);
    const out = await fetch(`${base}/pfcam/logout`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    assert.equal(out.status, 200);
    assert.equal(
      (await fetch(`${base}/pfcam/api/test/view`, { headers: { cookie } })).status,
      401,
      'revoked',
    );
  });

  it('answers 429 with Retry-After after repeated failures', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) last = await login('123456', 'wrong password 123');
    assert.equal(last?.status, 429);
    assert.ok(Number(last?.headers.get('retry-after')) >= 1);
  });

  it('lets only an enrolled admin into the editor, with the code after the password, never a wrong code', async () => {
    const auth = adminAuth as {
      authenticate: (u: string, p: string) => Promise<unknown>;
      users: (u: string) => Promise<unknown>;
    };
    const later = Date.now() / 1000 + 30;
    assert.equal(await auth.authenticate('root', password + '000000'), null);
    assert.equal(await auth.authenticate('root', password), null);
    assert.deepEqual(await auth.authenticate('root', password + totpCode(secret, later)), {
      username: 'root',
      permissions: '*',
    });
    assert.equal(await auth.users('nobody'), null);
  });

  it('slows down guessing at the editor login: after repeated failures even the right password is refused, audited as denied', async () => {
    const auth = adminAuth as { authenticate: (u: string, p: string) => Promise<unknown> };
    for (let i = 0; i < 10; i++)
      assert.equal(await auth.authenticate('root', `guess number ${i} 000000`), null);
    assert.equal(await auth.authenticate('root', password + totpCode(secret)), null);
    // the refusal came from the throttle, before any password check: the audit says so
    const db = await Database.open(join(dir, 'pfcam.sqlite'));
    try {
      const log = await AuditLog.open(db);
      let denied: AuditRecord[] = [];
      for (let tries = 0; tries < 100 && denied.length === 0; tries++) {
        denied = (await log.query({ actor: 'root', action: 'editor.login', outcome: 'denied' })).items;
        if (denied.length === 0) await sleep(50);
      }
      assert.equal(denied.length >= 1, true, 'a throttled editor login is audited as denied');
    } finally {
      await db.close();
    }
  });
});
