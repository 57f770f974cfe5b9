import { strict as assert } from 'node:assert';
import {
  clientAddress,
  normalizeAddress,
  parseTrustedProxies,
  trustedProxiesFromEnv,
} from '../../lib/auth/client-address';
import { InputError } from '../../lib/errors';

describe('client address behind trusted proxies', () => {
  it('trusts no proxy by default: a forged X-Forwarded-For changes nothing', () => {
    const none = trustedProxiesFromEnv({});
    assert.equal(clientAddress('127.0.0.1', '203.0.113.9', none), '127.0.0.1');
    assert.equal(clientAddress('198.51.100.4', '10.0.0.1', none), '198.51.100.4');
  });

  it('ignores a spoofed X-Forwarded-For sent by a peer that is not a trusted proxy', () => {
    const trusted = parseTrustedProxies('10.0.0.2');
    assert.equal(clientAddress('198.51.100.4', '1.2.3.4', trusted), '198.51.100.4');
    assert.equal(clientAddress('198.51.100.4', '10.0.0.2', trusted), '198.51.100.4');
  });

  it('takes the address a trusted proxy forwards', () => {
    const trusted = parseTrustedProxies('loopback');
    assert.equal(clientAddress('127.0.0.1', '198.51.100.4', trusted), '198.51.100.4');
    assert.equal(clientAddress('::1', '198.51.100.4', trusted), '198.51.100.4');
  });

  it('walks a chain through two trusted proxies to the right-most untrusted address', () => {
    const trusted = parseTrustedProxies('10.0.0.0/24, 192.168.5.7');
    // the client forged its first entry; the edge proxy 192.168.5.7 appended the address it saw
    assert.equal(clientAddress('10.0.0.3', '6.6.6.6, 198.51.100.4, 192.168.5.7', trusted), '198.51.100.4');
    // the header split over two lines is one list
    assert.equal(
      clientAddress('10.0.0.3', ['6.6.6.6, 198.51.100.4', '192.168.5.7'], trusted),
      '198.51.100.4',
    );
    // the second proxy is not trusted: it is the client as far as we can tell
    assert.equal(clientAddress('10.0.0.3', '198.51.100.4, 192.168.5.8', trusted), '192.168.5.8');
  });

  it('answers the left-most proxy when every hop is trusted, and the peer when there is no header', () => {
    const trusted = parseTrustedProxies('10.0.0.0/8');
    assert.equal(clientAddress('10.0.0.3', '10.1.1.1, 10.2.2.2', trusted), '10.1.1.1');
    assert.equal(clientAddress('10.0.0.3', undefined, trusted), '10.0.0.3');
    assert.equal(clientAddress('10.0.0.3', '', trusted), '10.0.0.3');
  });

  it('stops at a trusted proxy that forwards something that is not an address', () => {
    const trusted = parseTrustedProxies('loopback');
    assert.equal(clientAddress('127.0.0.1', 'unknown', trusted), '127.0.0.1');
    assert.equal(clientAddress('127.0.0.1', '198.51.100.4, <script>', trusted), '127.0.0.1');
  });

  it('handles IPv6 clients and proxies, and IPv4-mapped IPv6 peers as IPv4', () => {
    const trusted = parseTrustedProxies('2001:db8:1::/48 127.0.0.1');
    assert.equal(clientAddress('2001:db8:1::5', '2001:DB8:FFFF::9', trusted), '2001:db8:ffff::9');
    assert.equal(clientAddress('2001:db8:2::5', '198.51.100.4', trusted), '2001:db8:2::5');
    // Node reports an IPv4 peer on a dual-stack socket as ::ffff:a.b.c.d
    assert.equal(clientAddress('::ffff:127.0.0.1', '198.51.100.4', trusted), '198.51.100.4');
    assert.equal(clientAddress('::ffff:198.51.100.4', '1.2.3.4', trusted), '198.51.100.4');
    assert.equal(clientAddress('127.0.0.1', '[2001:db8:ffff::9]:4711', trusted), '2001:db8:ffff::9');
    assert.equal(clientAddress('127.0.0.1', '198.51.100.4:4711', trusted), '198.51.100.4');
    // a mapped entry in the trusted list matches the IPv4 peer
    assert.ok(parseTrustedProxies('::ffff:10.0.0.2').has('10.0.0.2'));
  });

  it('the loopback keyword covers 127.0.0.0/8 and ::1, and nothing else', () => {
    const trusted = parseTrustedProxies('loopback');
    assert.ok(trusted.has('127.0.0.1'));
    assert.ok(trusted.has('127.9.9.9'));
    assert.ok(trusted.has('::1'));
    assert.ok(trusted.has('::ffff:127.0.0.1'));
    assert.ok(!trusted.has('10.0.0.1'));
    assert.ok(!trusted.has('::2'));
  });

  it('refuses a trusted proxy list entry that is not an address, a range or "loopback"', () => {
    for (const bad of ['nginx', '10.0.0.0/33', '2001:db8::/129', '10.0.0.1/x', '300.1.1.1']) {
      assert.throws(
        () => parseTrustedProxies(bad),
        (err: unknown) => err instanceof InputError && err.message.includes(`"${bad}"`),
        bad,
      );
    }
  });

  it('normalizes addresses and rejects what is not one', () => {
    assert.equal(normalizeAddress(' ::FFFF:10.1.2.3 '), '10.1.2.3');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
    assert.equal(normalizeAddress('example.org'), '');
    assert.equal(normalizeAddress('[::1'), '');
  });
});
