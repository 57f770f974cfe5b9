/**
 * Webhooks: a JSON POST over undici, signed with HMAC-SHA256 and a per-hook secret, with a timeout; redirects
 * are never followed (a 3xx is a failure); the destination is checked against an allow-list, at the URL and
 * again at the address the connection really goes to (so DNS cannot point an allowed name somewhere else).
 *
 * Signature: `X-PFCAM-Timestamp: <unix seconds>` and
 * `X-PFCAM-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`; `X-PFCAM-Delivery` carries
 * the delivery's idempotency key (the same on every retry). `verifyWebhookSignature` is the receiver's check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';
import { InputError, errorText } from '../errors';
import { DeliveryError } from './outbox';

export const SIGNATURE_HEADER = 'x-pfcam-signature';
export const TIMESTAMP_HEADER = 'x-pfcam-timestamp';
export const DELIVERY_HEADER = 'x-pfcam-delivery';

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The receiver's check: the signature matches the raw body and the timestamp is within `toleranceSeconds` of
 * now (replays of old deliveries are refused). Constant-time comparison.
 */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  timestampHeader: string | undefined,
  signatureHeader: string | undefined,
  options: { toleranceSeconds?: number; nowMs?: number } = {},
): boolean {
  if (!timestampHeader || !signatureHeader || !/^\d{1,12}$/.test(timestampHeader)) return false;
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - Number(timestampHeader)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestampHeader, body));
  const given = Buffer.from(signatureHeader);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

// ---- allow-list ----

/** Where a hook may post: host names (exact, or `*.suffix` for any subdomain) and address ranges (CIDR). */
export interface AllowList {
  hosts: string[];
  cidrs: string[];
}

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

function normaliseAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  return { address: bare, family: isIP(bare) === 6 ? 'ipv6' : 'ipv4' };
}

/** Loopback, private, link-local, shared, multicast or unspecified. */
export function isPrivateAddress(address: string): boolean {
  const a = normaliseAddress(address);
  return PRIVATE.check(a.address, a.family);
}

/** Parses an allow-list: entries separated by commas, spaces or new lines. Throws InputError on a bad entry. */
export function parseAllowList(text: string | readonly string[] | undefined): AllowList {
  const entries = (typeof text === 'string' ? text.split(/[\s,;]+/) : [...(text ?? [])])
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  const list: AllowList = { hosts: [], cidrs: [] };
  for (const entry of entries) {
    const cidr = /^([0-9a-f:.]+)\/(\d{1,3})$/i.exec(entry);
    if (cidr) {
      const [, net = '', bitsText = ''] = cidr;
      const family = isIP(net);
      const bits = Number(bitsText);
      if (family === 0 || bits > (family === 4 ? 32 : 128))
        throw new InputError(`allow-list: bad range "${entry}"`);
      list.cidrs.push(entry);
    } else if (/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(entry)) {
      list.hosts.push(entry);
    } else if (isIP(entry.replace(/^\[|\]$/g, '')) !== 0) {
      list.hosts.push(entry.replace(/^\[|\]$/g, ''));
    } else {
      throw new InputError(`allow-list: "${entry}" is neither a host, *.domain nor an address range`);
    }
  }
  return list;
}

function hostMatches(list: AllowList, host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return list.hosts.some((entry) => (entry.startsWith('*.') ? h.endsWith(entry.slice(1)) : entry === h));
}

function cidrBlock(list: AllowList): BlockList {
  const block = new BlockList();
  for (const c of list.cidrs) {
    const [net = '', bits = '0'] = c.split('/');
    block.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  }
  return block;
}

/**
 * Whether a connection to `address` (for URL host `host`) is allowed. Without an allow-list: public addresses
 * only. With one: a host listed by name may be at any address (private ones included, as plants post to
 * internal systems); any other host only at an address inside a listed range.
 */
export function isDestinationAllowed(list: AllowList, host: string, address: string): boolean {
  if (list.hosts.length === 0 && list.cidrs.length === 0) return !isPrivateAddress(address);
  if (hostMatches(list, host)) return true;
  const a = normaliseAddress(address);
  return cidrBlock(list).check(a.address, a.family);
}

