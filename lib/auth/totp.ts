/**
 * TOTP (RFC 6238, 30 s steps, 6 digits, SHA-1: what authenticator apps use) over otplib 13. A code is accepted in
 * the current step or one step either side; `matchStep` returns the step it matched so the caller can store it and
 * refuse the same or an older step next time (a code is never accepted twice).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { generateSecret, generateSync, generateURI } from 'otplib';

export const TOTP_PERIOD = 30;
export const RECOVERY_CODE_COUNT = 10;

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(secret: string, user: string, issuer = 'PFCAM'): string {
  return generateURI({ issuer, label: user, secret });
}

/** The code of a secret at a time (seconds): for tests and the CLI. */
export function totpCode(secret: string, epochSeconds = Date.now() / 1000): string {
  return generateSync({ secret, epoch: Math.floor(epochSeconds) });
}

/**
 * The time step the code matches (current, previous or next), or undefined. Steps at or before `lastStep` are never
 * accepted (replay).
 */
export function matchStep(
  secret: string,
  code: string,
  lastStep: number | null,
  epochSeconds = Date.now() / 1000,
): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = Math.floor(epochSeconds / TOTP_PERIOD);
  let found: number | undefined;
  for (const step of [now - 1, now, now + 1]) {
    const expected = generateSync({ secret, epoch: step * TOTP_PERIOD });
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code)) && found === undefined) found = step;
  }
  if (found === undefined) return undefined;
  if (lastStep !== null && found <= lastStep) return undefined;
  return found;
}

/** Ten recovery codes like `abcd-efgh-jkmn`, shown once. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(12);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
}

/** Recovery codes are long random strings: a SHA-256 hash is enough (no brute force over them is feasible). */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.trim().toLowerCase().replace(/\s+/g, '')).digest('hex');
}
