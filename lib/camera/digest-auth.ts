/**
 * HTTP authentication for cameras: Basic, and Digest (RFC 7616 / RFC 2617) with qop=auth or the legacy
 * no-qop form, MD5 / SHA-256 and their `-sess` variants. A `DigestSession` keeps one challenge (nonce) and
 * counts `nc`, so that later requests authenticate up front without a 401 round trip.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` (one header or several; several challenges may also share one header, comma
 * separated). Scheme names are lower-cased, parameter names too.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  const texts = typeof header === 'string' ? [header] : header;
  const out: AuthChallenge[] = [];
  for (const text of texts) out.push(...parseOne(text));
  return out;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

function parseOne(text: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  let current: AuthChallenge | undefined;
  const skip = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === ',')) i++;
  };
  while (i < text.length) {
    skip();
    if (i >= text.length) break;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) {
      i++; // junk: step over it
      continue;
    }
    const token = m[0];
    let j = i + token.length;
    while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
    if (text[j] === '=' && current) {
      // auth-param
      j++;
      while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
      let value = '';
      if (text[j] === '"') {
        j++;
        while (j < text.length && text[j] !== '"') {
          if (text[j] === '\\' && j + 1 < text.length) j++;
          value += text[j];
          j++;
        }
        j++; // closing quote
      } else {
        // a token (or token68 with '=' padding): up to the next comma
        const end = text.indexOf(',', j);
        value = text.slice(j, end === -1 ? text.length : end).trim();
        j = end === -1 ? text.length : end;
      }
      current.params[token.toLowerCase()] = value;
      i = j;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
      i = j;
    }
  }
  return out;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';
const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  md5: 'MD5',
  'md5-sess': 'MD5-sess',
  'sha-256': 'SHA-256',
  'sha-256-sess': 'SHA-256-sess',
};

/** Whether a challenge is a Digest challenge this module can answer. */
export function isUsableDigest(challenge: AuthChallenge): boolean {
  if (challenge.scheme !== 'digest') return false;
  const p = challenge.params;
  if (!p.nonce || p.realm === undefined) return false;
  if (ALGORITHMS[(p.algorithm ?? 'MD5').toLowerCase()] === undefined) return false;
  if (p.qop !== undefined && !qopList(p.qop).includes('auth')) return false;
  return true;
}

/** The best challenge to answer: Digest (SHA-256 first) over Basic; undefined when none is usable. */
export function pickChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | undefined {
  const digests = challenges.filter(isUsableDigest);
  const sha = digests.find((c) => (c.params.algorithm ?? '').toLowerCase().startsWith('sha-256'));
  return sha ?? digests[0] ?? challenges.find((c) => c.scheme === 'basic');
}

function qopList(qop: string): string[] {
  return qop.split(',').map((q) => q.trim().toLowerCase());
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** One Digest challenge and its nonce count. */
export class DigestSession {
  private nc = 0;
  readonly algorithm: DigestAlgorithm;
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly qop: 'auth' | undefined;

  constructor(challenge: AuthChallenge) {
    if (!isUsableDigest(challenge)) throw new TypeError('unusable Digest challenge');
    const p = challenge.params;
    this.algorithm = ALGORITHMS[(p.algorithm ?? 'MD5').toLowerCase()]!;
    this.realm = p.realm ?? '';
    this.nonce = p.nonce ?? '';
    this.opaque = p.opaque;
    this.qop = p.qop === undefined ? undefined : 'auth';
  }

  /** The `Authorization` header value for one request; each call uses the next `nc`. */
  authorize(
    method: string,
    uri: string,
    username: string,
    password: string,
    cnonce: string = randomBytes(12).toString('hex'),
  ): string {
    this.nc += 1;
    const nc = this.nc.toString(16).padStart(8, '0');
    const hashName = this.algorithm.startsWith('SHA-256') ? 'sha256' : 'md5';
    const h = (s: string): string => createHash(hashName).update(s, 'utf8').digest('hex');
    let ha1 = h(`${username}:${this.realm}:${password}`);
    if (this.algorithm.endsWith('-sess')) ha1 = h(`${ha1}:${this.nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const response = this.qop
      ? h(`${ha1}:${this.nonce}:${nc}:${cnonce}:${this.qop}:${ha2}`)
      : h(`${ha1}:${this.nonce}:${ha2}`);
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(this.realm)}`,
      `nonce=${quote(this.nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${this.algorithm}`,
      `response=${quote(response)}`,
    ];
    if (this.qop) parts.push(`qop=${this.qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    if (this.opaque !== undefined) parts.push(`opaque=${quote(this.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