function refused(host: string, list: AllowList): DeliveryError {
  const hint =
    list.hosts.length === 0 && list.cidrs.length === 0
      ? 'private and local addresses need the host in the allow-list'
      : 'not in the allow-list';
  return new DeliveryError('errors.webhookHostRefused', `webhook host ${host} refused: ${hint}`, false, {
    params: { host },
  });
}

// ---- sender ----

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  allow: AllowList;
  /** Deliveries to this hook are attempted at most this many times. */
  maxAttempts: number;
}

export interface WebhookResult {
  status: number;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

class HostRefused extends Error {
  readonly code = 'PFCAM_HOST_REFUSED';
}

function findInCauses(err: unknown, test: (e: unknown) => boolean): boolean {
  let e: unknown = err;
  for (let i = 0; i < 6 && e; i++) {
    if (test(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Posts deliveries to one webhook. */
export class WebhookSender {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(
    private readonly options: WebhookOptions,
    resolver: Lookup = dnsLookup,
  ) {
    this.url = new URL(options.url);
    const allow = options.allow;
    const host = this.url.hostname;
    const guardedLookup: Lookup = (hostname, lookupOptions, callback) => {
      resolver(hostname, lookupOptions, (err, address, family) => {
        if (err) return callback(err, address, family);
        const list: LookupAddress[] = Array.isArray(address)
          ? address
          : [{ address, family: family ?? (isIP(address) === 6 ? 6 : 4) }];
        const ok = list.filter((a) => isDestinationAllowed(allow, host, a.address));
        if (ok.length === 0)
          return callback(new HostRefused(`${hostname} resolves to a refused address`), '', 4);
        if (Array.isArray(address)) return callback(null, ok);
        const first = ok[0]!;
        return callback(null, first.address, first.family);
      });
    };
    this.agent = new Agent({
      connect: { lookup: guardedLookup, timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  get maxAttempts(): number {
    return this.options.maxAttempts;
  }

  /** Posts `body` (JSON text), signed now; resolves on 2xx, rejects with a DeliveryError otherwise. */
  async post(body: string, deliveryId: string): Promise<WebhookResult> {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && !isDestinationAllowed(this.options.allow, host, host)) {
      throw refused(host, this.options.allow);
    }
    const timestamp = Math.floor(Date.now() / 1000);
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    try {
      const res = await request(this.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'node-red-pfcam-notify',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(this.options.secret, timestamp, body),
          [DELIVERY_HEADER]: deliveryId,
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      status = res.statusCode;
      headers = res.headers;
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    } catch (err) {
      if (findInCauses(err, (e) => e instanceof HostRefused)) throw refused(host, this.options.allow);
      const timedOut = findInCauses(
        err,
        (e) =>
          (e as { name?: string }).name === 'TimeoutError' ||
          /Timeout/i.test((e as { code?: string }).code ?? '') ||
          (e as { name?: string }).name === 'AbortError',
      );
      if (timedOut) {
        throw new DeliveryError(
          'errors.webhookTimeout',
          `webhook ${host} did not answer within ${this.options.timeoutMs} ms`,
          true,
          {
            cause: err,
            params: { host },
          },
        );
      }
      throw new DeliveryError(
        'errors.webhookUnreachable',
        `webhook ${host} unreachable: ${errorText(err)}`,
        true,
        {
          cause: err,
          params: { host },
        },
      );
    }
    if (status >= 200 && status < 300) return { status };
    if (status >= 300 && status < 400) {
      throw new DeliveryError(
        'errors.webhookRedirect',
        `webhook ${host} answered ${status} (a redirect); redirects are never followed: set the final URL`,
        false,
        { params: { host, status } },
      );
    }
    const retryable = status >= 500 || status === 429 || status === 408;
    throw new DeliveryError('errors.webhookStatus', `webhook ${host} answered ${status}`, retryable, {
      params: { host, status },
      retryAfterMs: retryable ? retryAfterMs(headers['retry-after']) : undefined,
    });
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}
