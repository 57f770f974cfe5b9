import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import {
  isDestinationAllowed,
  isPrivateAddress,
  parseAllowList,
  signWebhook,
  verifyWebhookSignature,
} from '../../lib/notify/webhook';

describe('webhook signing and allow-list', () => {
  const secret = 'a-secret-of-enough-length';

  it('signs HMAC-SHA256 over timestamp.body, as the help documents', () => {
    const body = '{"a":1}';
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    assert.equal(signWebhook(secret, 1700000000, body), `sha256=${expected}`);
  });

  it('verifies a fresh signature and refuses a changed body, another secret or an old timestamp', () => {
    const body = '{"a":1}';
    const now = Date.parse('2025-01-01T00:00:00Z');
    const ts = String(Math.floor(now / 1000));
    const sig = signWebhook(secret, ts, body);
    assert.equal(verifyWebhookSignature(secret, body, ts, sig, { nowMs: now }), true);
    assert.equal(verifyWebhookSignature(secret, '{"a":2}', ts, sig, { nowMs: now }), false);
    assert.equal(verifyWebhookSignature('another-secret-xxxxxx', body, ts, sig, { nowMs: now }), false);
    assert.equal(verifyWebhookSignature(secret, body, ts, sig, { nowMs: now + 10 * 60_000 }), false);
    assert.equal(verifyWebhookSignature(secret, body, undefined, sig, { nowMs: now }), false);
  });

  it('knows private, loopback and link-local addresses, IPv4-mapped included', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '0.0.0.0',
    ]) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888'])
      assert.equal(isPrivateAddress(a), false, a);
  });

  it('without an allow-list allows public addresses only; with one, listed hosts or ranges only', () => {
    const none = parseAllowList('');
    assert.equal(isDestinationAllowed(none, 'hooks.example.com', '93.184.216.34'), true);
    assert.equal(isDestinationAllowed(none, 'intranet', '10.0.0.5'), false);
    const list = parseAllowList('erp.plant.local, *.plant.example\n192.168.10.0/24');
    assert.equal(isDestinationAllowed(list, 'erp.plant.local', '10.0.0.5'), true);
    assert.equal(isDestinationAllowed(list, 'a.b.plant.example', '10.0.0.6'), true);
    assert.equal(isDestinationAllowed(list, 'plant.example', '10.0.0.6'), false);
    assert.equal(isDestinationAllowed(list, 'mes', '192.168.10.20'), true);
    assert.equal(isDestinationAllowed(list, 'mes', '192.168.11.20'), false);
    assert.equal(isDestinationAllowed(list, 'evil.example.com', '93.184.216.34'), false);
  });
});
