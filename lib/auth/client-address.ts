/**
 * The client's address of a request, for the audit log and the login rate limits. A proxy in front (nginx) makes
 * every request come from its own address and says who the client is in `X-Forwarded-For`; that header is only
 * believed when the peer that sent it is a trusted proxy, since any client can write one. Walking the header
 * from the right (each proxy appends the address it saw), the client is the right-most address that is not a
 * trusted proxy.
 */
import { BlockList, isIP } from 'node:net';
import { InputError } from '../errors';

/** The proxies whose X-Forwarded-For is believed. */
export interface TrustedProxies {
  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6) is one of the trusted proxies. */
  has(address: string): boolean;
  /** The list as given, for messages. */
  readonly source: string;
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** An address in its plain form: IPv4-mapped IPv6 as IPv4, no brackets, no zone; '' when it is not an address. */
export function normalizeAddress(text: string): string {
  let a = text.trim();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    a = end > 0 ? a.slice(1, end) : '';
  } else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':')); // IPv4 with a port
  const zone = a.indexOf('%');
  if (zone > 0) a = a.slice(0, zone);
  const mapped = IPV4_MAPPED.exec(a);
  if (mapped) a = mapped[1]!;
  return isIP(a) === 0 ? '' : a.toLowerCase();
}

/**
 * Parses a trusted proxy list: addresses and CIDR ranges (IPv4 or IPv6) separated by commas or spaces, and the
 * keyword `loopback` (127.0.0.0/8 and ::1). Empty: no proxy is trusted. Throws an InputError naming the entry
 * that is neither.
 */
export function parseTrustedProxies(spec: string | undefined): TrustedProxies {
  const list = new BlockList();
  const source = (spec ?? '').trim();
  let empty = true;
  for (const entry of source.split(/[\s,]+/).filter((e) => e !== '')) {
    empty = false;
    if (entry.toLowerCase() === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const slash = entry.indexOf('/');
    const address = normalizeAddress(slash < 0 ? entry : entry.slice(0, slash));
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const bitsText = slash < 0 ? undefined : entry.slice(slash + 1);
    const bits = bitsText === undefined ? undefined : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (address === '' || (bits !== undefined && !(bits <= (family === 'ipv6' ? 128 : 32))))
      throw new InputError(`PFCAM_TRUSTED_PROXIES: "${entry}" is not an address, a CIDR range or "loopback"`);
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, bits, family);
  }
  return {
    source,
    has(address: string): boolean {
      if (empty) return false;
      const a = normalizeAddress(address);
      if (a === '') return false;
      return list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/** The trusted proxies of the environment (`PFCAM_TRUSTED_PROXIES`, default none). */
export function trustedProxiesFromEnv(env: NodeJS.ProcessEnv = process.env): TrustedProxies {
  return parseTrustedProxies(env['PFCAM_TRUSTED_PROXIES']);
}

/**
 * The client's address: the socket's peer unless it is a trusted proxy; then, walking X-Forwarded-For from the
 * right, the first address that is not a trusted proxy. An entry that is not an address ends the walk at the
 * trusted proxy that sent it (its word is not taken further); when every entry is a trusted proxy, the
 * left-most one. Addresses come back in plain form (IPv4-mapped IPv6 as IPv4). No socket address: ''.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trusted: TrustedProxies,
): string {
  const peer = socketAddress === undefined ? '' : normalizeAddress(socketAddress) || socketAddress;
  if (peer === '' || !trusted.has(peer)) return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const hops = String(header)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  let current = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]!);
    if (hop === '') return current;
    current = hop;
    if (!trusted.has(hop)) return hop;
  }
  return current;
}
