import { strict as assert } from 'node:assert';
import { InputError } from '../../lib/errors';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_RETRY,
  DEFAULT_SSE,
  DEFAULT_TIMEOUTS,
  normaliseBaseUrl,
  parseClientOptions,
} from '../../lib/camera/client-options';

function rejectsField(raw: unknown, field: string): void {
  assert.throws(
    () => parseClientOptions(raw),
    (err: unknown) =>
      err instanceof InputError && err.key === 'errors.clientOptions' && err.params.field === field,
  );
}

describe('camera client options', () => {
  it('accepts the camera root or its /api URL, with or without trailing slashes, as the same root', () => {
    for (const url of [
      'http://10.0.0.5',
      'http://10.0.0.5/',
      'http://10.0.0.5/api',
      'http://10.0.0.5/api/',
      'http://10.0.0.5//api//',
    ]) {
      const o = parseClientOptions({ baseUrl: url });
      assert.equal(o.baseUrl, 'http://10.0.0.5', url);
      assert.equal(o.origin, 'http://10.0.0.5');
      assert.equal(o.pathPrefix, '');
    }
  });

  it('keeps a proxy path prefix and the port, drops only the trailing /api', () => {
    const o = parseClientOptions({ baseUrl: 'https://vpn.example:8443/site-3/cam5/API/' });
    assert.equal(o.baseUrl, 'https://vpn.example:8443/site-3/cam5');
    assert.equal(o.origin, 'https://vpn.example:8443');
    assert.equal(o.pathPrefix, '/site-3/cam5');
  });

  it('moves credentials out of the URL so that baseUrl never carries them', () => {
    const o = parseClientOptions({ baseUrl: 'http://admin:s%40cret@10.0.0.5/api' });
    assert.equal(o.baseUrl, 'http://10.0.0.5');
    assert.equal(o.username, 'admin');
    assert.equal(o.password, 's@cret');
    const explicit = parseClientOptions({
      baseUrl: 'http://a:b@10.0.0.5',
      username: 'viewer',
      password: 'x',
    });
    assert.equal(explicit.username, 'viewer');
    assert.equal(explicit.password, 'x');
  });

  it('applies the defaults (2 connections, verify on, the documented budgets)', () => {
    const o = parseClientOptions({ baseUrl: 'http://10.0.0.5' });
    assert.equal(o.maxConnections, DEFAULT_MAX_CONNECTIONS);
    assert.equal(o.maxConnections, 2);
    assert.deepEqual(o.timeouts, DEFAULT_TIMEOUTS);
    assert.deepEqual(o.retry, DEFAULT_RETRY);
    assert.deepEqual(o.sse, DEFAULT_SSE);
    assert.equal(o.sse.heartbeatTimeoutMs, 37_500);
    assert.equal(o.tls.rejectUnauthorized, true);
    assert.equal(o.tls.ca, undefined);
    assert.equal(o.username, undefined);
    assert.ok(Object.isFrozen(o));
  });

  it('takes editor values: numeric strings, "true"/"false", and empty strings as defaults', () => {
    const o = parseClientOptions({
      baseUrl: 'http://cam',
      username: '',
      timeouts: { connectMs: '2500', headersMs: '' },
      retry: { attempts: '3' },
      tls: { rejectUnauthorized: 'false', ca: '' },
      maxConnections: '4',
    });
    assert.equal(o.timeouts.connectMs, 2500);
    assert.equal(o.timeouts.headersMs, DEFAULT_TIMEOUTS.headersMs);
    assert.equal(o.retry.attempts, 3);
    assert.equal(o.tls.rejectUnauthorized, false);
    assert.equal(o.maxConnections, 4);
    assert.equal(o.username, undefined);
  });

  it('keeps a CA given as PEM text, a Buffer or a list', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    assert.equal(parseClientOptions({ baseUrl: 'https://cam', tls: { ca: pem } }).tls.ca, pem);
    const buf = Buffer.from(pem);
    assert.equal(parseClientOptions({ baseUrl: 'https://cam', tls: { ca: buf } }).tls.ca, buf);
    assert.deepEqual(parseClientOptions({ baseUrl: 'https://cam', tls: { ca: [pem, buf] } }).tls.ca, [
      pem,
      buf,
    ]);
    rejectsField({ baseUrl: 'https://cam', tls: { ca: 42 } }, 'tls.ca');
  });

  it('rejects unusable values, naming the field', () => {
    rejectsField(undefined, 'options');
    rejectsField({}, 'baseUrl');
    rejectsField({ baseUrl: 'not a url' }, 'baseUrl');
    rejectsField({ baseUrl: 'ftp://10.0.0.5' }, 'baseUrl');
    rejectsField({ baseUrl: 'http://10.0.0.5/api?x=1' }, 'baseUrl');
    rejectsField({ baseUrl: 'http://cam', password: 'p' }, 'username');
    rejectsField({ baseUrl: 'http://cam', timeouts: { connectMs: 0 } }, 'timeouts.connectMs');
    rejectsField({ baseUrl: 'http://cam', timeouts: { bodyMs: 1.5 } }, 'timeouts.bodyMs');
    rejectsField({ baseUrl: 'http://cam', timeouts: 'fast' }, 'timeouts');
    rejectsField({ baseUrl: 'http://cam', retry: { attempts: 0 } }, 'retry.attempts');
    rejectsField({ baseUrl: 'http://cam', retry: { baseDelayMs: 1000, maxDelayMs: 10 } }, 'retry.maxDelayMs');
    rejectsField({ baseUrl: 'http://cam', maxConnections: 0 }, 'maxConnections');
    rejectsField({ baseUrl: 'http://cam', tls: { rejectUnauthorized: 'maybe' } }, 'tls.rejectUnauthorized');
    rejectsField(
      { baseUrl: 'http://cam', sse: { reconnectBaseMs: 10, reconnectMaxMs: 5 } },
      'sse.reconnectMaxMs',
    );
  });

  it('normalises a base URL on its own (for editors that show it)', () => {
    assert.deepEqual(normaliseBaseUrl(' http://10.0.0.5:8080/api/ '), {
      baseUrl: 'http://10.0.0.5:8080',
      origin: 'http://10.0.0.5:8080',
      pathPrefix: '',
      username: undefined,
      password: undefined,
    });
  });
});
