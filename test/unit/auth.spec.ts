import { strict as assert } from 'node:assert';
import { mkdtemp, rm, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../lib/store/database';
import { AuditLog } from '../../lib/auth/audit';
import { hashPassword, passwordProblem, verifyPassword } from '../../lib/auth/passwords';
import { LoginRateLimiter } from '../../lib/auth/rate-limit';
import { SecretBox } from '../../lib/auth/secret-box';
import { SessionTable, sessionHandle, sessionKey, type RevokeEvent } from '../../lib/auth/session-store';
import { Tokens } from '../../lib/auth/tokens';
import { matchStep, totpCode, TOTP_PERIOD } from '../../lib/auth/totp';
import { Users } from '../../lib/auth/users';

describe('auth logic', function () {
  this.timeout(30000);
  let dir: string;
  let db: Database;
  let box: SecretBox;
  let users: Users;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-auth-'));
    db = await Database.open(join(dir, 'pfcam.sqlite'));
    box = SecretBox.forDataDir(dir, {});
    users = await Users.open(db, box);
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes passwords with scrypt, accepts the right one only, and refuses short ones', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^scrypt\$/);
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.ok(passwordProblem('short'));
    assert.equal(passwordProblem('x'.repeat(64)), undefined);
    assert.equal(passwordProblem('x'.repeat(1024)), undefined);
  });

  it('keeps the auth key in a 0600 file outside the database, and the TOTP secret sealed in the database', async () => {
    const mode = (await stat(join(dir, 'auth-key'))).mode & 0o777;
    assert.equal(mode, 0o600);
    const u = await users.create({ name: 'ann', password: 'a long password 1', role: 'viewer' });
    const secret = await users.beginEnrolment(u.id);
    await db.close();
    const raw = await readFile(join(dir, 'pfcam.sqlite'));
    assert.equal(raw.includes(Buffer.from(secret)), false);
    db = await Database.open(join(dir, 'pfcam.sqlite'));
  });

  it('accepts a TOTP code once: the same code (or an older step) is refused afterwards', async () => {
    const u = await users.create({ name: 'bob', password: 'a long password 2', role: 'manager' });
    const secret = await users.beginEnrolment(u.id);
    const t0 = 1_900_000_000;
    const codes = await users.finishEnrolment(u.id, totpCode(secret, t0), t0);
    assert.equal(codes?.length, 10);
    assert.equal(
      await users.checkSecondFactor(u.id, totpCode(secret, t0), t0),
      undefined,
      'enrolment code replayed',
    );
    const t1 = t0 + TOTP_PERIOD;
    assert.equal(await users.checkSecondFactor(u.id, totpCode(secret, t1), t1), 'totp');
    assert.equal(await users.checkSecondFactor(u.id, totpCode(secret, t1), t1), undefined);
    assert.equal(await users.checkSecondFactor(u.id, '000000', t1 + TOTP_PERIOD), undefined);
    assert.equal(
      matchStep(secret, totpCode(secret, t0 - 2 * TOTP_PERIOD), null, t0),
      undefined,
      'outside +-1 step',
    );
  });

  it('accepts each recovery code once', async () => {
    const u = await users.create({ name: 'cy', password: 'a long password 3', role: 'admin' });
    const secret = await users.beginEnrolment(u.id);
    const codes = (await users.finishEnrolment(u.id, totpCode(secret))) as string[];
    assert.equal(await users.checkSecondFactor(u.id, codes[3] as string), 'recovery');
    assert.equal(await users.checkSecondFactor(u.id, codes[3] as string), undefined);
    assert.equal(await users.unusedRecoveryCodes(u.id), 9);
    await users.resetMfa(u.id);
    assert.equal(await users.checkSecondFactor(u.id, codes[4] as string), undefined);
  });

  it('refuses a disabled user and an unknown user alike', async () => {
    const u = await users.create({ name: 'dee', password: 'a long password 4', role: 'viewer' });
    assert.ok(await users.checkPassword('dee', 'a long password 4'));
    await users.update(u.id, { disabled: true });
    assert.equal(await users.checkPassword('dee', 'a long password 4'), undefined);
    assert.equal(await users.checkPassword('nobody', 'a long password 4'), undefined);
  });

  it('never demotes, disables or deletes the last admin', async () => {
    const a = await users.create({ name: 'root', password: 'a long password 5', role: 'admin' });
    await assert.rejects(users.update(a.id, { role: 'viewer' }), /last enabled admin/);
    await assert.rejects(users.remove(a.id), /last enabled admin/);
  });

  it('throttles failures per (IP, user) with a growing Retry-After, and a success clears the pair', () => {
    let now = 0;
    const rl = new LoginRateLimiter({ freePerPair: 3, freePerIp: 100, baseDelayMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) rl.fail('1.1.1.1', 'ann');
    assert.equal(rl.retryAfterMs('1.1.1.1', 'ann'), 0);
    rl.fail('1.1.1.1', 'ann');
    assert.equal(rl.retryAfterMs('1.1.1.1', 'ann'), 1000);
    rl.fail('1.1.1.1', 'ann');
    assert.equal(rl.retryAfterMs('1.1.1.1', 'ann'), 2000);
    assert.equal(rl.retryAfterMs('2.2.2.2', 'ann'), 0, 'another address is not blocked');
    now += 5000;
    assert.equal(rl.retryAfterMs('1.1.1.1', 'ann'), 0, 'never a permanent lockout');
    rl.succeed('1.1.1.1', 'ann');
    rl.fail('1.1.1.1', 'ann');
    assert.equal(rl.retryAfterMs('1.1.1.1', 'ann'), 0);
  });

  it('expires sessions after the idle time and after the absolute lifetime, and revokes per user', async () => {
    let now = 1_000_000;
    const table = await SessionTable.open(db, { idleMs: 1000, absoluteMs: 5000, now: () => now });
    await table.set('s1', { userId: 7 });
    now += 900;
    assert.ok(await table.get('s1'));
    await table.touch('s1');
    now += 900;
    assert.ok(await table.get('s1'), 'touch keeps it alive');
    now += 1100;
    assert.equal(await table.get('s1'), undefined, 'idle expiry');
    await table.set('s2', { userId: 7 });
    for (let i = 0; i < 6; i++) {
      now += 900;
      await table.touch('s2');
    }
    assert.equal(await table.get('s2'), undefined, 'absolute expiry');
    await table.set('s3', { userId: 7 });
    await table.set('s4', { userId: 7 });
    const revoked: string[] = [];
    table.on('revoke', (e: RevokeEvent) => revoked.push(e.key));
    assert.equal(await table.revokeUser(7, 'test', 's4'), 1);
    assert.deepEqual(revoked, [sessionKey('s3')]);
    assert.equal((await table.listForUser(7)).length, 1);
  });

  it('never stores a session id, writes the last-seen time at most once a minute, and sweeps expired sessions', async () => {
    let now = 5_000_000;
    const table = await SessionTable.open(db, {
      idleMs: 30 * 60_000,
      absoluteMs: 12 * 3600_000,
      now: () => now,
    });
    const sid = 'the-secret-session-id-0123456789';
    await table.set(sid, { userId: 9 });
    const rows = await db.all<{ sid: string }>('SELECT sid FROM auth_sessions WHERE user_id = 9');
    assert.deepEqual(
      rows.map((r) => r.sid),
      [sessionKey(sid)],
    );
    assert.equal((await table.listForUser(9))[0]?.handle, sessionHandle(sid));
    const seen = async (): Promise<number | undefined> =>
      (await db.get<{ last_seen_at: number }>('SELECT last_seen_at FROM auth_sessions WHERE user_id = 9'))
        ?.last_seen_at;
    now += 1000;
    await table.touch(sid);
    const first = await seen();
    now += 1000;
    await table.touch(sid);
    assert.equal(await seen(), first, 'a second touch within the minute writes nothing');
    now += 60_000;
    await table.touch(sid);
    assert.equal(await seen(), now);
    // expired unseen: the sweep ends it and says so, without any request
    const ended: RevokeEvent[] = [];
    table.on('revoke', (e: RevokeEvent) => ended.push(e));
    now += 31 * 60_000;
    assert.equal(await table.sweep(), 1);
    assert.deepEqual(
      ended.map((e) => [e.key, e.reason]),
      [[sessionKey(sid), 'expired']],
    );
    assert.equal(await table.get(sid), undefined);
  });

  it('stores API tokens hashed, authenticates them with their scopes, and refuses them once revoked', async () => {
    const tokens = await Tokens.open(db);
    const { token, info } = await tokens.create({
      label: 'plant',
      scopes: ['events:view'],
      createdBy: 'root',
    });
    const p = await tokens.authenticate(token);
    assert.deepEqual(p?.scopes, ['events:view']);
    assert.equal((await tokens.list())[0]?.lastUsedAt !== null, true);
    await assert.rejects(
      tokens.create({ label: 'x', scopes: ['users:manage'], createdBy: 'root' }),
      /unknown/,
    );
    assert.equal(await tokens.revoke(info.id), true);
    assert.equal(await tokens.authenticate(token), undefined);
    const row = await db.get<{ token_hash: string }>('SELECT token_hash FROM auth_tokens');
    assert.notEqual(row?.token_hash, token);
  });

  it('queries the audit log with filters and keyset pagination', async () => {
    const audit = await AuditLog.open(db);
    for (let i = 0; i < 5; i++)
      await audit.append({ actor: 'ann', action: 'login', outcome: 'ok', ip: '1.1.1.1' });
    await audit.append({ actor: 'bob', action: 'login.failed', outcome: 'failed' });
    const page1 = await audit.query({ actor: 'ann', limit: 3 });
    assert.equal(page1.items.length, 3);
    assert.ok(page1.next);
    const page2 = await audit.query({ actor: 'ann', limit: 3, before: page1.next });
    assert.equal(page2.items.length, 2);
    assert.equal(page2.next, null);
    assert.equal((await audit.query({ outcome: 'failed' })).items[0]?.actor, 'bob');
  });
});
