import { strict as assert } from 'node:assert';
import { normaliseCameraUrl, parseCameraConfig } from '../../lib/camera/camera-config';

describe('camera config', () => {
  it('accepts the camera URL with or without /api and trailing slashes', () => {
    assert.equal(normaliseCameraUrl('http://10.0.0.5'), 'http://10.0.0.5');
    assert.equal(normaliseCameraUrl('http://10.0.0.5/'), 'http://10.0.0.5');
    assert.equal(normaliseCameraUrl('http://10.0.0.5/api'), 'http://10.0.0.5');
    assert.equal(normaliseCameraUrl(' https://cam.site:8443/API/ '), 'https://cam.site:8443');
    assert.equal(normaliseCameraUrl('http://gw.site/cam3/api'), 'http://gw.site/cam3');
  });

  it('refuses a missing, malformed, non-HTTP or credential-carrying URL with a key saying why', () => {
    assert.throws(() => normaliseCameraUrl(''), { key: 'errors.urlMissing' });
    assert.throws(() => normaliseCameraUrl(undefined), { key: 'errors.urlMissing' });
    assert.throws(() => normaliseCameraUrl('10.0.0.5'), { key: 'errors.urlInvalid' });
    assert.throws(() => normaliseCameraUrl('ftp://10.0.0.5'), { key: 'errors.urlInvalid' });
    assert.throws(() => normaliseCameraUrl('http://admin:pw@10.0.0.5'), { key: 'errors.urlCredentials' });
  });

  it('applies defaults and converts seconds to milliseconds', () => {
    const config = parseCameraConfig({ url: 'http://10.0.0.5/api', name: ' Gate ' });
    assert.deepEqual(config, {
      name: 'Gate',
      baseUrl: 'http://10.0.0.5',
      probeIntervalMs: 30_000,
      requestTimeoutMs: 30_000,
      maxConnections: 2,
      username: undefined,
      password: undefined,
      tls: { rejectUnauthorized: true, ca: undefined },
      liveCaps: { maxFps: 0, maxWidth: 0 },
    });
  });

  it('reads editor strings as numbers and the verify switch per camera', () => {
    const config = parseCameraConfig(
      { url: 'https://10.0.0.5', probeInterval: '2.5', timeout: '10', connections: '4', tlsVerify: false },
      { username: 'admin', password: 'secret' },
    );
    assert.equal(config.probeIntervalMs, 2500);
    assert.equal(config.requestTimeoutMs, 10_000);
    assert.equal(config.maxConnections, 4);
    assert.equal(config.tls.rejectUnauthorized, false);
    assert.equal(config.username, 'admin');
    assert.equal(config.password, 'secret');
  });

  it('refuses out-of-range numbers, a password without a user and a CA that is not PEM', () => {
    assert.throws(() => parseCameraConfig({ url: 'http://a', probeInterval: 'often' }), {
      key: 'errors.badOption',
    });
    assert.throws(() => parseCameraConfig({ url: 'http://a', timeout: 0 }), { key: 'errors.badOption' });
    assert.throws(() => parseCameraConfig({ url: 'http://a', connections: 99 }), { key: 'errors.badOption' });
    assert.throws(() => parseCameraConfig({ url: 'http://a' }, { password: 'x' }), {
      key: 'errors.badOption',
    });
    assert.throws(() => parseCameraConfig({ url: 'https://a', ca: 'not a cert' }), {
      key: 'errors.badOption',
    });
  });
});
