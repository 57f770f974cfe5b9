/**
 * HTTPS served by Node-RED itself with the shipped settings.js (PFCAM_TLS_CERT/KEY): editor, dashboard and APIs
 * over TLS with HSTS on every response and a Secure session cookie; a replaced certificate is served after the
 * refresh interval, without a restart; half a configuration, an unreadable file or a key of another certificate
 * is refused at the start with a message naming it.
 */
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newTotpSecret } from '../../lib/auth/totp';
import { HSTS } from '../../lib/ops/tls-settings';
import { freePort } from '../helpers/node-red-process';
import { freshTotpCode } from '../helpers/totp-codes';
import { makeCertificate, send, servedFingerprint, ShippedNodeRed } from '../helpers/tls-fixtures';

const ADMIN = { name: 'chief', password: 'admin password 0123', secret: newTotpSecret() };

describe('HTTPS of the shipped settings.js (real Node-RED)', function () {
  this.timeout(90_000);
  let dir: string;
  let app: ShippedNodeRed | undefined;
  let port: number;
  let base: string;
  let first: ReturnType<typeof makeCertificate>;
  const tlsFiles = (): { cert: string; key: string } => ({
    cert: join(dir, 'served.crt'),
    key: join(dir, 'served.key'),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-https-'));
    first = makeCertificate(dir, 'first');
    copyFileSync(first.cert, tlsFiles().cert);
    copyFileSync(first.key, tlsFiles().key);
    port = await freePort();
    base = `https://127.0.0.1:${port}`;
    app = ShippedNodeRed.spawn(join(dir, 'app'), {
      PORT: String(port),
      PFCAM_TLS_CERT: tlsFiles().cert,
      PFCAM_TLS_KEY: tlsFiles().key,
      // 0.0005 h = 1.8 s: Node-RED takes fractional hours
      PFCAM_TLS_REFRESH_HOURS: '0.0005',
      PFCAM_ADMIN_USER: ADMIN.name,
      PFCAM_ADMIN_PASSWORD: ADMIN.password,
      PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
    });
    await app.waitFor(/Started flows/);
  });

  after(async () => {
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves editor, dashboard, login page and APIs over TLS, each with Strict-Transport-Security', async () => {
    assert.match(app!.output, new RegExp(`Server now running at https://127\\.0\\.0\\.1:${port}/`));
    const answers: [string, number][] = [
      ['/', 200], // the editor
      ['/flows', 401], // the editor's API
      ['/pfcam/login', 200],
      ['/pfcam/api/account/sessions', 401],
      ['/ui/', 302],
      ['/no/such/page', 404],
    ];
    for (const [path, status] of answers) {
      const res = await send(base + path, { headers: { accept: 'text/html' } });
      assert.equal(res.status, status, `${path}: ${res.body.slice(0, 200)}`);
      assert.equal(res.headers['strict-transport-security'], HSTS, path);
    }
  });

  it('does not answer plain HTTP on the port', async () => {
    const plain = await send(`http://127.0.0.1:${port}/pfcam/login`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
  });

  it('makes the session cookie Secure', async () => {
    const res = await send(`${base}/pfcam/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({
        username: ADMIN.name,
        password: ADMIN.password,
        code: await freshTotpCode(ADMIN.secret),
      }),
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['strict-transport-security'], HSTS);
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /pfcam\.sid=[^;]+;.*HttpOnly/);
    assert.match(cookie, /; Secure/);
  });

  it('serves a replaced certificate after the refresh interval, without a restart', async () => {
    assert.equal(await servedFingerprint(port), first.fingerprint);
    const renewed = makeCertificate(dir, 'renewed');
    assert.notEqual(renewed.fingerprint, first.fingerprint);
    const from = app!.output.length;
    // as a renewal tool does: each file replaced whole (a refresh between the two renames fails and is retried)
    renameSync(renewed.key, tlsFiles().key);
    renameSync(renewed.cert, tlsFiles().cert);
    await app!.waitFor(/Server https settings have been refreshed/, 30_000, from);
    assert.equal(await servedFingerprint(port), renewed.fingerprint);
    const pid = app!.child.pid;
    assert.equal((await send(`${base}/pfcam/login`)).status, 200);
    assert.equal(app!.child.pid, pid);
    assert.ok(!app!.exited);
  });
});

describe('HTTPS configuration refused at the start (real Node-RED, shipped settings.js)', function () {
  this.timeout(60_000);
  let dir: string;
  const started: ShippedNodeRed[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-https-bad-'));
  });

  after(async () => {
    for (const app of started) await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refused(name: string, env: Record<string, string>): Promise<string> {
    const app = ShippedNodeRed.spawn(join(dir, name), { PORT: String(await freePort()), ...env });
    started.push(app);
    assert.equal(await app.exit(), 1, app.output);
    assert.doesNotMatch(app.output, /Server now running/);
    return app.output;
  }

  it('refuses a certificate without its key, and a key without its certificate', async () => {
    const pair = makeCertificate(dir, 'half');
    assert.match(
      await refused('cert-only', { PFCAM_TLS_CERT: pair.cert }),
      /PFCAM_TLS_CERT is set but PFCAM_TLS_KEY is not: give both the certificate and its private key/,
    );
    assert.match(
      await refused('key-only', { PFCAM_TLS_KEY: pair.key }),
      /PFCAM_TLS_KEY is set but PFCAM_TLS_CERT is not/,
    );
  });

  it('refuses a file that cannot be read, naming it', async () => {
    const pair = makeCertificate(dir, 'unreadable');
    const missing = join(dir, 'missing.key');
    const out = await refused('unreadable', { PFCAM_TLS_CERT: pair.cert, PFCAM_TLS_KEY: missing });
    assert.ok(out.includes(`PFCAM_TLS_KEY: cannot read ${missing}`), out);
  });

  it('refuses a key that belongs to another certificate', async () => {
    const a = makeCertificate(dir, 'a');
    const b = makeCertificate(dir, 'b');
    assert.match(
      await refused('mismatch', { PFCAM_TLS_CERT: a.cert, PFCAM_TLS_KEY: b.key }),
      /PFCAM_TLS_CERT\/PFCAM_TLS_KEY: .* do not make a TLS certificate/,
    );
  });
});
