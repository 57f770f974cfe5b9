import { strict as assert } from 'node:assert';
import { PfcamError } from '../../lib/errors';
import { parseClientOptions } from '../../lib/camera/client-options';
import { parseContentRange } from '../../lib/camera/download';
import {
  CAMERA_ERROR_KEYS,
  CameraAuthError,
  CameraError,
  CameraHttpError,
  CameraOfflineError,
  CameraTimeoutError,
  CameraTlsError,
  isRetryableStatus,
  UnsupportedError,
} from '../../lib/camera/errors';
import { neverReachedCamera, toCameraError } from '../../lib/camera/http-transport';

const opts = parseClientOptions({
  baseUrl: 'http://cam',
  timeouts: { connectMs: 11, headersMs: 22, bodyMs: 33 },
});
const details = { route: 'systemInfo', method: 'GET', path: '/api/system' };
const coded = (code: string): Error => Object.assign(new Error(code), { code });

describe('camera errors', () => {
  it('retries 5xx, 408 and 429, never another 4xx', () => {
    for (const s of [500, 502, 503, 504, 408, 429]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 405, 409, 410, 413, 416, 422])
      assert.equal(isRetryableStatus(s), false, String(s));
    assert.equal(new CameraHttpError(503, 'busy', details).retryable, true);
    assert.equal(new CameraHttpError(400, 'bad', details).retryable, false);
  });

  it('keeps the status, the camera text and the route, with an i18n key and params', () => {
    const err = new CameraHttpError(500, 'internal error', details);
    assert.ok(err instanceof PfcamError && err instanceof CameraError);
    assert.equal(err.key, 'errors.cameraHttp');
    assert.equal(err.status, 500);
    assert.equal(err.cameraMessage, 'internal error');
    assert.equal(err.route, 'systemInfo');
    assert.deepEqual(err.params, { status: 500, cameraMessage: 'internal error' });
    assert.match(err.message, /500 to GET \/api\/system: internal error/);
    assert.equal(err.name, 'CameraHttpError');
    const unsupported = new UnsupportedError('storage', details);
    assert.equal(unsupported.key, 'errors.unsupported');
    assert.equal(unsupported.status, 404);
    assert.equal(unsupported.params.feature, 'storage');
    assert.equal(unsupported.retryable, false);
    const auth = new CameraAuthError(401, 'unauthorized', details);
    assert.equal(auth.key, 'errors.auth');
    assert.ok(auth instanceof CameraHttpError);
  });

  it('maps low-level failures to typed errors and tells which never reached the camera', () => {
    const refused = toCameraError(coded('ECONNREFUSED'), details, opts);
    assert.ok(refused instanceof CameraOfflineError);
    assert.equal(refused.key, 'errors.cameraOffline');
    assert.equal(neverReachedCamera(refused), true);
    const reset = toCameraError(coded('ECONNRESET'), details, opts);
    assert.ok(reset instanceof CameraOfflineError && reset.retryable);
    assert.equal(neverReachedCamera(reset), false);
    const connect = toCameraError(coded('UND_ERR_CONNECT_TIMEOUT'), details, opts);
    assert.ok(
      connect instanceof CameraTimeoutError && connect.phase === 'connect' && connect.timeoutMs === 11,
    );
    assert.equal(neverReachedCamera(connect), true);
    const headers = toCameraError(coded('UND_ERR_HEADERS_TIMEOUT'), details, opts);
    assert.ok(
      headers instanceof CameraTimeoutError && headers.phase === 'headers' && headers.timeoutMs === 22,
    );
    assert.equal(neverReachedCamera(headers), false);
    const body = toCameraError(coded('UND_ERR_BODY_TIMEOUT'), details, opts);
    assert.ok(
      body instanceof CameraTimeoutError && body.key === 'errors.cameraTimeout' && body.timeoutMs === 33,
    );
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]) {
      const tls = toCameraError(coded(code), details, opts);
      assert.ok(tls instanceof CameraTlsError && !tls.retryable && tls.key === 'errors.tls', code);
    }
    const wrapped = toCameraError(
      Object.assign(new Error('fetch failed'), { cause: coded('EHOSTUNREACH') }),
      details,
      opts,
    );
    assert.ok(wrapped instanceof CameraOfflineError && wrapped.code === 'EHOSTUNREACH');
    const bug = new TypeError('x is undefined');
    assert.equal(toCameraError(bug, details, opts), bug);
  });

  it('lists every key it raises for the message catalog', () => {
    for (const key of [
      'errors.cameraHttp',
      'errors.cameraOffline',
      'errors.cameraTimeout',
      'errors.badResponse',
      'errors.unsupported',
      'errors.integrity',
      'errors.auth',
    ])
      assert.ok((CAMERA_ERROR_KEYS as readonly string[]).includes(key), key);
  });

  it('reads Content-Range values', () => {
    assert.deepEqual(parseContentRange('bytes 100-199/1000'), { start: 100, end: 199, total: 1000 });
    assert.deepEqual(parseContentRange('bytes */1000'), { start: -1, end: undefined, total: 1000 });
    assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: undefined });
    assert.equal(parseContentRange('items 1-2/3'), undefined);
    assert.equal(parseContentRange(undefined), undefined);
  });
});
