import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraAuthError, CameraTlsError } from '../../lib/camera/errors';
import type { SimulatedCamera } from '../../simulator';
import { Rig, requests } from './client-fixtures';

const USER = 'admin';
const PASSWORD = 'pa:ss wörd';

function authHeaders(camera: SimulatedCamera): Array<string | undefined> {
  return requests(camera).map((r) => r.headers.authorization as string | undefined);
}

describe('camera client against the simulator: authentication', function () {
  this.timeout(20_000);
  const rig = new Rig();
  afterEach(() => rig.stop());

  for (const scheme of ['basic', 'digest'] as const) {
    it(`authenticates with ${scheme} after the first challenge, then sends credentials up front`, async () => {
      const camera = await rig.camera({
        auth: { scheme, username: USER, password: PASSWORD },
        recordings: 1,
        videoBytes: 50_000,
      });
      const client = rig.client(camera, { username: USER, password: PASSWORD });
      assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
      const first = authHeaders(camera);
      assert.equal(first.length, 2);
      assert.equal(
        first[0],
        undefined,
        'no credentials before the camera asks (nothing leaks to a camera without auth)',
      );
      assert.ok(first[1]?.toLowerCase().startsWith(scheme));

      camera.control.clearRequests();
      const [event] = await client.listEvents();
      const video = await client.downloadToBuffer('video', event!);
      assert.equal(video.sha256, camera.control.media(event!.fileName, 'video').sha256);
      await client.triggerEvent({ eventName: 'auth-check', postEventSeconds: 0 });
      const later = authHeaders(camera);
      assert.equal(later.length, 3, 'no more 401 round trips');
      for (const h of later) assert.ok(h?.toLowerCase().startsWith(scheme), h);
      if (scheme === 'digest') {
        assert.deepEqual(
          later.map((h) => /nc=([0-9a-f]{8})/.exec(h!)?.[1]),
          ['00000002', '00000003', '00000004'],
        );
      }
    });
  }

  it('renews a Digest nonce the camera forgot in a restart (stale) without failing the call', async () => {
    const camera = await rig.camera({ auth: { scheme: 'digest', username: USER, password: PASSWORD } });
    const client = rig.client(camera, {
      username: USER,
      password: PASSWORD,
      retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 60 },
    });
    await client.getSystemInfo();
    await camera.control.restart(50);
    camera.control.clearRequests();
    assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
    assert.equal(requests(camera).length, 2);
  });

  it('fails with errors.auth, without retrying, when no credentials are configured', async () => {
    const camera = await rig.camera({ auth: { scheme: 'digest', username: USER, password: PASSWORD } });
    const client = rig.client(camera, { retry: { attempts: 5 } });
    await assert.rejects(
      client.getSystemInfo(),
      (err) =>
        err instanceof CameraAuthError && err.status === 401 && err.key === 'errors.auth' && !err.retryable,
    );
    assert.equal(requests(camera).length, 1);
  });

  it('fails with errors.auth after one answered challenge when the password is wrong', async () => {
    for (const scheme of ['basic', 'digest'] as const) {
      const camera = await rig.camera({ auth: { scheme, username: USER, password: PASSWORD } });
      const client = rig.client(camera, { username: USER, password: 'wrong', retry: { attempts: 5 } });
      await assert.rejects(
        client.listEvents(),
        (err) => err instanceof CameraAuthError && err.status === 401,
      );
      assert.equal(requests(camera).length, 2, scheme);
    }
  });
});

describe('camera client against the simulator: TLS per camera', function () {
  this.timeout(30_000);
  const rig = new Rig();
  let dir: string;
  let cert: string;
  let key: string;

  function makeCert(name: string, san: string): { cert: string; key: string } {
    const keyPath = join(dir, `${name}.key`);
    const certPath = join(dir, `${name}.crt`);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=${san}`,
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ],
      { stdio: 'ignore' },
    );
    return { cert: certPath, key: keyPath };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-tls-'));
    const made = makeCert('127.0.0.1', 'IP:127.0.0.1');
    cert = await readFile(made.cert, 'utf8');
    key = await readFile(made.key, 'utf8');
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => rig.stop());

  it('refuses a self-signed camera when verifying without its CA, and is not retried', async () => {
    const camera = await rig.camera({ tls: { key, cert } });
    assert.ok(camera.url.startsWith('https://'));
    const client = rig.client(camera, { retry: { attempts: 4 } });
    await assert.rejects(
      client.getSystemInfo(),
      (err) => err instanceof CameraTlsError && err.key === 'errors.tls' && !err.retryable,
    );
    assert.equal(requests(camera).length, 0);
  });

  it('trusts the camera with its CA given, for that client only', async () => {
    const camera = await rig.camera({ tls: { key, cert }, recordings: 1, videoBytes: 100_000 });
    const trusted = rig.client(`${camera.url}/api/`, { tls: { ca: cert } });
    const [event] = await trusted.listEvents();
    const video = await trusted.downloadToBuffer('video', event!);
    assert.equal(video.sha256, camera.control.media(event!.fileName, 'video').sha256);
    await assert.rejects(rig.client(camera).getSystemInfo(), CameraTlsError);
  });

  it('skips verification for one camera only: other clients and the process still verify', async () => {
    const camera = await rig.camera({ tls: { key, cert } });
    const lax = rig.client(camera, { tls: { rejectUnauthorized: false } });
    const strict = rig.client(camera);
    assert.equal((await lax.getSystemInfo()).serialNumber, camera.serialNumber);
    await assert.rejects(strict.getSystemInfo(), CameraTlsError);
    assert.equal((await lax.getSystemInfo()).serialNumber, camera.serialNumber);
    assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined);
    await assert.rejects(fetch(`${camera.url}/api/system`), 'the global dispatcher still verifies');
  });

  it('refuses a certificate made for another host even with its CA', async () => {
    const other = makeCert('elsewhere', 'DNS:elsewhere.example');
    const camera = await rig.camera({
      tls: { key: await readFile(other.key), cert: await readFile(other.cert) },
    });
    const client = rig.client(camera, { tls: { ca: await readFile(other.cert) } });
    await assert.rejects(
      client.getSystemInfo(),
      (err) => err instanceof CameraTlsError && err.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  });
});
