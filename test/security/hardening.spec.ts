/**
 * The hardening suite (one site, started as `npm start` starts it, shared by every part; see site.ts):
 * secrets never leak, no path leaves the data folder, camera-supplied strings are text on every screen, and
 * every surface carries the security headers.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Database } from '../../lib/store/database';
import { HOSTILE, HOSTILE_CAMERA_NAME, root, startSite, type Secrets, type Site } from './site';

/** The forms a secret could leak in: raw, URL-encoded, base64 and base64url. */
function forms(secret: string): string[] {
  const raw = Buffer.from(secret, 'utf8');
  return [
    ...new Set([secret, encodeURIComponent(secret), raw.toString('base64'), raw.toString('base64url')]),
  ];
}

/** The secrets (by name) whose value, in any form, is in `text`. */
function leaked(text: string, secrets: Secrets, skip: readonly (keyof Secrets)[] = []): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets) as [keyof Secrets, string][]) {
    if (skip.includes(name) || value === '') continue;
    if (forms(value).some((form) => text.includes(form))) found.push(name);
  }
  return found;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? e.name === 'node_modules'
        ? []
        : filesUnder(join(dir, e.name))
      : e.isFile()
        ? [join(dir, e.name)]
        : [],
  );
}

/** Every GET route of the dashboard API, read from its source files (every route is an ApiRoute there). */
function sourceGetRoutes(): string[] {
  const dir = join(root, 'dashboard', 'api');
  const paths: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/method: 'GET',\s*path: '([^']+)'/g)) paths.push(m[1]!);
  }
  return paths;
}

