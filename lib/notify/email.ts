/**
 * Email over SMTP (nodemailer): one transport per SMTP config, STARTTLS / TLS / plain, credentials kept out of
 * every error text, SMTP failures classified into retry-later and give-up, the thumbnail inline by cid and
 * read only from inside the media folder.
 */
import { realpath, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { errorText } from '../errors';
import { DeliveryError } from './outbox';

export const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export interface SmtpOptions {
  host: string;
  port: number;
  /** `starttls`: upgrade required (never log in over plain text); `tls`: TLS from the start; `none`: plain. */
  security: SmtpSecurity;
  user: string;
  password: string;
  /** The From address, e.g. `PFCAM <alerts@plant.example>`. */
  from: string;
  /** Verify the server's certificate (turn off only for a self-signed server on a trusted network). */
  tlsVerify: boolean;
  /** Connection, greeting and socket timeout, ms. */
  timeoutMs: number;
}

/** One email, rendered. */
export interface EmailMessage {
  to: string;
  toName?: string;
  subject: string;
  text: string;
  html: string;
  /** Message-ID without the angle brackets; the outbox's idempotency key, so a receiver can drop a repeat. */
  messageId: string;
  /** An inline image the HTML references as `cid:<cid>`. */
  inline?: { cid: string; path: string; filename: string };
}

export interface SentEmail {
  messageId: string;
  response: string;
}

const PERMANENT_CODES = new Set([550, 551, 552, 553, 554, 501, 503, 504, 521, 556]);

/**
 * Turns a nodemailer failure into a DeliveryError: refused recipients and messages (5xx on the envelope or the
 * data) are final; connection, timeout, TLS and 4xx failures are retried; a refused login is retried too (the
 * message must not be lost while someone fixes the password) and carries its own key for the status.
 */
export function classifySmtpError(err: unknown, secrets: readonly string[] = []): DeliveryError {
  const e = err as { code?: string; responseCode?: number; command?: string; message?: string };
  let text = errorText(err);
  for (const s of secrets) if (s !== '') text = text.split(s).join('***');
  const code = e.code ?? '';
  const rc = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code === 'EAUTH' || code === 'ENOAUTH' || rc === 535 || rc === 534 || rc === 530) {
    return new DeliveryError('errors.smtpAuth', `SMTP login refused: ${text}`, true, { cause: err });
  }
  if (code === 'ETLS' || code === 'EREQUIRETLS' || /certificate|self[- ]signed|TLS|SSL/i.test(text)) {
    return new DeliveryError('errors.smtpTls', `SMTP TLS failed: ${text}`, true, { cause: err });
  }
  if (
    rc !== undefined &&
    rc >= 500 &&
    (code === 'EENVELOPE' || code === 'EMESSAGE' || PERMANENT_CODES.has(rc))
  ) {
    return new DeliveryError('errors.smtpRejected', `SMTP server refused the message: ${text}`, false, {
      cause: err,
    });
  }
  if (
    ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL'].includes(code)
  ) {
    return new DeliveryError('errors.smtpUnreachable', `SMTP server unreachable: ${text}`, true, {
      cause: err,
    });
  }
  return new DeliveryError('errors.smtpFailed', `SMTP delivery failed: ${text}`, true, { cause: err });
}

/** Sends emails through one SMTP server. */
export class EmailSender {
  private readonly transport: Transporter;

  constructor(private readonly options: SmtpOptions) {
    this.transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure: options.security === 'tls',
      requireTLS: options.security === 'starttls',
      ignoreTLS: options.security === 'none',
      auth: options.user !== '' ? { user: options.user, pass: options.password } : undefined,
      tls: {
        rejectUnauthorized: options.tlsVerify,
        ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
      },
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs * 3,
      disableFileAccess: false,
      disableUrlAccess: true,
      logger: false,
    });
  }

  get from(): string {
    return this.options.from;
  }

  /** Sends one message; resolves once the server accepted it, rejects with a DeliveryError. */
  async send(mail: EmailMessage): Promise<SentEmail> {
    try {
      const info = (await this.transport.sendMail({
        from: this.options.from,
        to: mail.toName ? { name: mail.toName, address: mail.to } : mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: `<${mail.messageId}>`,
        attachments: mail.inline
          ? [
              {
                filename: mail.inline.filename,
                path: mail.inline.path,
                cid: mail.inline.cid,
                contentDisposition: 'inline',
              },
            ]
          : [],
      })) as { messageId?: string; response?: string; rejected?: unknown[] };
      if (Array.isArray(info.rejected) && info.rejected.length > 0) {
        throw Object.assign(new Error(`recipient refused: ${mail.to}`), {
          code: 'EENVELOPE',
          responseCode: 550,
        });
      }
      return { messageId: info.messageId ?? `<${mail.messageId}>`, response: info.response ?? '' };
    } catch (err) {
      throw err instanceof DeliveryError ? err : classifySmtpError(err, [this.options.password]);
    }
  }

  /** Connects and logs in without sending (the config node's check). */
  async verify(): Promise<void> {
    try {
      await this.transport.verify();
    } catch (err) {
      throw classifySmtpError(err, [this.options.password]);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * The thumbnail to attach, as an absolute path inside `mediaDir`, or null. `path` may be absolute or relative
 * to the media folder; anything resolving outside it (`..`, another folder, a symlink out) is refused.
 */
export async function resolveMediaFile(
  mediaDir: string | undefined,
  path: string | undefined,
): Promise<string | null> {
  if (!mediaDir || !path) return null;
  const root = resolve(mediaDir);
  const candidate = isAbsolute(path) ? resolve(path) : resolve(root, path);
  const inside = (base: string, p: string): boolean => {
    const rel = relative(base, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..');
  };
  if (!inside(root, candidate)) return null;
  try {
    const [realRoot, realFile] = await Promise.all([realpath(root), realpath(candidate)]);
    if (!inside(realRoot, realFile)) return null;
    const st = await stat(realFile);
    return st.isFile() ? realFile : null;
  } catch {
    return null;
  }
}
