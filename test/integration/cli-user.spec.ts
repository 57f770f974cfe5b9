import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../lib/auth/audit';
import { SecretBox } from '../../lib/auth/secret-box';
import { SessionTable } from '../../lib/auth/session-store';
import { Users } from '../../lib/auth/users';
import { Database } from '../../lib/store/database';

const CLI = join(__dirname, '..', '..', 'cli', 'pfcam.ts');

function pfcam(
  dataDir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'tsx/cjs', CLI, 'user', ...args],
      { env: { ...process.env, PFCAM_DATA: dataDir }, timeout: 30000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('pfcam user command (real process, real SQLite)', function () {
  this.timeout(60000);
  let dir: string;
  let data: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-cli-'));
    data = join(dir, 'data');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function withDb<T>(
    fn: (users: Users, sessions: SessionTable, audit: AuditLog) => Promise<T>,
  ): Promise<T> {
    const db = await Database.open(join(data, 'pfcam.sqlite'));
    try {
      return await fn(
        await Users.open(db, SecretBox.forDataDir(data)),
        await SessionTable.open(db, {}),
        await AuditLog.open(db),
      );
    } finally {
      await db.close();
    }
  }

  it('adds a user with a role and camera scope, prints a working one-time password once, and lists the user', async () => {
    const add = await pfcam(data, 'add', 'alice', '--role', 'manager', '--cameras', 'S1,S2');
    assert.equal(add.code, 0, add.stderr);
    const password = /one-time password[^:]*: (\S+)/.exec(add.stdout)?.[1];
    assert.ok(password, add.stdout);
    await withDb(async (users) => {
      const u = await users.checkPassword('alice', password);
      assert.ok(u);
      assert.equal(u.role, 'manager');
      assert.deepEqual(u.cameras, ['S1', 'S2']);
      assert.equal(u.mustChangePassword, true);
    });
    const list = await pfcam(data, 'list');
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^alice\tmanager\tcameras S1,S2\tno totp\tenabled$/m);
    assert.ok(!list.stdout.includes(password), 'list never prints a password');
  });

  it('refuses an unknown role, a duplicate name and a missing user with a non-zero exit and a message', async () => {
    const role = await pfcam(data, 'add', 'bob', '--role', 'boss');
    assert.equal(role.code, 2);
    assert.match(role.stderr, /--role must be one of admin, manager, viewer/);
    const dup = await pfcam(data, 'add', 'alice', '--role', 'viewer');
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /exists already/);
    const missing = await pfcam(data, 'passwd', 'nobody');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no user named nobody/);
  });

  it('passwd sets a new one-time password and ends the sessions; reset-mfa clears TOTP and ends the sessions; remove deletes', async () => {
    const aliceId = await withDb(async (users, sessions) => {
      const u = (await users.byName('alice'))!;
      await sessions.set('sid-a', { userId: u.id, mfa: true });
      return u.id;
    });
    const pw = await pfcam(data, 'passwd', 'alice');
    assert.equal(pw.code, 0, pw.stderr);
    const password = /: (\S+)$/m.exec(pw.stdout)?.[1];
    await withDb(async (users, sessions) => {
      assert.ok(await users.checkPassword('alice', password ?? ''));
      assert.equal((await sessions.listForUser(aliceId)).length, 0);
      await users.beginEnrolment(aliceId);
      await sessions.set('sid-b', { userId: aliceId, mfa: true });
    });
    assert.equal((await pfcam(data, 'reset-mfa', 'alice')).code, 0);
    await withDb(async (users, sessions) => {
      assert.equal((await users.byId(aliceId))?.mfaEnrolled, false);
      assert.equal((await sessions.listForUser(aliceId)).length, 0);
    });
    const rm1 = await pfcam(data, 'remove', 'alice');
    assert.equal(rm1.code, 0, rm1.stderr);
    await withDb(async (users, _s, audit) => {
      assert.equal(await users.byName('alice'), undefined);
      const actions = (await audit.query({ actor: 'cli' })).items.map((r) => r.action);
      assert.deepEqual(actions, ['user.delete', 'user.reset-mfa', 'user.passwd', 'user.create']);
    });
  });
});
