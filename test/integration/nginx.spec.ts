/**
 * The shipped nginx configuration in front of the shipped application: deploy/nginx/pfcam.conf.template rendered
 * with envsubst as docs/manual/https.md says, with a self-signed certificate made by openssl, served by Debian's
 * nginx (as this user, not as a daemon, everything in a temp folder) in front of a real Node-RED started with
 * the shipped settings.js and flows and PFCAM_TRUSTED_PROXIES=127.0.0.1. Through nginx over HTTPS: the login
 * page, a login (its cookie Secure), a /ui page, the dashboard's socket.io over a WebSocket, a live MJPEG stream,
 * the API, and the client's address as nginx saw it in the audit log; straight to Node-RED, a forged
 * X-Forwarded-For is ignored.
 *
 * The clients that stand for browsers connect from 127.0.0.2 (still loopback), so that the address nginx sees
 * (and forwards) differs from nginx's own (127.0.0.1, the trusted proxy).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { Agent, request } from 'undici';
import { newTotpSecret } from '../../lib/auth/totp';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { freePort, NodeRedProcess } from '../helpers/node-red-process';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitFor } from '../helpers/wait-for';

const root = resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { applyServices, composeFlows } = require('../../scripts/flows.js') as {
  composeFlows: (dir: string) => Record<string, unknown>[];
  applyServices: (
    flows: Record<string, unknown>[],
    s: { s3: boolean; mqtt: boolean },
  ) => Record<string, unknown>[];
};

const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const TEMPLATE = join(root, 'deploy', 'nginx', 'pfcam.conf.template');
/** The placeholders of the template, as docs/manual/https.md names them to envsubst. */
const PLACEHOLDERS = [
  'PFCAM_NGINX_SERVER_NAME',
  'PFCAM_NGINX_LISTEN_HTTPS',
  'PFCAM_NGINX_LISTEN_HTTP',
  'PFCAM_NGINX_CERT',
  'PFCAM_NGINX_KEY',
  'PFCAM_NGINX_UPSTREAM',
];
const ADMIN = { name: 'edge-admin', password: 'edge admin password 0123', secret: newTotpSecret() };
/** Where the clients standing for browsers connect from. */
const CLIENT = '127.0.0.2';

/** The template rendered by envsubst with exactly the placeholders (nginx's own `$variables` untouched). */
function render(values: Record<string, string>): string {
  const result = spawnSync('envsubst', [PLACEHOLDERS.map((p) => '${' + p + '}').join(' ')], {
    input: readFileSync(TEMPLATE, 'utf8'),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...values },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `envsubst failed: ${result.stderr}`);
  return result.stdout;
}

interface Nginx {
  port: number;
  stop(): Promise<void>;
}

/**
 * Runs nginx on the rendered site config in `dir`, on free ports of 127.0.0.1 picked by binding port 0 (nginx
 * cannot take 0): another process may take a port between the pick and nginx's bind, then it tries new ones.
 */
async function startNginx(dir: string, cert: string, key: string, upstream: string): Promise<Nginx> {
  for (let attempt = 1; ; attempt++) {
    const https = await freePort();
    let http = await freePort();
    while (http === https) http = await freePort();
    const site = render({
      PFCAM_NGINX_SERVER_NAME: '127.0.0.1',
      PFCAM_NGINX_LISTEN_HTTPS: `127.0.0.1:${https}`,
      PFCAM_NGINX_LISTEN_HTTP: `127.0.0.1:${http}`,
      PFCAM_NGINX_CERT: cert,
      PFCAM_NGINX_KEY: key,
      PFCAM_NGINX_UPSTREAM: upstream,
    });
    assert.doesNotMatch(site, /\$\{/, 'a placeholder left unrendered');
    assert.match(site, /\$connection_upgrade/, "nginx's own variables kept");
    writeFileSync(join(dir, 'pfcam.conf'), site);
    const temp = join(dir, 'temp');
    mkdirSync(temp, { recursive: true });
    const main = [
      'daemon off;',
      'worker_processes 1;',
      // only a master started as root switches users: then keep the current one (no other can read the folder)
      ...(process.getuid?.() === 0 ? [`user ${userInfo().username};`] : []),
      `pid ${join(dir, 'nginx.pid')};`,
      'error_log stderr notice;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (t) => `  ${t}_temp_path ${join(temp, t)};`,
      ),
      `  include ${join(dir, 'pfcam.conf')};`,
      '}',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'nginx.conf'), main);
    const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const outcome = await waitFor<string>(
      'nginx starting',
      (done) => {
        const onData = (chunk: Buffer): void => {
          log += chunk.toString();
          if (/start worker process/.test(log)) done('started');
          else if (/Address already in use/.test(log)) done('port taken');
        };
        const onExit = (code: number | null): void => done(`exited (${code}): ${log}`);
        const onError = (err: Error): void => done(`could not run ${NGINX}: ${err.message}`);
        child.stderr?.on('data', onData);
        child.stdout?.on('data', onData);
        child.once('exit', onExit);
        child.once('error', onError);
        return () => {
          child.off('exit', onExit);
          child.off('error', onError);
        };
      },
      20_000,
    );
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    };
    if (outcome === 'started') return { port: https, stop };
    await stop();
    if (outcome !== 'port taken' || attempt >= 5) assert.fail(`nginx did not start: ${outcome}\n${log}`);
  }
}