/** A raw HTTP GET: the path goes out byte for byte (fetch would resolve `../`). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: 'GET', headers, insecureHTTPParser: false },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('hardening of the shipped application (npm start with secrets planted and a hostile camera)', function () {
  this.timeout(60_000);
  let site: Site;
  let recordingId: number;

  before(async function () {
    this.timeout(150_000);
    site = await startSite();
    const list = (await (
      await site.api(`/recordings?camera=${encodeURIComponent(site.camera.serialNumber)}`)
    ).json()) as { items?: { id: number }[]; recordings?: { id: number }[] };
    const items = list.items ?? list.recordings ?? [];
    assert.ok(items.length > 0, JSON.stringify(list).slice(0, 500));
    recordingId = items[0]!.id;
  });

  after(async () => {
    await site?.close();
  });

  describe('secrets never leak', () => {
    it('recognises a planted secret raw, URL-encoded, in base64 and in base64url', () => {
      const { secrets } = site;
      for (const form of forms(secrets.adminPassword))
        assert.deepEqual(leaked(`x${form}x`, secrets), ['adminPassword'], form);
    });

    it('keeps node credentials out of flows.json and encrypted in flows_cred.json, and out of GET /flows', async () => {
      const { secrets } = site;
      const flowsText = readFileSync(join(site.userDir, 'flows.json'), 'utf8');
      assert.deepEqual(leaked(flowsText, secrets), []);
      assert.doesNotMatch(flowsText, /"credentials"/);
      const cred = readFileSync(join(site.userDir, 'flows_cred.json'), 'utf8');
      assert.match(cred, /^\{\s*"\$":\s*"[0-9a-f]+/, 'flows_cred.json is encrypted');
      assert.deepEqual(leaked(cred, secrets), []);
      const editorFlows = await fetch(`${site.base}/flows`, {
        headers: { authorization: `Bearer ${secrets.editorToken}` },
      });
      assert.equal(editorFlows.status, 200);
      // the editor gets to know that a password is set, never the password
      assert.deepEqual(leaked(await editorFlows.text(), secrets, ['editorToken']), []);
    });

    it('answers no secret in any GET route of the dashboard API, the exports, metrics or liveness', async () => {
      const { secrets, camera } = site;
      const fill: Record<string, string> = {
        ':id': String(recordingId),
        ':serial': camera.serialNumber,
        ':camera': camera.serialNumber,
        ':resource': 'exposure',
      };
      const routes = sourceGetRoutes();
      assert.ok(routes.length >= 20, `GET routes read from the source: ${routes.join(' ')}`);
      const answered: string[] = [];
      for (const route of routes) {
        if (route.endsWith('/mjpeg')) continue; // an endless stream of frames, no text
        const path = route.replace(/:[a-z]+/gi, (p) => {
          assert.ok(fill[p], `a value for ${p} of ${route}`);
          return encodeURIComponent(fill[p]);
        });
        const res = await site.api(path);
        const body = await res.text();
        answered.push(`${res.status} ${path}`);
        assert.ok(res.status < 500, `GET ${path} answered ${res.status}: ${body.slice(0, 300)}`);
        assert.deepEqual(leaked(body, secrets), [], `GET ${path}`);
        const headerText: string[] = [];
        res.headers.forEach((value, name) => headerText.push(`${name}: ${value}`));
        assert.deepEqual(leaked(headerText.join('\n'), secrets, ['sessionCookie']), [], path);
      }
      assert.ok(
        answered.some((a) => a.startsWith('200 /recordings')),
        answered.join('\n'),
      );
      for (const format of ['csv', 'json']) {
        const res = await site.api(`/exports/recordings?format=${format}`);
        assert.equal(res.status, 200);
        const body = await res.text();
        assert.ok(body.length > 0);
        assert.deepEqual(leaked(body, secrets), [], `export ${format}`);
      }
      // an API token's own requests do not echo it
      const byToken = await fetch(`${site.base}/pfcam/api/recordings`, {
        headers: { authorization: `Bearer ${secrets.apiToken}` },
      });
      assert.equal(byToken.status, 200);
      assert.deepEqual(leaked(await byToken.text(), secrets), []);
      const metrics = await fetch(`${site.base}/pfcam/metrics`, {
        headers: { authorization: `Bearer ${secrets.metricsToken}` },
      });
      assert.equal(metrics.status, 200);
      assert.deepEqual(leaked(await metrics.text(), secrets), []);
      const health = await fetch(`${site.base}/pfcam/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(leaked(await health.text(), secrets), []);
    });

    it('logs no secret and sends none in messages to the editor (debug, status, notifications)', () => {
      // the admin's name appears (sign-ins are logged), never a secret
      assert.match(site.output(), /Started flows/);
      assert.deepEqual(leaked(site.output(), site.secrets), []);
      assert.match(site.comms(), /"topic":"status\//);
      assert.match(site.comms(), /"topic":"debug"/, 'the flows sent messages');
      assert.deepEqual(leaked(site.comms(), site.secrets), []);
    });

    it('stores the API token and the session id hashed; no secret in the data folder', async () => {
      const { secrets } = site;
      const files = filesUnder(site.dataDir);
      assert.ok(files.some((f) => f.endsWith('pfcam.sqlite')));
      for (const file of files) {
        if (statSync(file).size > 50 * 1024 * 1024) continue;
        const text = readFileSync(file).toString('latin1');
        const inDatabase = /pfcam\.sqlite(-wal|-journal)?$/.test(file);
        // The session's CSRF token is session data: kept with the session, server side, by design.
        const skip: (keyof Secrets)[] = inDatabase ? ['csrfToken'] : [];
        // Node-RED keeps the editor's own login tokens in its user directory (.sessions.json).
        if (file.endsWith('.sessions.json')) skip.push('editorToken');
        assert.deepEqual(leaked(text, secrets, skip), [], file);
      }
      // the session id nowhere in the database (sessions are keyed by its hash), read row by row
      const db = await Database.open(join(site.dataDir, 'pfcam.sqlite'));
      try {
        const tables = await db.all<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        );
        const places: string[] = [];
        for (const { name } of tables) {
          const rows = await db.all<Record<string, unknown>>(`SELECT * FROM "${name}"`);
          for (const row of rows)
            for (const [column, value] of Object.entries(row))
              if (typeof value === 'string' && value.includes(secrets.sessionId))
                places.push(`${name}.${column}`);
        }
        assert.deepEqual([...new Set(places)], []);
      } finally {
        await db.close();
      }
    });
  });

  describe('path traversal', () => {
    const sentinelName = 'sentinel.txt';
    function variants(): string[] {
      const abs = site.sentinel.path;
      return [
        `../../${sentinelName}`,
        `..%2f..%2f..%2f${sentinelName}`,
        `%2e%2e%2f%2e%2e%2f%2e%2e%2f${sentinelName}`,
        `%2e%2e/%2e%2e/%2e%2e/${sentinelName}`,
        `..%5c..%5c..%5c${sentinelName}`,
        `..%255c..%255c${sentinelName}`,
        encodeURIComponent(abs),
        `%2f${abs.slice(1).split('/').map(encodeURIComponent).join('%2f')}`,
        `1%00`,
        `${encodeURIComponent('../../' + sentinelName)}%00.mp4`,
        'x'.repeat(4096),
      ];
    }

    function assertRefused(res: { status: number; body: string }, what: string): void {
      assert.ok(
        res.status >= 400 && res.status < 500,
        `${what} answered ${res.status}: ${res.body.slice(0, 200)}`,
      );
      assert.ok(!res.body.includes(site.sentinel.content), `${what} served the file outside the data folder`);
    }

    it('refuses names and files that would leave their folder on the media, download, live and export routes', async () => {
      const cookie = { cookie: `pfcam.sid=${site.secrets.sessionCookie}` };
      const serial = encodeURIComponent(site.camera.serialNumber);
      for (const v of variants()) {
        for (const path of [
          `/pfcam/api/recordings/${v}`,
          `/pfcam/api/recordings/${v}/video`,
          `/pfcam/api/recordings/${v}/thumbnail`,
          `/pfcam/api/recordings/${v}/download`,
          `/pfcam/api/cameras/${v}`,
          `/pfcam/api/cameras/${v}/settings`,
          `/pfcam/api/cameras/${serial}/live/${v}`,
          `/pfcam/api/live/${v}/state`,
          `/pfcam/api/live/${v}/snapshot`,
          `/pfcam/api/exports/recordings?format=${v}`,
        ])
          assertRefused(await rawGet(site.base, path, cookie), `GET ${path.slice(0, 120)}`);
        // a filter value is data, never a path: the export answers, without the file
        const filtered = await rawGet(
          site.base,
          `/pfcam/api/exports/recordings?format=csv&camera=${v}`,
          cookie,
        );
        assert.ok(!filtered.body.includes(site.sentinel.content));
      }
    });

    it('serves only its own files under /pfcam/pages/ and /ui/, and the login page never redirects off the site', async () => {
      const cookie = { cookie: `pfcam.sid=${site.secrets.sessionCookie}` };
      for (const v of variants()) {
        for (const path of [`/pfcam/pages/${v}`, `/pfcam/pages/login.js/${v}`, `/ui/${v}`])
          assertRefused(await rawGet(site.base, path, cookie), `GET ${path.slice(0, 120)}`);
      }
      for (const next of [
        '//evil.example/x',
        '/\\evil.example',
        'https://evil.example/',
        `../../${sentinelName}`,
      ]) {
        const res = await rawGet(site.base, `/pfcam/login?next=${encodeURIComponent(next)}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers['location'], undefined);
        assert.ok(!res.body.includes(site.sentinel.content));
      }
    });
  });

  describe('security headers and cookies', () => {
    function assertHeaders(headers: Headers, what: string, page: boolean): void {
      assert.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
      assert.notEqual(headers.get('access-control-allow-origin'), '*', `${what}: no wildcard CORS`);
      if (!page) return;
      const csp = headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, `${what}: CSP`);
      assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/, `${what}: no inline scripts`);
      assert.ok(
        /frame-ancestors 'none'/.test(csp) || /deny|sameorigin/i.test(headers.get('x-frame-options') ?? ''),
        `${what}: no framing`,
      );
      assert.match(
        headers.get('referrer-policy') ?? '',
        /no-referrer|same-origin|strict-origin/,
        `${what}: referrer`,
      );
    }

    it('sends CSP, nosniff, frame denial and a referrer policy on the login page and the dashboard, and nosniff on the API', async () => {
      const cookie = { cookie: `pfcam.sid=${site.secrets.sessionCookie}` };
      assertHeaders((await fetch(`${site.base}/pfcam/login`)).headers, 'login page', true);
      assertHeaders((await fetch(`${site.base}/pfcam/pages/login.js`)).headers, 'login script', true);
      assertHeaders(
        (await fetch(`${site.base}/ui/`, { headers: { ...cookie, accept: 'text/html' } })).headers,
        'dashboard',
        true,
      );
      for (const path of ['/session', '/recordings', '/nothing-here']) {
        const res = await site.api(path, { headers: { origin: 'http://evil.example' } });
        assertHeaders(res.headers, `API ${path}`, false);
      }
      const unauthenticated = await fetch(`${site.base}/pfcam/api/session`);
      assertHeaders(unauthenticated.headers, 'API 401', false);
    });

    it('refuses to be framed on the editor and its API', async () => {
      const token = { authorization: `Bearer ${site.secrets.editorToken}` };
      for (const path of ['/', '/flows', '/settings']) {
        const res = await fetch(`${site.base}${path}`, { headers: token });
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get('x-frame-options'), 'DENY', `editor ${path}`);
      }
    });

    it('sets the session cookie HttpOnly and SameSite=Strict', async () => {
      const cookie = (await site.context.cookies(site.base)).find((c) => c.name === 'pfcam.sid');
      assert.ok(cookie);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/');
    });
  });

  describe('camera-supplied strings are text on every screen', () => {
    it('shows the hostile camera name and event names as text on every dashboard screen, and none of them runs', async () => {
      const { page, base } = site;
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const shown = new Map<number, string>();
      for (let tab = 0; tab < 6; tab++) {
        await page.goto(`${base}/ui/#!/${tab}`);
        await page.waitForSelector('md-content', { timeout: 20_000 });
        if (tab === 1)
          await page.getByText(HOSTILE.img, { exact: false }).first().waitFor({ timeout: 20_000 });
        if (tab === 3)
          await page.waitForFunction(
            (name) => Array.from(document.querySelectorAll('input')).some((i) => i.value === name),
            HOSTILE_CAMERA_NAME,
            { timeout: 20_000 },
          );
        await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => undefined);
        const state = await page.evaluate(() => ({
          flag: (window as unknown as { __pfcamXss?: string }).__pfcamXss,
          injected: document.querySelectorAll('img[src="x"], script:not([src])').length,
          text: document.body.innerText,
        }));
        assert.equal(state.flag, undefined, `a camera-supplied string ran on tab ${tab}`);
        assert.equal(state.injected, 0, `camera-supplied markup became elements on tab ${tab}`);
        shown.set(tab, state.text);
        await page.screenshot({ path: join(root, 'test-artifacts', `hardening-tab-${tab}.png`) });
        assert.deepEqual(leaked(state.text, site.secrets), [], `tab ${tab} shows no secret`);
      }
      // the strings are shown as the camera sent them, not evaluated or stripped
      const recordings = shown.get(1) ?? '';
      assert.ok(recordings.includes(HOSTILE.img), 'the markup event name shows as text');
      assert.ok(recordings.includes(HOSTILE.ng), 'the expression event name shows unevaluated');
      assert.deepEqual(dialogs, []);
    });
  });
});
