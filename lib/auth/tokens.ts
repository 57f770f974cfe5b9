/**
 * API tokens for plant systems (owner of `auth_tokens`): random, shown once, stored as a SHA-256 hash, with scopes
 * from TOKEN_SCOPES and an optional camera scope; revocable; the last use is recorded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InputError } from '../errors';
import type { Database } from '../store/database';
import { TOKEN_SCOPES, type Permission, type Principal } from './permissions';

export const TOKEN_PREFIX = 'pfc_';

export interface ApiToken {
  readonly id: number;
  readonly label: string;
  readonly scopes: readonly Permission[];
  readonly cameras: readonly string[] | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

interface Row {
  id: number;
  label: string;
  token_hash: string;
  scopes: string;
  cameras: string | null;
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function toToken(r: Row): ApiToken {
  return {
    id: r.id,
    label: r.label,
    scopes: JSON.parse(r.scopes) as Permission[],
    cameras: r.cameras === null ? null : (JSON.parse(r.cameras) as string[]),
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export class Tokens {
  private constructor(private readonly db: Database) {}

  static async open(db: Database): Promise<Tokens> {
    await db.migrate('auth-tokens', [
      {
        version: 1,
        description: 'api tokens',
        up: `CREATE TABLE auth_tokens (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               label TEXT NOT NULL,
               token_hash TEXT NOT NULL UNIQUE,
               scopes TEXT NOT NULL,
               cameras TEXT,
               created_by TEXT NOT NULL,
               created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               last_used_at TEXT,
               revoked_at TEXT)`,
      },
    ]);
    return new Tokens(db);
  }

  /** Creates a token; the secret is returned here only. */
  async create(input: {
    label: string;
    scopes: readonly string[];
    cameras?: readonly string[] | null;
    createdBy: string;
  }): Promise<{ token: string; info: ApiToken }> {
    if (typeof input.label !== 'string' || input.label.trim() === '' || input.label.length > 100)
      throw new InputError('a token needs a label of 1 to 100 characters');
    if (!Array.isArray(input.scopes) || input.scopes.length === 0)
      throw new InputError('a token needs at least one scope');
    const scopes: readonly unknown[] = input.scopes;
    for (const s of scopes)
      if (typeof s !== 'string' || !(TOKEN_SCOPES as readonly string[]).includes(s))
        throw new InputError(`unknown token scope ${String(s)}; allowed: ${TOKEN_SCOPES.join(', ')}`);
    const cameras: unknown = input.cameras ?? null;
    if (
      cameras !== null &&
      (!Array.isArray(cameras) || !cameras.every((c: unknown) => typeof c === 'string'))
    )
      throw new InputError('cameras must be null or a list of serial numbers');
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const r = await this.db.run(
      'INSERT INTO auth_tokens (label, token_hash, scopes, cameras, created_by) VALUES (?, ?, ?, ?, ?)',
      [
        input.label.trim(),
        hashToken(token),
        JSON.stringify([...new Set(input.scopes)]),
        cameras === null ? null : JSON.stringify(cameras),
        input.createdBy,
      ],
    );
    const row = await this.db.get<Row>('SELECT * FROM auth_tokens WHERE id = ?', [r.lastID]);
    return { token, info: toToken(row as Row) };
  }

  /** The principal of a live token (its last use recorded), or undefined. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    const row = await this.db.get<Row>(
      'SELECT * FROM auth_tokens WHERE token_hash = ? AND revoked_at IS NULL',
      [hashToken(token)],
    );
    if (!row) return undefined;
    await this.db.run(
      "UPDATE auth_tokens SET last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
      [row.id],
    );
    const t = toToken(row);
    return { kind: 'token', id: t.id, name: t.label, scopes: t.scopes, cameras: t.cameras };
  }

  async list(): Promise<ApiToken[]> {
    return (await this.db.all<Row>('SELECT * FROM auth_tokens ORDER BY id')).map(toToken);
  }

  async revoke(id: number): Promise<boolean> {
    const r = await this.db.run(
      "UPDATE auth_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ? AND revoked_at IS NULL",
      [id],
    );
    return r.changes === 1;
  }
}
