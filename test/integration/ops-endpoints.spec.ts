import { strict as assert } from 'node:assert';
import { NodeRedProcess } from '../helpers/node-red-process';

const TOKEN = 'test-scrape-token-0123456789abcdef';

/** Starts Node-RED (this package from dist/) with PFCAM_METRICS_TOKEN set to `token` (unset when undefined). */
async function startWith(token: string | undefined): Promise<NodeRedProcess> {
  const saved = process.env.PFCAM_METRICS_TOKEN;
  if (token === undefined) delete process.env.PFCAM_METRICS_TOKEN;
  else process.env.PFCAM_METRICS_TOKEN = token;
  try {
    return await NodeRedProcess.start({
      flows: [{ id: 't1', type: 'tab', label: 'ops' }],
      // Editor security on: the endpoints must still answer (liveness) or ask for the token (metrics).
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            {
              username: 'admin',
              password: '$2y$08$0GL8DnAUyOEf3WwRs3XhQeEHjGCPm3f6tZRLbu8eu1Co6gaDN.MDe',
              permissions: '*',
            },
          ],
        },
      },
    });
  } finally {
    if (saved === undefined) delete process.env.PFCAM_METRICS_TOKEN;
    else process.env.PFCAM_METRICS_TOKEN = saved;
  }
}

describe('operations endpoints in a real Node-RED', function () {
  this.timeout(90_000);

  describe('with PFCAM_METRICS_TOKEN set', () => {
    let red: NodeRedProcess | undefined;

    before(async () => {
      red = await startWith(TOKEN);
    });

    after(async () => {
      await red?.dispose();
    });

    it('answers liveness without a session: 200 {"status":"pass"} as application/health+json', async () => {
      const res = await fetch(`${red!.url}/pfcam/healthz`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/health\+json/);
      assert.deepEqual(await res.json(), { status: 'pass' });
      // The editor itself is protected in this instance: liveness is the exception, not an open server.
      assert.equal((await fetch(`${red!.url}/flows`)).status, 401);
    });

    it('refuses metrics without the bearer token or with a wrong one (401)', async () => {
      const none = await fetch(`${red!.url}/pfcam/metrics`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      const wrong = await fetch(`${red!.url}/pfcam/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}x` },
      });
      assert.equal(wrong.status, 401);
      const text = await wrong.text();
      assert.doesNotMatch(text, /pfcam_/);
    });

    it('serves the Prometheus exposition to the bearer of the token', async () => {
      const res = await fetch(`${red!.url}/pfcam/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(text, /^# TYPE pfcam_recordings_archived_total counter$/m);
      assert.match(text, /^pfcam_cameras\{state="online"\} 0$/m);
      assert.match(text, /^pfcam_process_resident_memory_bytes \d+/m);
      assert.ok(!text.includes(TOKEN), 'the token is in the exposition');
    });
  });

  describe('without PFCAM_METRICS_TOKEN', () => {
    let red: NodeRedProcess | undefined;

    before(async () => {
      red = await startWith(undefined);
    });

    after(async () => {
      await red?.dispose();
    });

    it('has no metrics endpoint (404) but still answers liveness', async () => {
      assert.equal((await fetch(`${red!.url}/pfcam/metrics`)).status, 404);
      assert.equal(
        (await fetch(`${red!.url}/pfcam/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
        404,
      );
      assert.equal((await fetch(`${red!.url}/pfcam/healthz`)).status, 200);
    });
  });
});
