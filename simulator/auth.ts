/**
 * Optional HTTP authentication of a simulated camera: Basic, or Digest (RFC 7616, MD5, qop=auth) with
 * server nonces that a restart forgets (a request with a forgotten nonce gets `stale=true`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface AuthConfig {
  scheme: 'basic' | 'digest';
  username: string;
  password: string;
}

export type AuthResult = { ok: true } | { ok: false; challenge: string };

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Parses `key=value, key="quoted value"` pairs of a Digest Authorization header. */
export function parseDigestParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const key = (match[1] ?? '').toLowerCase();
    params[key] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : (match[3] ?? '');
  }
  return params;
}

export class Authenticator {
  private readonly nonces = new Map<string, number>();
  private readonly opaque = randomBytes(8).toString('hex');

  constructor(
    private readonly config: AuthConfig,
    private readonly realm: string,
  ) {}

  /** Forgets every nonce (as a camera does when it restarts). */
  reset(): void {
    this.nonces.clear();
  }

  check(method: string, uri: string, header: string | undefined): AuthResult {
    if (this.config.scheme === 'basic') return this.checkBasic(header);
    return this.checkDigest(method, uri, header);
  }

  private checkBasic(header: string | undefined): AuthResult {
    const challenge = `Basic realm="${this.realm}", charset="UTF-8"`;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) return { ok: false, challenge };
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { ok: false, challenge };
    const ok =
      same(decoded.slice(0, colon), this.config.username) &&
      same(decoded.slice(colon + 1), this.config.password);
    return ok ? { ok: true } : { ok: false, challenge };
  }

  private newChallenge(stale: boolean): string {
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, Date.now());
    if (this.nonces.size > 1000) {
      const oldest = this.nonces.keys().next();
      if (!oldest.done) this.nonces.delete(oldest.value);
    }
    return (
      `Digest realm="${this.realm}", qop="auth", algorithm=MD5, nonce="${nonce}", opaque="${this.opaque}"` +
      (stale ? ', stale=true' : '')
    );
  }

  private checkDigest(method: string, uri: string, header: string | undefined): AuthResult {
    const match = /^Digest\s+(.*)$/is.exec(header ?? '');
    if (!match?.[1]) return { ok: false, challenge: this.newChallenge(false) };
    const p = parseDigestParams(match[1]);
    const { username, realm, nonce, uri: digestUri, qop, nc, cnonce, response } = p;
    const algorithm = (p.algorithm ?? 'MD5').toUpperCase();
    if (
      username === undefined ||
      realm !== this.realm ||
      nonce === undefined ||
      digestUri !== uri ||
      qop !== 'auth' ||
      nc === undefined ||
      cnonce === undefined ||
      response === undefined ||
      algorithm !== 'MD5' ||
      !same(username, this.config.username)
    ) {
      return { ok: false, challenge: this.newChallenge(false) };
    }
    const ha1 = md5(`${this.config.username}:${this.realm}:${this.config.password}`);
    const ha2 = md5(`${method}:${digestUri}`);
    const expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    if (!same(response.toLowerCase(), expected)) return { ok: false, challenge: this.newChallenge(false) };
    // Right password, but a nonce this camera did not issue (or forgot when it restarted): stale.
    if (!this.nonces.has(nonce)) return { ok: false, challenge: this.newChallenge(true) };
    return { ok: true };
  }
}
