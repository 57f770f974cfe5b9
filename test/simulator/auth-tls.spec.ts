import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import {
  selfSignedTls,
  startCamera,
  type SimulatedCamera,
  type SimulatedCameraOptions,
} from '../../simulator/index';
import { call, failure } from './http';

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** Parses `Digest realm="x", nonce="y", ...`. */
function challengeParams(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of header.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g))
    params[match[1]!] = match[2] ?? match[3]!;
  return params;
}

function digestHeader(
  challenge: Record<string, string>,
  user: string,
  password: string,
  method: string,
  uri: string,
): string {
  const cnonce = 'a1b2c3d4';
  const nc = '00000001';
  const ha1 = md5(`${user}:${challenge.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const response = md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return (
    `Digest username="${user}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${uri}", ` +
    `algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}", opaque="${challenge.opaque}"`
  );
}

describe('simulator: auth and TLS', () => {
  let cameras: SimulatedCamera[] = [];
  const start = async (options: SimulatedCameraOptions): Promise<SimulatedCamera> => {
    const camera = await startCamera({ restartMs: 100, ...options });
    cameras.push(camera);
    return camera;
  };

  afterEach(async () => {
    await Promise.all(cameras.map((camera) => camera.stop()));
    cameras = [];
  });

  it('requires Basic credentials: 401 + WWW-Authenticate without or with wrong ones, 200 with the right ones', async () => {
    const camera = await start({ auth: { scheme: 'basic', username: 'admin', password: 's3cret' } });
    const anonymous = await call(camera.url, '/api/system');
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="[^"]+"/);
    assert.deepEqual(JSON.parse(anonymous.text), { error: 'unauthorized' });
    const basic = (user: string, password: string): Record<string, string> => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    assert.equal((await call(camera.url, '/api/system', { headers: basic('admin', 'wrong') })).status, 401);
    assert.equal((await call(camera.url, '/api/system', { headers: basic('viewer', 's3cret') })).status, 401);
    assert.equal((await call(camera.url, '/api/system', { headers: basic('admin', 's3cret') })).status, 200);
    assert.equal((await call(camera.url, '/_sim/state')).status, 200);
  });

  it('requires Digest (MD5, qop=auth): a challenge, then 200 for the right response, 401 for a wrong password', async () => {
    const camera = await start({ auth: { scheme: 'digest', username: 'admin', password: 'pa:ss' } });
    const first = await call(camera.url, '/api/events?x=1');
    assert.equal(first.status, 401);
    const header = String(first.headers['www-authenticate']);
    assert.match(header, /^Digest /);
    const challenge = challengeParams(header);
    assert.equal(challenge.qop, 'auth');
    assert.equal(challenge.algorithm, 'MD5');
    assert.ok(challenge.nonce && challenge.realm);
    const ok = await call(camera.url, '/api/events?x=1', {
      headers: { authorization: digestHeader(challenge, 'admin', 'pa:ss', 'GET', '/api/events?x=1') },
    });
    assert.equal(ok.status, 200);
    const wrongPassword = await call(camera.url, '/api/events?x=1', {
      headers: { authorization: digestHeader(challenge, 'admin', 'nope', 'GET', '/api/events?x=1') },
    });
    assert.equal(wrongPassword.status, 401);
    const wrongUri = await call(camera.url, '/api/system', {
      headers: { authorization: digestHeader(challenge, 'admin', 'pa:ss', 'GET', '/api/events?x=1') },
    });
    assert.equal(wrongUri.status, 401);
    const post = await call(camera.url, '/api/events', {
      method: 'POST',
      body: { eventName: 'd' },
      headers: { authorization: digestHeader(challenge, 'admin', 'pa:ss', 'POST', '/api/events') },
    });
    assert.equal(post.status, 200);
  });

  it('forgets Digest nonces on restart and answers a stale nonce with stale=true', async () => {
    const camera = await start({ auth: { scheme: 'digest', username: 'admin', password: 'pw' } });
    const challenge = challengeParams(
      String((await call(camera.url, '/api/system')).headers['www-authenticate']),
    );
    const authorization = digestHeader(challenge, 'admin', 'pw', 'GET', '/api/system');
    assert.equal((await call(camera.url, '/api/system', { headers: { authorization } })).status, 200);
    await camera.control.restart(50);
    const stale = await call(camera.url, '/api/system', { headers: { authorization } });
    assert.equal(stale.status, 401);
    assert.match(String(stale.headers['www-authenticate']), /stale=true/);
  });

  it('serves https with the given certificate', async () => {
    const tls = selfSignedTls();
    const camera = await start({ tls });
    assert.match(camera.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const reply = await call(camera.url, '/api/system', { ca: tls.cert });
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.text) as { serialNumber: string }).serialNumber, camera.serialNumber);
    const untrusted = await failure(camera.url, '/api/system');
    assert.match(String(untrusted.code), /SELF_SIGNED|UNABLE_TO_VERIFY/);
    const restarted = camera.control.restart(50);
    await restarted;
    assert.equal((await call(camera.url, '/api/system', { ca: tls.cert })).status, 200);
  });
});
