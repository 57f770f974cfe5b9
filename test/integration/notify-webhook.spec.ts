/**
 * Webhook notifications against a real HTTP receiver: signature, retries after 500, timeout, redirect refused,
 * allow-list (by host, by range, at the resolved address).
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier, type DeliveryReport, type WebhookBody } from '../../lib/notify/dispatcher';
import { parseNotifyOptions } from '../../lib/notify/notify-options';
import type { DeliveryError } from '../../lib/notify/outbox';
import { WebhookSender, parseAllowList, verifyWebhookSignature } from '../../lib/notify/webhook';
import { Database } from '../../lib/store/database';
import { Recorder, offlineAt, recordingAt } from '../helpers/notify-fixtures';
import { TestHttpReceiver } from '../helpers/notify-servers';

const SECRET = 'hook-secret-0123456789';

describe('webhook notifications (real HTTP receiver)', function () {
  this.timeout(20_000);
  let dir: string;
  let db: Database;
  let receiver: TestHttpReceiver;
  let reports: Recorder<DeliveryReport>;
  let retries: Recorder<DeliveryError>;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-notify-hook-'));
    db = await Database.open(join(dir, 'db.sqlite'));
    receiver = await TestHttpReceiver.start();
    reports = new Recorder();
    retries = new Recorder();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await receiver.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function hook(
    options: { url?: string; allow?: string; timeoutMs?: number; maxAttempts?: number } = {},
  ): WebhookSender {
    const s = new WebhookSender({
      url: options.url ?? `${receiver.url}/hooks/pfcam`,
      secret: SECRET,
      timeoutMs: options.timeoutMs ?? 3_000,
      allow: parseAllowList(options.allow ?? '127.0.0.1'),
      maxAttempts: options.maxAttempts ?? 5,
    });
    cleanups.push(() => s.close());
    return s;
  }

  function notifier(sender: WebhookSender): Notifier {
    const n = new Notifier({
      db,
      owner: 'notify-hook',
      options: parseNotifyOptions({
        site: 'Plant A',
        timeZone: 'UTC',
        cooldown: 0,
        dashboard: false,
        retryDelay: 0.05,
      }),
      channels: { webhook: { id: 'hook-1', sender } },
      onReport: (r) => reports.push(r),
      onRetry: (_row, err) => retries.push(err),
    });
    cleanups.push(() => n.close());
    return n;
  }

  it('posts a JSON body whose signature the receiver verifies', async () => {
    const n = notifier(hook());
    await n.submit(recordingAt(1, Date.parse('2025-03-04T13:05:09Z')));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'delivered');
    const [req] = receiver.requests.items;
    assert.ok(req);
    assert.equal(req.url, '/hooks/pfcam');
    assert.equal(req.headers['content-type'], 'application/json');
    const ts = req.headers['x-pfcam-timestamp'] as string;
    const sig = req.headers['x-pfcam-signature'] as string;
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(SECRET, req.body, ts, sig), true);
    assert.equal(verifyWebhookSignature('another-secret-123456', req.body, ts, sig), false);
    const body = JSON.parse(req.body) as WebhookBody;
    assert.equal(body.kind, 'recording');
    assert.equal(body.site, 'Plant A');
    assert.equal(body.delivery, req.headers['x-pfcam-delivery']);
    assert.deepEqual(body.camera, { serialNumber: 'PF-1', name: 'Camera PF-1' });
    assert.equal(body.data.fileName, 'f1');
    assert.doesNotMatch(req.body, new RegExp(SECRET));
  });

  it('retries after a 500 with the same delivery id and a fresh signature', async () => {
    receiver.respond = (_req, i) => (i < 2 ? { status: 500 } : { status: 200 });
    const n = notifier(hook());
    await n.submit(offlineAt(Date.now()));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(receiver.requests.items.length, 3);
    assert.equal(reports.items[0]?.deliveries[0]?.attempts, 3);
    assert.equal(new Set(receiver.requests.items.map((r) => r.headers['x-pfcam-delivery'])).size, 1);
    for (const r of receiver.requests.items) {
      assert.ok(
        verifyWebhookSignature(
          SECRET,
          r.body,
          r.headers['x-pfcam-timestamp'] as string,
          r.headers['x-pfcam-signature'] as string,
        ),
      );
    }
    assert.deepEqual(
      retries.items.map((e) => [e.key, e.params.status]),
      [
        ['errors.webhookStatus', 500],
        ['errors.webhookStatus', 500],
      ],
    );
  });

  it('does not retry a 4xx other than 408/429', async () => {
    receiver.respond = () => ({ status: 422 });
    const n = notifier(hook());
    await n.submit(offlineAt(Date.now()));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'failed');
    assert.equal(receiver.requests.items.length, 1);
  });

  it('times out a receiver that does not answer, and retries', async () => {
    receiver.respond = (_req, i) => (i === 0 ? 'hang' : { status: 204 });
    const n = notifier(hook({ timeoutMs: 300 }));
    await n.submit(offlineAt(Date.now()));
    await retries.waitFor((r) => r.length === 1, 'a timeout');
    assert.equal(retries.items[0]?.key, 'errors.webhookTimeout');
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'delivered');
    assert.equal(receiver.requests.items.length, 2);
  });

  it('refuses a redirect, never following it', async () => {
    const other = await TestHttpReceiver.start();
    cleanups.push(() => other.stop());
    receiver.respond = () => ({ status: 302, headers: { location: `${other.url}/elsewhere` } });
    const n = notifier(hook());
    await n.submit(offlineAt(Date.now()));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'failed');
    assert.equal(reports.items[0]?.deliveries[0]?.errorKey, 'errors.webhookRedirect');
    assert.equal(receiver.requests.items.length, 1);
    assert.equal(other.requests.items.length, 0);
  });

  it('refuses a local address unless allowed, by host name or by range at the resolved address', async () => {
    const notAllowed = hook({ allow: '' });
    await assert.rejects(
      notAllowed.post('{}', 'd1'),
      (e: DeliveryError) => e.key === 'errors.webhookHostRefused' && !e.retryable,
    );
    const otherHost = hook({ allow: 'hooks.plant.example, 10.0.0.0/8' });
    await assert.rejects(
      otherHost.post('{}', 'd2'),
      (e: DeliveryError) => e.key === 'errors.webhookHostRefused',
    );
    const byNameUnlisted = hook({ url: `http://localhost:${receiver.port}/x`, allow: '' });
    await assert.rejects(
      byNameUnlisted.post('{}', 'd3'),
      (e: DeliveryError) => e.key === 'errors.webhookHostRefused',
    );
    const byNameOtherRange = hook({ url: `http://localhost:${receiver.port}/x`, allow: '10.0.0.0/8' });
    await assert.rejects(
      byNameOtherRange.post('{}', 'd4'),
      (e: DeliveryError) => e.key === 'errors.webhookHostRefused',
    );
    assert.equal(receiver.requests.items.length, 0);

    assert.deepEqual(await hook({ allow: '127.0.0.1' }).post('{}', 'd5'), { status: 204 });
    assert.deepEqual(
      await hook({ url: `http://localhost:${receiver.port}/x`, allow: 'localhost' }).post('{}', 'd6'),
      { status: 204 },
    );
    assert.deepEqual(
      await hook({ url: `http://localhost:${receiver.port}/x`, allow: '127.0.0.0/8, ::1/128' }).post(
        '{}',
        'd7',
      ),
      {
        status: 204,
      },
    );
    assert.equal(receiver.requests.items.length, 3);
  });

  it('reports a refused host as a final failure of the delivery', async () => {
    const n = notifier(hook({ allow: 'hooks.plant.example' }));
    await n.submit(offlineAt(Date.now()));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'failed');
    assert.equal(reports.items[0]?.deliveries[0]?.errorKey, 'errors.webhookHostRefused');
    assert.equal(receiver.requests.items.length, 0);
  });
});
