/**
 * The node configurations of the alerting (pfcam-notify, pfcam-smtp, pfcam-webhook) turned into readonly,
 * validated options: one pure function each, defaults included.
 */
import { InputError } from '../errors';
import { configOption, readBoolean, readInteger, readNumber, readString } from '../config/option-reader';
import { isValidTimeZone } from '../time/zoned-time';
import { SMTP_SECURITY, type SmtpOptions, type SmtpSecurity } from './email';
import {
  isEmailAddress,
  NOTIFICATION_KINDS,
  type MessageRecipient,
  type NotificationKind,
} from './notification';
import { DEFAULT_OUTBOX_OPTIONS, type OutboxOptions } from './outbox';
import { parseEmailTemplates, type EmailTemplates } from './templates';
import { parseAllowList, type WebhookOptions } from './webhook';

// ---- helpers ----

function numberIn(raw: object, name: string, dflt: number, min: number, max: number): number {
  return readNumber(configOption(raw, name), min, max, dflt);
}

function integerIn(raw: object, name: string, dflt: number, min: number, max: number): number {
  return readInteger(configOption(raw, name), min, max, dflt);
}

function text(raw: object, name: string): string {
  return readString(configOption(raw, name));
}

function bool(raw: object, name: string, dflt: boolean): boolean {
  return readBoolean(configOption(raw, name), dflt);
}

/** Parses a list of addresses (`a@x, B <b@y>` or one per line) into recipients. */
export function parseRecipientList(v: unknown, what = 'recipients'): MessageRecipient[] {
  const out: MessageRecipient[] = [];
  for (const part of readString(configOption({ [what]: v }, what), 100_000).split(/[,;\n]+/)) {
    const entry = part.trim();
    if (entry === '') continue;
    const named = /^(.*?)\s*<([^<>]+)>$/.exec(entry);
    const email = (named ? named[2] : entry)?.trim() ?? '';
    if (!isEmailAddress(email)) {
      throw new InputError(`${what}: "${entry}" is not an email address`, {
        key: 'errors.badOption',
        params: { option: what },
      });
    }
    const name = named?.[1]?.replace(/^"|"$/g, '').trim();
    out.push(name ? { email, name } : { email });
  }
  return out;
}

// ---- pfcam-notify ----

/** pfcam-notify's properties as the editor saves them. */
export interface RawNotifyConfig {
  name?: string;
  store?: string;
  smtp?: string;
  webhook?: string;
  site?: string;
  timeZone?: string;
  dashboardUrl?: string;
  /** Kinds to notify: an array or a comma-separated list; empty: all. */
  kinds?: string | string[];
  /** Cooldown window, seconds (0: off). */
  cooldown?: number | string;
  dashboard?: boolean | string;
  recipients?: string;
  useRecipientTable?: boolean | string;
  subjectTemplate?: string;
  textTemplate?: string;
  htmlTemplate?: string;
  /** Attempts per email delivery. */
  maxAttempts?: number | string;
  /** First retry delay, seconds. */
  retryDelay?: number | string;
  /** Give up on a delivery after this many hours. */
  maxAge?: number | string;
}

export interface NotifyOptions {
  readonly site: string;
  readonly timeZone: string;
  readonly dashboardUrl: string;
  readonly kinds: ReadonlySet<NotificationKind>;
  readonly cooldownMs: number;
  readonly dashboard: boolean;
  readonly recipients: readonly MessageRecipient[];
  readonly useRecipientTable: boolean;
  readonly templates: EmailTemplates;
  readonly emailMaxAttempts: number;
  readonly outbox: Readonly<OutboxOptions>;
}