describe('nginx in front of the application (shipped config, shipped settings)', function () {
  this.timeout(120_000);
  let dir: string;
  let sim: SimulatedCamera | undefined;
  let red: NodeRedProcess | undefined;
  let nginx: Nginx | undefined;
  let edge: string;
  let origin: string;
  let cert: string;
  /** Connections to nginx over HTTPS, trusting the test certificate, from the client address. */
  let tls: Agent;
  /** Connections straight to Node-RED from the client address. */
  let direct: Agent;
  let cookie = '';
  const sockets: Socket[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-nginx-'));
    const certFile = join(dir, 'pfcam.crt');
    const keyFile = join(dir, 'pfcam.key');
    const made = spawnSync(
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
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, `openssl failed: ${made.stderr}`);
    cert = readFileSync(certFile, 'utf8');

    sim = await startCamera({ seed: 41, recordings: 0, rtspStream: false, liveFps: 10 });
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    // the shipped flows with one camera (the simulator) and no S3 or MQTT
    const flows = applyServices(composeFlows(join(root, 'flows')), { s3: false, mqtt: false }).filter(
      (n) => !['cam-2', 'cam-3', 'ingest-watch-2', 'ingest-watch-3'].includes(String(n['id'])),
    );
    red = await NodeRedProcess.start({
      userDir: join(dir, 'node-red'),
      flows,
      shippedSettings: true,
      env: {
        PFCAM_DATA: dataDir,
        PFCAM_CREDENTIAL_SECRET: 'test-secret',
        PFCAM_TRUSTED_PROXIES: '127.0.0.1',
        PFCAM_ADMIN_USER: ADMIN.name,
        PFCAM_ADMIN_PASSWORD: ADMIN.password,
        PFCAM_ADMIN_TOTP_SECRET: ADMIN.secret,
        PFCAM_CAMERA_1_URL: sim.url,
      },
    });
    nginx = await startNginx(dir, certFile, keyFile, `127.0.0.1:${red.port}`);
    edge = `https://127.0.0.1:${nginx.port}`;
    origin = edge;
    tls = new Agent({ localAddress: CLIENT, connect: { ca: cert } });
    direct = new Agent({ localAddress: CLIENT });
  });

  after(async () => {
    for (const s of sockets) s.close();
    await tls?.close();
    await direct?.close();
    await nginx?.stop();
    await red?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A failed login as `name` (no such user), sent to `base` through `agent` with `headers`. */
  async function failedLogin(base: string, agent: Agent, name: string, headers: Record<string, string>) {
    const res = await request(`${base}/pfcam/login`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', origin: base, ...headers },
      body: JSON.stringify({ username: name, password: 'not a password', code: '000000' }),
    });
    await res.body.dump();
    assert.equal(res.statusCode, 401);
  }

  /** The addresses the audit log recorded for failed logins as `name` (read through nginx as the admin). */
  async function auditedAddresses(name: string): Promise<(string | null)[]> {
    const res = await request(
      `${edge}/pfcam/api/audit?action=login.failed&user=${encodeURIComponent(name)}`,
      {
        dispatcher: tls,
        headers: { cookie },
      },
    );
    assert.equal(res.statusCode, 200);
    const page = (await res.body.json()) as { items: { actor: string; ip: string | null }[] };
    return page.items.filter((i) => i.actor === name).map((i) => i.ip);
  }

  it('serves the login page over HTTPS, with HSTS', async () => {
    const res = await request(`${edge}/pfcam/login`, { dispatcher: tls, headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
    assert.match(await res.body.text(), /<form/i);
  });

  it('signs in through nginx, and the session cookie is Secure', async () => {
    const res = await request(`${edge}/pfcam/login`, {
      method: 'POST',
      dispatcher: tls,
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({
        username: ADMIN.name,
        password: ADMIN.password,
        code: await freshTotpCode(ADMIN.secret),
      }),
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n');
    const sid = /pfcam\.sid=[^;]+[^\n]*/.exec(setCookie)?.[0];
    assert.ok(sid, `a session cookie in ${setCookie}`);
    assert.match(sid, /;\s*Secure/i, 'the cookie is Secure');
    assert.match(sid, /;\s*HttpOnly/i);
    cookie = /pfcam\.sid=[^;]+/.exec(sid)![0];
  });

  it('serves a /ui page to the signed-in user', async () => {
    assert.ok(cookie, 'signed in');
    const res = await request(`${edge}/ui/`, { dispatcher: tls, headers: { cookie, accept: 'text/html' } });
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /<html/i);
    const anonymous = await request(`${edge}/ui/`, {
      dispatcher: tls,
      headers: { accept: 'application/json' },
    });
    await anonymous.body.dump();
    assert.equal(anonymous.statusCode, 401, 'and only to a signed-in one');
  });

  it("upgrades the dashboard's socket.io to a WebSocket through nginx", async () => {
    const socket = io(edge, {
      path: '/ui/socket.io',
      transports: ['websocket'],
      extraHeaders: { cookie, origin },
      ca: cert,
      localAddress: CLIENT,
      reconnection: false,
      forceNew: true,
    } as Parameters<typeof io>[1]);
    sockets.push(socket);
    const outcome = await waitFor<string>(
      'the socket connecting or being refused',
      (done) => {
        socket.once('connect', () => done('connected'));
        socket.once('connect_error', (err: Error) => done(`refused: ${err.message}`));
        return () => undefined;
      },
      15_000,
    );
    assert.equal(outcome, 'connected');
    assert.equal(socket.io.engine.transport.name, 'websocket');
    socket.close();
  });

  it('streams a live MJPEG view through nginx', async () => {
    const controller = new AbortController();
    const res = await request(`${edge}/pfcam/api/live/${sim!.serialNumber}/mjpeg`, {
      dispatcher: tls,
      headers: { cookie },
      signal: controller.signal,
    });
    try {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^multipart\/x-mixed-replace/);
      // bytes of a JPEG arrive (its start-of-image marker), as they come: nginx does not buffer the stream
      const jpeg = await waitFor<boolean>(
        'a JPEG frame through nginx',
        (done, fail) => {
          let seen = Buffer.alloc(0);
          const onData = (chunk: Buffer): void => {
            seen = Buffer.concat([seen, chunk]).subarray(-65_536);
            if (seen.includes(Buffer.from([0xff, 0xd8, 0xff]))) done(true);
          };
          res.body.on('data', onData);
          res.body.once('error', fail);
          return () => res.body.off('data', onData);
        },
        15_000,
      );
      assert.equal(jpeg, true);
    } finally {
      controller.abort();
      res.body.on('error', () => undefined);
      res.body.destroy();
    }
  });

  it('answers the API through nginx', async () => {
    const res = await request(`${edge}/pfcam/api/session`, { dispatcher: tls, headers: { cookie } });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { user: { name: string; role: string } };
    assert.equal(body.user.name, ADMIN.name);
    assert.equal(body.user.role, 'admin');
  });

  it('records the client address nginx saw (X-Forwarded-For from the trusted proxy), not one the client forged', async () => {
    await failedLogin(edge, tls, 'probe-through-nginx', { 'x-forwarded-for': '203.0.113.9' });
    assert.deepEqual(await auditedAddresses('probe-through-nginx'), [CLIENT]);
  });

  it('ignores a forged X-Forwarded-For sent straight to Node-RED (not from the trusted proxy)', async () => {
    await failedLogin(red!.url, direct, 'probe-around-nginx', { 'x-forwarded-for': '203.0.113.7' });
    assert.deepEqual(await auditedAddresses('probe-around-nginx'), [CLIENT]);
  });
});
