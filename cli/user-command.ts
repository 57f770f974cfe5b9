/**
 * `npm run pfcam -- user ...`: user administration from the shell, on the application's database
 * (`$PFCAM_DATA/pfcam.sqlite`, `./.pfcam-data` when PFCAM_DATA is not set). A generated password is printed once;
 * removing a user, resetting a password or the second factor ends the user's sessions.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditLog } from '../lib/auth/audit';
import { randomPassword } from '../lib/auth/passwords';
import { isRole, ROLES, type Role } from '../lib/auth/permissions';
import { SecretBox } from '../lib/auth/secret-box';
import { SessionTable } from '../lib/auth/session-store';
import { Users } from '../lib/auth/users';
import { errorText } from '../lib/errors';
import { Database } from '../lib/store/database';

const USAGE = [
  'usage: npm run pfcam -- user add NAME --role admin|manager|viewer [--cameras SERIAL1,SERIAL2]',
  '       npm run pfcam -- user passwd NAME',
  '       npm run pfcam -- user reset-mfa NAME',
  '       npm run pfcam -- user list',
  '       npm run pfcam -- user remove NAME',
].join('\n');

interface Opened {
  db: Database;
  users: Users;
  sessions: SessionTable;
  audit: AuditLog;
}

async function open(env: NodeJS.ProcessEnv): Promise<Opened> {
  const dataDir = resolve(env['PFCAM_DATA'] || '.pfcam-data');
  mkdirSync(dataDir, { recursive: true });
  const db = await Database.open(join(dataDir, 'pfcam.sqlite'));
  const users = await Users.open(db, SecretBox.forDataDir(dataDir, env));
  const sessions = await SessionTable.open(db, {});
  const audit = await AuditLog.open(db);
  return { db, users, sessions, audit };
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function run(
  args: readonly string[],
  out: (line: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const [sub, name] = args;
  const needsName = sub === 'add' || sub === 'passwd' || sub === 'reset-mfa' || sub === 'remove';
  if (sub === undefined || (sub !== 'list' && !needsName) || (needsName && !name)) {
    console.error(USAGE);
    return 2;
  }
  let role: Role | undefined;
  let cameras: string[] | null = null;
  if (sub === 'add') {
    const r = option(args, '--role');
    if (!isRole(r)) {
      console.error(`pfcam user add: --role must be one of ${ROLES.join(', ')}\n\n${USAGE}`);
      return 2;
    }
    role = r;
    const c = option(args, '--cameras');
    if (c !== undefined) {
      cameras = c
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (cameras.length === 0) {
        console.error('pfcam user add: --cameras needs at least one serial number');
        return 2;
      }
    }
  }
  const p = await open(env);
  const audit = (action: string, target: string, detail?: string): Promise<number> =>
    p.audit.append({ actor: 'cli', action, outcome: 'ok', target, detail });
  try {
    if (sub === 'list') {
      for (const u of await p.users.list())
        out(
          [
            u.name,
            u.role,
            u.cameras === null ? 'all cameras' : `cameras ${u.cameras.join(',')}`,
            u.mfaEnrolled ? 'totp' : 'no totp',
            u.disabled ? 'disabled' : 'enabled',
          ].join('\t'),
        );
      return 0;
    }
    if (sub === 'add') {
      const password = randomPassword();
      const user = await p.users.create({
        name: name as string,
        password,
        role: role as Role,
        cameras,
        mustChangePassword: true,
      });
      await audit('user.create', user.name, `role=${user.role}`);
      out(
        `user ${user.name} (${user.role}) created; one-time password (change it at first login): ${password}`,
      );
      return 0;
    }
    const user = await p.users.byName(name as string);
    if (!user) {
      console.error(`pfcam user ${sub}: no user named ${name}`);
      return 1;
    }
    if (sub === 'passwd') {
      const password = randomPassword();
      await p.users.setPassword(user.id, password, true);
      const ended = await p.sessions.revokeUser(user.id, 'password reset');
      await audit('user.passwd', user.name, `sessionsEnded=${ended}`);
      out(`new one-time password for ${user.name} (change it at next login): ${password}`);
    } else if (sub === 'reset-mfa') {
      await p.users.resetMfa(user.id);
      const ended = await p.sessions.revokeUser(user.id, 'mfa reset');
      await audit('user.reset-mfa', user.name, `sessionsEnded=${ended}`);
      out(`second factor of ${user.name} reset: TOTP is enrolled again at the next login`);
    } else {
      await p.users.remove(user.id);
      const ended = await p.sessions.revokeUser(user.id, 'user deleted');
      await audit('user.delete', user.name, `sessionsEnded=${ended}`);
      out(`user ${user.name} removed`);
    }
    return 0;
  } catch (err) {
    console.error(`pfcam user ${sub}: ${errorText(err)}`);
    return 1;
  } finally {
    await p.db.close();
  }
}

export const command = {
  summary: 'manage dashboard users: add, passwd, reset-mfa, list, remove',
  run: (args: readonly string[]): Promise<number> => run(args, (line) => console.log(line), process.env),
};
