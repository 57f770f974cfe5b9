/**
 * The pfcam-notify node in a real Node-RED runtime, with a real store (SQLite file) and a real SMTP server.
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryReport, ToastMessage } from '../../lib/notify/dispatcher';
import notifyNode from '../../nodes/pfcam-notify/pfcam-notify';
import smtpNode from '../../nodes/pfcam-smtp/pfcam-smtp';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import webhookNode from '../../nodes/pfcam-webhook/pfcam-webhook';
import { helper, type FlowNode } from '../helpers/node-red';
import { coreNodeModule } from '../helpers/node-red-install';
import { Recorder } from '../helpers/notify-fixtures';
import { TestHttpReceiver, TestSmtpServer, freePort } from '../helpers/notify-servers';

// the catch node of the runtime under test (Node-RED 4 or 5)
const catchNode = coreNodeModule('core/common/25-catch.js');

const COMMON = '@pfcam/node-red-pfcam/pfcam-camera:common.';
const PASSWORD = 'smtp-Pa55word-xyz';
const HOOK_SECRET = 'hook-secret-0123456789';

type TestNode = ReturnType<typeof helper.getNode>;
type StatusSpy = { getCalls(): { thisValue: unknown; args: unknown[] }[] };

interface ToastMsg {
  topic: string;
  payload: string;
  highlight: string;
  notification: ToastMessage;
}

interface ReportMsg {
  topic: string;
  payload: DeliveryReport;
  custom?: string;
}

function statuses(id: string): { fill?: string; shape?: string; text?: string }[] {
  const node = helper.getNode(id) as TestNode & { status: StatusSpy };
  return node.status
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as { fill?: string; text?: string });
}

function collect<T>(node: TestNode): Recorder<T> {
  const r = new Recorder<T>();
  node.on('input', (msg: T) => r.push(msg));
  return r;
}

function waitForStatus(
  id: string,
  predicate: (s: { fill?: string; text?: string }) => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (statuses(id).some(predicate)) resolve();
      else if (Date.now() > deadline) reject(new Error(`no status: ${what}`));
      else setImmediate(check);
    };
    check();
  });
}

const recording = (i: number): Record<string, unknown> => ({
  id: i,
  cameraSerial: 'PF-001',
  cameraName: 'Gate',
  fileName: `f${i}`,
  eventName: 'door',
  triggeredAtUtc: new Date(Date.parse('2025-03-04T13:05:09Z') + i * 1000).toISOString(),
  playbackTime: 12,
  videoPath: `PF-001/f${i}.mp4`,
  thumbPath: 'PF-001/thumb.jpg',
  videoSize: 1000,
  sha256: 'ab',
});

describe('pfcam-notify node', function () {
  this.timeout(20_000);
  let dir: string;
  let smtp: TestSmtpServer | undefined;
  let smtpPort: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-notify-node-'));
    await mkdir(join(dir, 'media', 'PF-001'), { recursive: true });
    await writeFile(join(dir, 'media', 'PF-001', 'thumb.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    smtpPort = await freePort();
  });

  afterEach(async () => {
    await helper.unload();
    await smtp?.stop();
    smtp = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function flow(notify: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(dir, 'db.sqlite'),
        mediaDir: join(dir, 'media'),
      },
      {
        id: 'smtp',
        type: 'pfcam-smtp',
        host: '127.0.0.1',
        port: smtpPort,
        security: 'none',
        from: 'PFCAM <alerts@plant.example>',
        timeout: 3,
      },
      {
        id: 'n',
        type: 'pfcam-notify',
        z: 'f1',
        store: 'store',
        smtp: 'smtp',
        site: 'Plant A',
        timeZone: 'Europe/Berlin',
        recipients: 'ops@plant.example',
        cooldown: 60,
        retryDelay: 0.05,
        ...notify,
        wires: [['toast'], ['report']],
      },
      { id: 'toast', type: 'helper', z: 'f1' },
      { id: 'report', type: 'helper', z: 'f1' },
      { id: 'catch', type: 'catch', z: 'f1', x: 0, y: 0, scope: ['n'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
  }

  const credentials = { smtp: { user: 'pfcam', password: PASSWORD } };

  it('turns a new recording into a dashboard toast and an email, then reports the delivery', async () => {
    smtp = await TestSmtpServer.start({ port: smtpPort, auth: { user: 'pfcam', pass: PASSWORD } });
    await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], flow(), credentials);
    const toasts = collect<ToastMsg>(helper.getNode('toast'));
    const reports = collect<ReportMsg>(helper.getNode('report'));
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(1) });
    await toasts.waitFor((t) => t.length === 1, 'the toast');
    const toast = toasts.items[0]!;
    assert.equal(toast.topic, 'New recording on Gate');
    assert.equal(toast.payload, 'Gate recorded "door" at 2025-03-04 14:05:10 CET (12 s).');
    assert.equal(toast.highlight, '#1e88e5');
    assert.equal(toast.notification.kind, 'recording');
    await reports.waitFor((r) => r.length === 1, 'the report');
    const report = reports.items[0]!;
    assert.equal(report.topic, 'pfcam/notify/report');
    assert.equal(report.payload.outcome, 'delivered');
    assert.deepEqual(report.payload.deliveries.map((d) => [d.channel, d.recipient, d.state]).sort(), [
      ['dashboard', 'dashboard', 'sent'],
      ['email', 'ops@plant.example', 'sent'],
    ]);
    await smtp.mails.waitFor((m) => m.length === 1, 'the email');
    assert.equal(smtp.mails.items[0]!.parsed.attachments.length, 1);
    assert.doesNotMatch(JSON.stringify([report, toast, statuses('n')]), new RegExp(PASSWORD));
    await waitForStatus(
      'n',
      (s) => s.text === `${COMMON}status.notifyCounts` && s.fill === 'green',
      'counts',
    );
  });

  it('groups a second recording within the cooldown and reports it at once on the same message', async () => {
    smtp = await TestSmtpServer.start({ port: smtpPort, auth: { user: 'pfcam', pass: PASSWORD } });
    await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], flow(), credentials);
    const reports = collect<ReportMsg>(helper.getNode('report'));
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(1) });
    await reports.waitFor((r) => r.length === 1, 'the first report');
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(2), custom: 'kept' });
    await reports.waitFor((r) => r.length === 2, 'the grouped report');
    const grouped = reports.items[1]!;
    assert.equal(grouped.payload.outcome, 'grouped');
    assert.equal(grouped.custom, 'kept');
    assert.ok(grouped.payload.groupedUntil);
    assert.equal(smtp.mails.items.length, 1);
  });

  it('rejects a message it cannot map through done(err), with the i18n key on a red status', async () => {
    await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], flow(), credentials);
    const caught = collect<{ error: { message: string } }>(helper.getNode('caught'));
    helper.getNode('n').receive({ payload: 'hello' });
    await caught.waitFor((c) => c.length === 1, 'the caught error');
    assert.match(caught.items[0]!.error.message, /expected a new recording/);
    assert.deepEqual(statuses('n').at(-1), {
      fill: 'red',
      shape: 'ring',
      text: `${COMMON}errors.notifyInput`,
    });
  });

  it('shows the retry on the status during an SMTP outage and delivers once after a redeploy', async () => {
    await helper.load(
      [storeNode, smtpNode, webhookNode, notifyNode, catchNode],
      flow({ cooldown: 0, dashboard: false }),
      credentials,
    );
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(3) });
    await waitForStatus(
      'n',
      (s) => s.fill === 'yellow' && s.text === `${COMMON}errors.smtpUnreachable`,
      'retrying',
    );
    await helper.unload();

    smtp = await TestSmtpServer.start({ port: smtpPort, auth: { user: 'pfcam', pass: PASSWORD } });
    await helper.load(
      [storeNode, smtpNode, webhookNode, notifyNode, catchNode],
      flow({ cooldown: 0, dashboard: false }),
      credentials,
    );
    const reports = collect<ReportMsg>(helper.getNode('report'));
    await reports.waitFor((r) => r.length === 1, 'the report after redeploy');
    assert.equal(reports.items[0]!.payload.outcome, 'delivered');
    assert.equal(smtp.mails.items.length, 1);
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(3) });
    await reports.waitFor((r) => r.length === 2, 'the duplicate report');
    assert.equal(reports.items[1]!.payload.outcome, 'duplicate');
    assert.equal(smtp.mails.items.length, 1);
  });

  it('posts to a configured webhook, its secret kept out of the flow and the messages', async () => {
    const receiver = await TestHttpReceiver.start();
    try {
      const nodes = flow({ smtp: '', webhook: 'hook', cooldown: 0 });
      nodes.push({
        id: 'hook',
        type: 'pfcam-webhook',
        url: `${receiver.url}/in`,
        allowList: '127.0.0.1',
        timeout: 2,
        retries: 2,
      });
      await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], nodes, {
        hook: { secret: HOOK_SECRET },
      });
      const reports = collect<ReportMsg>(helper.getNode('report'));
      helper
        .getNode('n')
        .receive({ notification: { kind: 'storage-low', freeBytes: 1e9, totalBytes: 1e11, path: '/data' } });
      await reports.waitFor((r) => r.length === 1, 'the report');
      assert.deepEqual(reports.items[0]!.payload.deliveries.map((d) => [d.channel, d.state]).sort(), [
        ['dashboard', 'sent'],
        ['webhook', 'sent'],
      ]);
      assert.equal(receiver.requests.items.length, 1);
      assert.doesNotMatch(JSON.stringify(reports.items), new RegExp(HOOK_SECRET));
      assert.equal((helper.getNode('hook') as unknown as { secret?: string }).secret, undefined);
    } finally {
      await receiver.stop();
    }
  });

  it('keeps working on the dashboard when the webhook settings are invalid, and holds the webhook deliveries', async () => {
    const nodes = flow({ smtp: '', webhook: 'hook', cooldown: 0 });
    nodes.push({
      id: 'hook',
      type: 'pfcam-webhook',
      url: 'https://mes.plant.example/hook',
      allowList: '',
      timeout: 2,
      retries: 2,
    });
    await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], nodes, {});
    const toasts = collect<ToastMsg>(helper.getNode('toast'));
    await waitForStatus(
      'n',
      (s) => s.fill === 'red' && s.text === `${COMMON}errors.notifyChannelConfig`,
      'red status',
    );
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(4) });
    await toasts.waitFor((t) => t.length === 1, 'the toast');
    await waitForStatus(
      'n',
      (s) => s.fill === 'yellow' && s.text === `${COMMON}errors.notifyChannelConfig`,
      'retrying',
    );
  });

  it('without a store shows a red status and rejects input', async () => {
    const nodes = flow({ store: '' }).filter((n) => n.id !== 'store');
    await helper.load([storeNode, smtpNode, webhookNode, notifyNode, catchNode], nodes, credentials);
    const caught = collect<{ error: { message: string } }>(helper.getNode('caught'));
    helper.getNode('n').receive({ topic: 'pfcam/recording', payload: recording(1) });
    await caught.waitFor((c) => c.length === 1, 'the caught error');
    assert.match(caught.items[0]!.error.message, /no pfcam-store/);
    assert.deepEqual(statuses('n').at(-1), {
      fill: 'red',
      shape: 'ring',
      text: `${COMMON}errors.notifyNoStore`,
    });
  });
});