export function parseNotifyOptions(
  raw: RawNotifyConfig,
  defaults: { timeZone?: string } = {},
): NotifyOptions {
  const site = text(raw, 'site') || 'PFCAM';
  const timeZone =
    text(raw, 'timeZone') || defaults.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  if (!isValidTimeZone(timeZone)) {
    throw new InputError(`time zone "${timeZone}" is not an IANA zone name (e.g. Europe/Berlin)`, {
      key: 'errors.badOption',
      params: { option: 'timeZone' },
    });
  }
  const dashboardUrl = text(raw, 'dashboardUrl').replace(/\/+$/, '');
  if (dashboardUrl !== '' && !/^https?:\/\/[^\s]+$/i.test(dashboardUrl)) {
    throw new InputError('dashboard URL must start with http:// or https://', {
      key: 'errors.badOption',
      params: { option: 'dashboardUrl' },
    });
  }
  const kindList = (Array.isArray(raw.kinds) ? raw.kinds : text(raw, 'kinds').split(/[,\s]+/))
    .map((k) => k.trim())
    .filter((k) => k !== '');
  for (const k of kindList) {
    if (!(NOTIFICATION_KINDS as readonly string[]).includes(k)) {
      throw new InputError(`unknown kind "${k}"; kinds are ${NOTIFICATION_KINDS.join(', ')}`, {
        key: 'errors.badOption',
        params: { option: 'kinds' },
      });
    }
  }
  let templates: EmailTemplates;
  try {
    templates = parseEmailTemplates({
      subject: raw.subjectTemplate,
      text: raw.textTemplate,
      html: raw.htmlTemplate,
    });
  } catch (err) {
    throw new InputError((err as Error).message, { key: 'errors.notifyTemplate' });
  }
  const retryDelayMs =
    numberIn(raw, 'retryDelay', DEFAULT_OUTBOX_OPTIONS.baseDelayMs / 1000, 0.01, 3600) * 1000;
  return {
    site,
    timeZone,
    dashboardUrl,
    kinds: new Set(kindList.length > 0 ? (kindList as NotificationKind[]) : NOTIFICATION_KINDS),
    cooldownMs: numberIn(raw, 'cooldown', 60, 0, 24 * 3600) * 1000,
    dashboard: bool(raw, 'dashboard', true),
    recipients: parseRecipientList(raw.recipients),
    useRecipientTable: bool(raw, 'useRecipientTable', true),
    templates,
    emailMaxAttempts: integerIn(raw, 'maxAttempts', 50, 1, 10_000),
    outbox: {
      ...DEFAULT_OUTBOX_OPTIONS,
      baseDelayMs: retryDelayMs,
      maxDelayMs: Math.max(retryDelayMs, DEFAULT_OUTBOX_OPTIONS.maxDelayMs),
      maxAgeMs: numberIn(raw, 'maxAge', 24, 0.001, 24 * 30) * 3600_000,
    },
  };
}

// ---- pfcam-smtp ----

export interface RawSmtpConfig {
  name?: string;
  host?: string;
  port?: number | string;
  security?: string;
  from?: string;
  tlsVerify?: boolean | string;
  timeout?: number | string;
}

export interface SmtpCredentials {
  user?: unknown;
  password?: unknown;
}

export function parseSmtpOptions(
  raw: RawSmtpConfig,
  credentials: SmtpCredentials = {},
): Readonly<SmtpOptions> {
  const host = text(raw, 'host');
  if (host === '' || /[\s/]/.test(host)) {
    throw new InputError('SMTP host is required (a name or address, no URL)', {
      key: 'errors.badOption',
      params: { option: 'host' },
    });
  }
  const security = (text(raw, 'security') || 'starttls') as SmtpSecurity;
  if (!SMTP_SECURITY.includes(security)) {
    throw new InputError(`SMTP security must be one of ${SMTP_SECURITY.join(', ')}`, {
      key: 'errors.badOption',
      params: { option: 'security' },
    });
  }
  const port = integerIn(raw, 'port', security === 'tls' ? 465 : 587, 1, 65535);
  const from = text(raw, 'from');
  const fromAddress = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from;
  if (!isEmailAddress(fromAddress)) {
    throw new InputError('SMTP From must be an email address, e.g. PFCAM <alerts@plant.example>', {
      key: 'errors.badOption',
      params: { option: 'from' },
    });
  }
  const user = text(credentials, 'user');
  const password = typeof credentials.password === 'string' ? credentials.password : '';
  if (password !== '' && user === '') {
    throw new InputError('SMTP password given without a user', {
      key: 'errors.badOption',
      params: { option: 'user' },
    });
  }
  return {
    host,
    port,
    security,
    user,
    password,
    from,
    tlsVerify: bool(raw, 'tlsVerify', true),
    timeoutMs: numberIn(raw, 'timeout', 20, 1, 600) * 1000,
  };
}

// ---- pfcam-webhook ----

export interface RawWebhookConfig {
  name?: string;
  url?: string;
  allowList?: string;
  timeout?: number | string;
  retries?: number | string;
}

export interface WebhookCredentials {
  secret?: unknown;
}

export function parseWebhookOptions(
  raw: RawWebhookConfig,
  credentials: WebhookCredentials = {},
): Readonly<WebhookOptions> {
  const url = text(raw, 'url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError('webhook URL is not a URL', { key: 'errors.badOption', params: { option: 'url' } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError('webhook URL must be http:// or https://', {
      key: 'errors.badOption',
      params: { option: 'url' },
    });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InputError('webhook URL must not carry credentials; the secret signs each request', {
      key: 'errors.badOption',
      params: { option: 'url' },
    });
  }
  const secret = typeof credentials.secret === 'string' ? credentials.secret : '';
  if (secret.length < 16) {
    throw new InputError('webhook secret must be at least 16 characters', {
      key: 'errors.badOption',
      params: { option: 'secret' },
    });
  }
  let allow;
  try {
    allow = parseAllowList(raw.allowList);
  } catch (err) {
    throw new InputError((err as Error).message, {
      key: 'errors.badOption',
      params: { option: 'allowList' },
    });
  }
  return {
    url: parsed.toString(),
    secret,
    timeoutMs: numberIn(raw, 'timeout', 10, 0.05, 300) * 1000,
    allow,
    maxAttempts: integerIn(raw, 'retries', 8, 0, 1000) + 1,
  };
}
