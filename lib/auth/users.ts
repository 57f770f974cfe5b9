/**
 * The users table (owner of `auth_users` and `auth_recovery_codes`): accounts, roles, camera scope, password
 * hashes, TOTP enrolment (secret sealed with the auth key, last used step) and single-use recovery codes.
 */
import type { Database } from '../store/database';
import { InputError, PfcamError } from '../errors';
import { isRole, type Principal, type Role } from './permissions';
import { dummyVerify, hashPassword, passwordProblem, verifyPassword } from './passwords';
import type { SecretBox } from './secret-box';
import { hashRecoveryCode, matchStep, newRecoveryCodes, newTotpSecret } from './totp';

export interface User {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** Serial numbers this user may see; null = every camera. */
  readonly cameras: readonly string[] | null;
  readonly disabled: boolean;
  readonly mustChangePassword: boolean;
  /** True once TOTP enrolment is finished. */
  readonly mfaEnrolled: boolean;
  readonly createdAt: string;
}

interface UserRow {
  id: number;
  name: string;
  role: string;
  cameras: string | null;
  disabled: number;
  must_change_password: number;
  password_hash: string;
  totp_secret: string | null;
  totp_enrolled: number;
  totp_last_step: number | null;
  created_at: string;
}

export class NotFoundError extends PfcamError {
  constructor(message: string) {
    super('errors.notFound', message);
  }
}

export class ConflictError extends PfcamError {
  constructor(message: string) {
    super('errors.conflict', message);
  }
}

const NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function principalOf(user: User): Principal {
  return { kind: 'user', id: user.id, name: user.name, role: user.role, cameras: user.cameras };
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    role: isRole(row.role) ? row.role : 'viewer',
    cameras: row.cameras === null ? null : (JSON.parse(row.cameras) as string[]),
    disabled: row.disabled === 1,
    mustChangePassword: row.must_change_password === 1,
    mfaEnrolled: row.totp_enrolled === 1,
    createdAt: row.created_at,
  };
}

function checkCameras(cameras: unknown): readonly string[] | null {
  if (cameras === null || cameras === undefined) return null;
  if (
    !Array.isArray(cameras) ||
    !cameras.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 64)
  )
    throw new InputError('cameras must be null (every camera) or a list of serial numbers');
  return [...new Set(cameras as string[])];
}

export class Users {
  private constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {}

  static async open(db: Database, box: SecretBox): Promise<Users> {
    await db.migrate('auth-users', [
      {
        version: 1,
        description: 'users and recovery codes',
        up: `CREATE TABLE auth_users (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               name TEXT NOT NULL UNIQUE COLLATE NOCASE,
               role TEXT NOT NULL,
               cameras TEXT,
               disabled INTEGER NOT NULL DEFAULT 0,
               must_change_password INTEGER NOT NULL DEFAULT 0,
               password_hash TEXT NOT NULL,
               totp_secret TEXT,
               totp_enrolled INTEGER NOT NULL DEFAULT 0,
               totp_last_step INTEGER,
               created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
             CREATE TABLE auth_recovery_codes (
               user_id INTEGER NOT NULL REFERENCES auth_users(id) ON DELETE CASCADE,
               code_hash TEXT NOT NULL,
               used_at TEXT,
               PRIMARY KEY (user_id, code_hash));`,
      },
    ]);
    return new Users(db, box);
  }

