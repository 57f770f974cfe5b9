/**
 * AES-256-GCM encryption of secrets at rest (TOTP secrets) with a key that lives outside the database: the
 * `auth-key` file beside the credential secret in the data folder (mode 0600, generated once), or the
 * `PFCAM_AUTH_KEY` environment variable (64 hex characters).
 */
import { createCipheriv, createDecipheriv, randomBytes, createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the auth key must be 32 bytes');
  }

  /** The key from PFCAM_AUTH_KEY, else `<dataDir>/auth-key`, created on first use. */
  static forDataDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
    const fromEnv = env['PFCAM_AUTH_KEY'];
    if (fromEnv) {
      if (!/^[0-9a-fA-F]{64}$/.test(fromEnv.trim()))
        throw new Error('PFCAM_AUTH_KEY must be 64 hex characters');
      return new SecretBox(Buffer.from(fromEnv.trim(), 'hex'));
    }
    const file = join(dataDir, 'auth-key');
    try {
      return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dataDir, { recursive: true });
      const key = randomBytes(32);
      try {
        writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
        return new SecretBox(key);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
      }
    }
  }

  /** A key for another purpose (`label`), derived from this one: never the key itself. */
  derive(label: string): string {
    return createHmac('sha256', this.key).update(`pfcam:${label}`).digest('base64url');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
  }

  open(sealed: string): string {
    const [v, iv, tag, data] = sealed.split(':');
    if (v !== 'v1' || !iv || !tag || data === undefined) throw new Error('malformed sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  }
}
