import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier, type DeliveryReport, type ToastMessage } from '../../lib/notify/dispatcher';
import type { EmailMessage } from '../../lib/notify/email';
import { parseNotifyOptions, type RawNotifyConfig } from '../../lib/notify/notify-options';
import { DeliveryError } from '../../lib/notify/outbox';
import { Database } from '../../lib/store/database';
import { ManualClock, Recorder, offlineAt, recordingAt } from '../helpers/notify-fixtures';

/** An email channel that records what it was given and fails on demand. */
class FakeEmail {
  readonly sent = new Recorder<EmailMessage>();
  readonly attempts = new Recorder<EmailMessage>();
  failures: DeliveryError[] = [];

  send(mail: EmailMessage): Promise<unknown> {
    this.attempts.push(mail);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    this.sent.push(mail);
    return Promise.resolve({});
  }
}

describe('Notifier (cooldown, outbox, reports)', () => {
  let dir: string;
  let db: Database;
  let clock: ManualClock;
  let email: FakeEmail;
  let reports: Recorder<DeliveryReport>;
  let toasts: Recorder<ToastMessage>;
  let retries: Recorder<string>;
  const notifiers: Notifier[] = [];

  function make(raw: RawNotifyConfig = {}): Notifier {
    const n = new Notifier({
      db,
      owner: 'notify-1',
      options: parseNotifyOptions({
        timeZone: 'UTC',
        recipients: 'ops@plant.example',
        retryDelay: 1,
        ...raw,
      }),
      channels: { email, dashboard: (t) => toasts.push(t) },
      clock,
      onReport: (r) => reports.push(r),
      onRetry: (_row, err) => retries.push(err.key),
    });
    notifiers.push(n);
    return n;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-notify-'));
    db = await Database.open(join(dir, 'db.sqlite'));
    clock = new ManualClock();
    email = new FakeEmail();
    reports = new Recorder();
    toasts = new Recorder();
    retries = new Recorder();
  });

  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the first recording at once, groups a storm of 50 in a minute into one summary', async () => {
    const notifier = make({ cooldown: 60 });
    await notifier.start();
    const t0 = clock.now();
    const first = await notifier.submit(recordingAt(0, t0));
    assert.equal(first.outcome, 'queued');
    await email.sent.waitFor((s) => s.length === 1, 'the first email');
    for (let i = 1; i < 50; i++) {
      clock.advance(1_000);
      const r = await notifier.submit(recordingAt(i, clock.now()));
      assert.equal(r.outcome, 'grouped');
      assert.equal(r.report?.groupedUntil, new Date(t0 + 60_000).toISOString());
    }
    assert.equal(email.sent.items.length, 1);
    clock.advance(11_000);
    await email.sent.waitFor((s) => s.length === 2, 'the summary');
    assert.match(email.sent.items[1]!.subject, /49 new recordings on Camera PF-1/);
    assert.match(email.sent.items[1]!.text, /between 2025-03-04 12:00:01 UTC and 2025-03-04 12:00:49 UTC/);
    await reports.waitFor(
      (r) => r.some((x) => x.group?.count === 49 && x.outcome === 'delivered'),
      'the summary report',
    );
    await toasts.waitFor((t) => t.length === 2, 'two toasts');
    assert.equal(toasts.items[1]!.title, '49 new recordings on Camera PF-1');
  });

  it('keeps a continuing storm grouped: one summary per window, then a quiet period sends at once again', async () => {
    const notifier = make({ cooldown: 60 });
    const t0 = clock.now();
    await notifier.submit(recordingAt(0, t0));
    clock.advance(30_000);
    await notifier.submit(recordingAt(1, clock.now()));
    clock.advance(30_000); // window 1 ends: summary of 1, window 2 opens
    await email.sent.waitFor((s) => s.length === 2, 'first summary');
    clock.advance(10_000);
    assert.equal((await notifier.submit(recordingAt(2, clock.now()))).outcome, 'grouped');
    clock.advance(50_000); // window 2 ends
    await email.sent.waitFor((s) => s.length === 3, 'second summary');
    assert.match(email.sent.items[2]!.subject, /1 new recording on/);
    clock.advance(60_000); // window 3 ends empty
    clock.advance(10_000);
    assert.equal((await notifier.submit(recordingAt(3, clock.now()))).outcome, 'queued');
    await email.sent.waitFor((s) => s.length === 4, 'a fresh first');
  });

  it('groups per camera and per kind', async () => {
    const notifier = make({ cooldown: 60 });
    const t = clock.now();
    assert.equal((await notifier.submit(recordingAt(0, t, 'PF-1'))).outcome, 'queued');
    assert.equal((await notifier.submit(recordingAt(1, t, 'PF-2'))).outcome, 'queued');
    assert.equal((await notifier.submit(offlineAt(t, 'PF-1'))).outcome, 'queued');
    assert.equal((await notifier.submit(recordingAt(2, t + 1, 'PF-1'))).outcome, 'grouped');
  });

  it('after a restart mid-window neither resends the first nor loses the group', async () => {
    let notifier = make({ cooldown: 60 });
    const t0 = clock.now();
    await notifier.submit(recordingAt(0, t0));
    await email.sent.waitFor((s) => s.length === 1, 'the first email');
    for (let i = 1; i <= 5; i++) await notifier.submit(recordingAt(i, t0 + i * 1000));
    await notifier.close();

    clock.advance(30_000);
    notifier = make({ cooldown: 60 });
    await notifier.start();
    // A replay of what was already told is recognised.
    assert.equal((await notifier.submit(recordingAt(0, t0))).outcome, 'duplicate');
    assert.equal((await notifier.submit(recordingAt(3, t0 + 3000))).outcome, 'duplicate');
    clock.advance(30_000);
    await email.sent.waitFor((s) => s.length === 2, 'the summary after restart');
    assert.match(email.sent.items[1]!.subject, /5 new recordings/);
    assert.equal(new Set(email.sent.items.map((m) => m.messageId)).size, 2);
  });

  it('tells an overdue group as soon as it starts after a long stop', async () => {
    let notifier = make({ cooldown: 60 });
    const t0 = clock.now();
    await notifier.submit(recordingAt(0, t0));
    await notifier.submit(recordingAt(1, t0 + 1000));
    await notifier.close();
    clock.advance(3600_000);
    notifier = make({ cooldown: 60 });
    await notifier.start();
    await email.sent.waitFor((s) => s.length === 2, 'the overdue summary');
    assert.match(email.sent.items[1]!.subject, /1 new recording on/);
  });

  it('retries a transient failure with backoff and reports only once delivered', async () => {
    email.failures = [
      new DeliveryError('errors.smtpUnreachable', 'down', true),
      new DeliveryError('errors.smtpUnreachable', 'down', true),
    ];
    const notifier = make({ cooldown: 0, dashboard: false });
    await notifier.submit(recordingAt(0, clock.now()));
    await retries.waitFor((r) => r.length === 1, 'the first retry');
    assert.equal(reports.items.length, 0);
    const firstDelay = clock.nextTimerAt! - clock.now();
    assert.ok(firstDelay >= 800 && firstDelay <= 1_200, `first delay ${firstDelay} is about the base delay`);
    clock.advance(firstDelay);
    await retries.waitFor((r) => r.length === 2, 'the second retry');
    const secondDelay = clock.nextTimerAt! - clock.now();
    assert.ok(secondDelay >= 1_500 && secondDelay <= 2_400, `second delay ${secondDelay} doubles the first`);
    clock.advance(secondDelay);
    await reports.waitFor((r) => r.length === 1, 'the report');
    const [report] = reports.items;
    assert.equal(report?.outcome, 'delivered');
    assert.equal(report?.deliveries[0]?.attempts, 3);
    assert.equal(email.sent.items.length, 1);
  });

  it('gives up at once on a permanent refusal and reports the error key', async () => {
    email.failures = [new DeliveryError('errors.smtpRejected', '550 no such user', false)];
    const notifier = make({ cooldown: 0, dashboard: false });
    await notifier.submit(offlineAt(clock.now()));
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'failed');
    assert.equal(reports.items[0]?.deliveries[0]?.errorKey, 'errors.smtpRejected');
    assert.equal(email.attempts.items.length, 1);
  });

  it('resumes pending deliveries after a restart and sends each exactly once', async () => {
    email.failures = Array.from(
      { length: 3 },
      () => new DeliveryError('errors.smtpUnreachable', 'down', true),
    );
    let notifier = make({ cooldown: 0, dashboard: false });
    for (let i = 0; i < 3; i++) await notifier.submit(recordingAt(i, clock.now() + i));
    await email.attempts.waitFor((a) => a.length === 3, 'three failed attempts');
    await notifier.close();
    assert.equal(email.sent.items.length, 0);

    notifier = make({ cooldown: 0, dashboard: false });
    await notifier.start();
    await reports.waitFor((r) => r.length === 3, 'three reports');
    assert.deepEqual(email.sent.items.map((m) => m.subject).sort(), [
      '[PFCAM] New recording on Camera PF-1',
      '[PFCAM] New recording on Camera PF-1',
      '[PFCAM] New recording on Camera PF-1',
    ]);
    assert.equal(new Set(email.sent.items.map((m) => m.messageId)).size, 3);
    await notifier.close();
    notifier = make({ cooldown: 0, dashboard: false });
    await notifier.start();
    assert.equal(await notifier.pendingCount(), 0);
    assert.equal(email.sent.items.length, 3);
  });

  it('redelivers, with the same Message-ID, a delivery cut off mid-send (the documented at-least-once window)', async () => {
    let notifier = make({ cooldown: 0, dashboard: false });
    await notifier.start();
    await notifier.submit(recordingAt(0, clock.now()));
    await email.sent.waitFor((s) => s.length === 1, 'the email');
    await reports.waitFor((r) => r.length === 1, 'the report');
    await notifier.close();
    // As if the process died after the server accepted and before the row was marked.
    await db.run("UPDATE notify_outbox SET state = 'sending'");
    notifier = make({ cooldown: 0, dashboard: false });
    await notifier.start();
    await email.sent.waitFor((s) => s.length === 2, 'the redelivery');
    assert.equal(email.sent.items[0]!.messageId, email.sent.items[1]!.messageId);
  });

  it('records quiet-hour recipients as suppressed and reports no-recipients when nobody is left', async () => {
    const notifier = make({ cooldown: 0, dashboard: false, recipients: '' });
    await notifier.recipients.save({
      name: 'Night',
      email: 'night@plant.example',
      quietHours: { start: '11:00', end: '13:00' },
    });
    const r = await notifier.submit(offlineAt(clock.now()));
    assert.equal(r.outcome, 'queued');
    assert.equal(r.report?.outcome, undefined);
    const result = await db.all<{ state: string }>('SELECT state FROM notify_outbox');
    assert.deepEqual(result, [{ state: 'suppressed' }]);
    const none = await make({
      cooldown: 0,
      dashboard: false,
      recipients: '',
      useRecipientTable: false,
    }).submit(recordingAt(9, clock.now()));
    assert.equal(none.outcome, 'no-recipients');
  });

  it('filters kinds the node does not notify, and adds the recipients a message carries', async () => {
    const notifier = make({ cooldown: 0, dashboard: false, kinds: ['camera-offline'] });
    assert.equal((await notifier.submit(recordingAt(0, clock.now()))).outcome, 'filtered');
    await notifier.submit(offlineAt(clock.now()), [{ email: 'extra@plant.example' }]);
    await email.sent.waitFor((s) => s.length === 2, 'two emails');
    assert.deepEqual(email.sent.items.map((m) => m.to).sort(), ['extra@plant.example', 'ops@plant.example']);
  });

  it('shapes dashboard toasts with severity colour and the users who asked for them', async () => {
    const notifier = make({ cooldown: 0, recipients: '' });
    await notifier.recipients.save({ name: 'Op', userId: 'op-1', channels: ['dashboard'] });
    await notifier.submit(offlineAt(clock.now()));
    await toasts.waitFor((t) => t.length === 1, 'a toast');
    assert.deepEqual(
      { title: toasts.items[0]!.title, severity: toasts.items[0]!.severity, users: toasts.items[0]!.users },
      { title: 'Camera PF-1 is offline', severity: 'error', users: ['op-1'] },
    );
  });
});
