/**
 * The operator's manual, followed as written: the self-signed certificate command of docs/manual/https.md, then
 * `npm start` with the certificate as "Node-RED serving TLS itself" shows it, then the first admin's sign-in with
 * the one-time password the start prints (docs/manual/README.md, "From a fresh server to HTTPS with the
 * simulator"): new password, authenticator, recovery codes, and the dashboard shows the three simulated cameras
 * online, over HTTPS only.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { freshTotpCode } from '../helpers/totp-codes';
import { waitUntil } from '../helpers/wait-for';

const root = join(__dirname, '..', '..');
const manual = (page: string): string => readFileSync(join(root, 'docs', 'manual', page), 'utf8');

/** The shell code blocks of a manual page. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * The manual's certificate commands, run in `dir` instead of /etc/pfcam/tls, without sudo, for the address
 * the test reaches (127.0.0.1) instead of the example VPN address.
 */
function makeCertificateAsTheManualSays(dir: string): { cert: string; key: string } {
  const block = shellBlocks(manual('https.md')).find((b) => b.includes('openssl req'));
  assert.ok(block, 'https.md has the self-signed certificate commands');
  assert.match(block, /IP:10\.8\.0\.1/, 'the example address the test replaces');
  const script = block
    .replace(/\bsudo /g, '')
    .replaceAll('/etc/pfcam/tls', dir)
    .replace('IP:10.8.0.1', 'IP:127.0.0.1');
  execFileSync('sh', ['-e', '-c', script], { stdio: 'pipe' });
  return { cert: join(dir, 'pfcam.crt'), key: join(dir, 'pfcam.key') };
}

/** The environment of the manual's `... npm start` line for Node-RED serving TLS itself. */
function startEnvironmentOfTheManual(tlsDir: string): Record<string, string> {
  const line = manual('https.md')
    .split('\n')
    .find((l) => /^PFCAM_TLS_CERT=\S+ .*npm start$/.test(l));
  assert.ok(line, 'https.md shows how to start with a certificate');
  const env: Record<string, string> = {};
  for (const [, name, value] of line.matchAll(/\b([A-Z_]+)=(\S+)/g)) {
    env[name!] = value!.replaceAll('/etc/pfcam/tls', tlsDir);
  }
  // Reached on the loopback address only here (the manual listens everywhere for the site's network).
  if (env.PFCAM_HOST === '0.0.0.0') env.PFCAM_HOST = '127.0.0.1';
  return env;
}

describe('the manual, followed: HTTPS install with the first admin and the simulator', function () {
  this.timeout(180_000);
  let dir: string;
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let output = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pfcam-manual-'));
    output = '';
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves only HTTPS with the certificate made as the manual says, prints https addresses and the one-time password, and the first admin reaches the dashboard with three cameras online', async () => {
    const tls = makeCertificateAsTheManualSays(dir);
    assert.ok(existsSync(tls.cert) && existsSync(tls.key));
    const env = startEnvironmentOfTheManual(dir);
    assert.equal(env.PFCAM_TLS_CERT, tls.cert);

    // `npm start` less its build step (the test run built the package).
    const started = spawn(process.execPath, [join(root, 'scripts', 'start.js')], {
      env: {
        ...process.env,
        ...env,
        PFCAM_DATA: join(dir, 'data'),
        PORT: '0',
        PFCAM_SIMULATOR_PORT: '0',
        PFCAM_ADMIN_USER: '',
        PFCAM_ADMIN_PASSWORD: '',
        PFCAM_ADMIN_TOTP_SECRET: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    const stdout = started.stdout;
    started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const printed = await waitUntil(
      'the sign-in address in the output',
      stdout,
      'data',
      () => /pfcam: sign in +(\S+)\/pfcam\/login/.exec(output) ?? undefined,
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}:\n${output.slice(-3000)}`);
    });
    const base = printed[1]!;
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/, 'the addresses printed are the HTTPS ones');
    assert.match(output, new RegExp(`pfcam: dashboard ${base.replaceAll('.', '\\.')}/ui`));
    const oneTime = (
      await waitUntil(
        'the one-time password in the output',
        stdout,
        'data',
        () =>
          /first admin "admin" created; one-time password \(change it at first login\): (\S+)/.exec(output) ??
          undefined,
        60_000,
      )
    )[1]!;
    await waitUntil(
      'the sign-in hint after it',
      stdout,
      'data',
      () =>
        output.includes(
          `pfcam: sign in as "admin" at ${base}/pfcam/login with the one-time password above`,
        ) || undefined,
    );

    // The certificate served is the one made: it verifies against itself as the trusted certificate.
    const trusted = new Agent({ connect: { ca: readFileSync(tls.cert) } });
    try {
      const login = await undiciFetch(`${base}/pfcam/login`, { dispatcher: trusted });
      assert.equal(login.status, 200);
      assert.match(login.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
      await login.arrayBuffer();
    } finally {
      await trusted.close();
    }
    // and plain HTTP is not served on that port
    await assert.rejects(fetch(base.replace('https:', 'http:') + '/pfcam/login'));

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    // Chromium does not know the site's certificate: as an operator who imported it, it accepts it.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`${base}/pfcam/login?next=/ui/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(oneTime);
    await page.click('#submit');
    const chosen = 'the site admin password 2026';
    await page.getByLabel('New password', { exact: true }).fill(chosen);
    await page.getByLabel('New password again').fill(chosen);
    await page.click('#change-password button');
    await page.waitForSelector('#enrol:not([hidden]) #qr[src^="data:image/png"]', { timeout: 30_000 });
    const secret = (await page.textContent('#secret'))?.trim() ?? '';
    await page.getByLabel('The 6-digit code the app shows').fill(await freshTotpCode(secret));
    await page.click('#enrol button');
    await page.waitForSelector('#recovery:not([hidden])', { timeout: 30_000 });
    await Promise.all([page.waitForURL(`${base}/ui/**`, { timeout: 30_000 }), page.click('#continue')]);
    const cookies = await context.cookies(base);
    assert.ok(cookies.length > 0 && cookies.every((c) => c.secure), 'the session cookie is Secure');

    // The Overview tile counts the cameras the health probes see online: the three simulated ones.
    await page
      .locator('.pfcam-tile:has(dt:text-is("Cameras online")) dd:text-is("3")')
      .waitFor({ timeout: 60_000 });
    assert.doesNotMatch(output, /\[error\]/);
  });
});