  async create(input: {
    name: string;
    password: string;
    role: Role;
    cameras?: readonly string[] | null;
    mustChangePassword?: boolean;
    totpSecret?: string;
  }): Promise<User> {
    if (typeof input.name !== 'string' || !NAME_RE.test(input.name))
      throw new InputError('a user name has 1 to 64 letters, digits or . _ @ -');
    if (!isRole(input.role)) throw new InputError('the role must be admin, manager or viewer');
    const problem = passwordProblem(input.password);
    if (problem) throw new InputError(problem);
    const cameras = checkCameras(input.cameras);
    if (await this.byName(input.name)) throw new ConflictError(`the user ${input.name} exists already`);
    const hash = await hashPassword(input.password);
    const r = await this.db.run(
      `INSERT INTO auth_users (name, role, cameras, must_change_password, password_hash, totp_secret, totp_enrolled)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        input.name,
        input.role,
        cameras === null ? null : JSON.stringify(cameras),
        input.mustChangePassword ? 1 : 0,
        hash,
        input.totpSecret ? this.box.seal(input.totpSecret) : null,
        input.totpSecret ? 1 : 0,
      ],
    );
    return (await this.byId(r.lastID)) as User;
  }

  async byId(id: number): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM auth_users WHERE id = ?', [id]);
    return row ? toUser(row) : undefined;
  }

  async byName(name: string): Promise<User | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM auth_users WHERE name = ?', [name]);
    return row ? toUser(row) : undefined;
  }

  async list(): Promise<User[]> {
    return (await this.db.all<UserRow>('SELECT * FROM auth_users ORDER BY name')).map(toUser);
  }

  async countAdmins(): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM auth_users WHERE role = 'admin' AND disabled = 0",
    );
    return row?.n ?? 0;
  }

  /** The user when name and password match and the account is enabled; a dummy check otherwise. */
  async checkPassword(name: string, password: string): Promise<User | undefined> {
    const row =
      typeof name === 'string' && name.length <= 64
        ? await this.db.get<UserRow>('SELECT * FROM auth_users WHERE name = ?', [name])
        : undefined;
    if (typeof password !== 'string') return undefined;
    if (!row) {
      await dummyVerify(password);
      return undefined;
    }
    const ok = await verifyPassword(password, row.password_hash);
    return ok && row.disabled === 0 ? toUser(row) : undefined;
  }

  async setPassword(id: number, password: string, mustChange = false): Promise<void> {
    const problem = passwordProblem(password);
    if (problem) throw new InputError(problem);
    const hash = await hashPassword(password);
    const r = await this.db.run(
      'UPDATE auth_users SET password_hash = ?, must_change_password = ? WHERE id = ?',
      [hash, mustChange ? 1 : 0, id],
    );
    if (r.changes === 0) throw new NotFoundError('no such user');
  }

  async update(
    id: number,
    changes: { role?: Role; cameras?: readonly string[] | null; disabled?: boolean },
  ): Promise<User> {
    const user = await this.byId(id);
    if (!user) throw new NotFoundError('no such user');
    if (changes.role !== undefined && !isRole(changes.role))
      throw new InputError('the role must be admin, manager or viewer');
    const role = changes.role ?? user.role;
    const cameras = changes.cameras === undefined ? user.cameras : checkCameras(changes.cameras);
    const disabled = changes.disabled ?? user.disabled;
    if (
      user.role === 'admin' &&
      !user.disabled &&
      (role !== 'admin' || disabled) &&
      (await this.countAdmins()) <= 1
    )
      throw new ConflictError('the last enabled admin cannot be demoted or disabled');
    await this.db.run('UPDATE auth_users SET role = ?, cameras = ?, disabled = ? WHERE id = ?', [
      role,
      cameras === null ? null : JSON.stringify(cameras),
      disabled ? 1 : 0,
      id,
    ]);
    return (await this.byId(id)) as User;
  }

  async remove(id: number): Promise<void> {
    const user = await this.byId(id);
    if (!user) throw new NotFoundError('no such user');
    if (user.role === 'admin' && !user.disabled && (await this.countAdmins()) <= 1)
      throw new ConflictError('the last enabled admin cannot be deleted');
    await this.db.run('DELETE FROM auth_users WHERE id = ?', [id]);
  }

  /** Starts (or restarts) TOTP enrolment: a new secret, not active until `finishEnrolment`. */
  async beginEnrolment(id: number): Promise<string> {
    const secret = newTotpSecret();
    await this.db.run(
      'UPDATE auth_users SET totp_secret = ?, totp_enrolled = 0, totp_last_step = NULL WHERE id = ?',
      [this.box.seal(secret), id],
    );
    return secret;
  }

  /** Finishes enrolment when the code matches the pending secret; returns the new recovery codes. */
  async finishEnrolment(id: number, code: string, now = Date.now() / 1000): Promise<string[] | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM auth_users WHERE id = ?', [id]);
    if (!row?.totp_secret || row.totp_enrolled === 1) return undefined;
    const step = matchStep(this.box.open(row.totp_secret), String(code), row.totp_last_step, now);
    if (step === undefined) return undefined;
    await this.db.run('UPDATE auth_users SET totp_enrolled = 1, totp_last_step = ? WHERE id = ?', [step, id]);
    return this.regenerateRecoveryCodes(id);
  }

  /**
   * True when the code is a fresh TOTP code (stored as the last used step, in one conditional UPDATE so two
   * concurrent requests cannot both use it) or an unused recovery code (marked used).
   */
  async checkSecondFactor(
    id: number,
    code: string,
    now = Date.now() / 1000,
  ): Promise<'totp' | 'recovery' | undefined> {
    const row = await this.db.get<UserRow>('SELECT * FROM auth_users WHERE id = ?', [id]);
    if (!row?.totp_secret || row.totp_enrolled !== 1 || typeof code !== 'string') return undefined;
    const trimmed = code.trim();
    if (/^\d{6}$/.test(trimmed)) {
      const step = matchStep(this.box.open(row.totp_secret), trimmed, row.totp_last_step, now);
      if (step === undefined) return undefined;
      const r = await this.db.run(
        'UPDATE auth_users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)',
        [step, id, step],
      );
      return r.changes === 1 ? 'totp' : undefined;
    }
    if (trimmed.length > 64) return undefined;
    const r = await this.db.run(
      `UPDATE auth_recovery_codes SET used_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
       WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
      [id, hashRecoveryCode(trimmed)],
    );
    return r.changes === 1 ? 'recovery' : undefined;
  }

  async regenerateRecoveryCodes(id: number): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM auth_recovery_codes WHERE user_id = ?', [id]);
      for (const code of codes)
        await tx.run('INSERT INTO auth_recovery_codes (user_id, code_hash) VALUES (?, ?)', [
          id,
          hashRecoveryCode(code),
        ]);
    });
    return codes;
  }

  async unusedRecoveryCodes(id: number): Promise<number> {
    const row = await this.db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM auth_recovery_codes WHERE user_id = ? AND used_at IS NULL',
      [id],
    );
    return row?.n ?? 0;
  }

  /** Clears the user's TOTP and recovery codes: the next login enrols again. */
  async resetMfa(id: number): Promise<void> {
    const r = await this.db.run(
      'UPDATE auth_users SET totp_secret = NULL, totp_enrolled = 0, totp_last_step = NULL WHERE id = ?',
      [id],
    );
    if (r.changes === 0) throw new NotFoundError('no such user');
    await this.db.run('DELETE FROM auth_recovery_codes WHERE user_id = ?', [id]);
  }
}
