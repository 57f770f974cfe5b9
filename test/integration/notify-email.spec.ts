/**
 * Email notifications against a real SMTP server (smtp-server, parsed with mailparser): content, inline
 * thumbnail, STARTTLS, refused login, and an SMTP outage with a restart in between.
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier, type DeliveryReport } from '../../lib/notify/dispatcher';
import { EmailSender, resolveMediaFile, type SmtpOptions } from '../../lib/notify/email';
import { parseNotifyOptions, type RawNotifyConfig } from '../../lib/notify/notify-options';
import type { DeliveryError } from '../../lib/notify/outbox';
import { Database } from '../../lib/store/database';
import { Recorder, recordingAt } from '../helpers/notify-fixtures';
import { TestSmtpServer, freePort } from '../helpers/notify-servers';

const PASSWORD = 's3cret-Pa55word';
const THUMB = Buffer.from(
  'ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffd9',
  'hex',
);

describe('email notifications (real SMTP server)', function () {
  this.timeout(20_000);
  let dir: string;
  let mediaDir: string;
  let db: Database;
  let smtp: TestSmtpServer | undefined;
  let reports: Recorder<DeliveryReport>;
  let retries: Recorder<DeliveryError>;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-notify-mail-'));
    mediaDir = join(dir, 'media');
    await mkdir(join(mediaDir, 'PF-1', '2025'), { recursive: true });
    await writeFile(join(mediaDir, 'PF-1', '2025', 'f0.jpg'), THUMB);
    db = await Database.open(join(dir, 'db.sqlite'));
    reports = new Recorder();
    retries = new Recorder();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await smtp?.stop();
    smtp = undefined;
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function smtpOptions(port: number, partial: Partial<SmtpOptions> = {}): SmtpOptions {
    return {
      host: '127.0.0.1',
      port,
      security: 'none',
      user: '',
      password: '',
      from: 'PFCAM <alerts@plant.example>',
      tlsVerify: true,
      timeoutMs: 3_000,
      ...partial,
    };
  }

  function notifier(sender: EmailSender, raw: RawNotifyConfig = {}): Notifier {
    const n = new Notifier({
      db,
      owner: 'notify-mail',
      options: parseNotifyOptions({
        site: 'Plant A',
        timeZone: 'Europe/Berlin',
        dashboardUrl: 'http://nr.plant.example:1880/ui',
        recipients: 'Ops <ops@plant.example>',
        cooldown: 0,
        dashboard: false,
        retryDelay: 0.05,
        ...raw,
      }),
      channels: { email: sender },
      mediaDir,
      onReport: (r) => reports.push(r),
      onRetry: (_row, err) => retries.push(err),
    });
    cleanups.push(() => n.close());
    return n;
  }

  function sender(options: SmtpOptions): EmailSender {
    const s = new EmailSender(options);
    cleanups.push(() => s.close());
    return s;
  }

  it('sends text and HTML with camera, event, local time, clip length and link, and the thumbnail inline', async () => {
    smtp = await TestSmtpServer.start();
    const n = notifier(sender(smtpOptions(smtp.port)));
    const rec = recordingAt(0, Date.parse('2025-03-04T13:05:09Z'), 'PF-1', 'PF-1/2025/f0.jpg');
    rec.recording.eventName = 'door <open>';
    rec.recording.playbackTime = 75;
    await n.submit(rec);
    await smtp.mails.waitFor((m) => m.length === 1, 'the email');
    const mail = smtp.mails.items[0]!;
    assert.equal(mail.parsed.subject, '[Plant A] New recording on Camera PF-1');
    assert.deepEqual(mail.envelopeTo, ['ops@plant.example']);
    assert.match(mail.parsed.text ?? '', /Event: door <open>/);
    assert.match(mail.parsed.text ?? '', /Time: 2025-03-04 14:05:09 CET/);
    assert.match(mail.parsed.text ?? '', /Clip length: 1 min 15 s/);
    assert.match(mail.parsed.text ?? '', /http:\/\/nr\.plant\.example:1880\/ui\?event=0/);
    const html = typeof mail.parsed.html === 'string' ? mail.parsed.html : '';
    assert.match(html, /door &lt;open&gt;/);
    const [att] = mail.parsed.attachments;
    assert.ok(att, 'an attachment');
    assert.ok(att.cid && html.includes(`cid:${att.cid}`), 'the HTML shows the attachment by cid');
    assert.equal(att.contentDisposition, 'inline');
    assert.deepEqual(att.content, THUMB);
    assert.match(mail.parsed.messageId ?? '', /^<[0-9a-f]{40}@pfcam>$/);
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'delivered');
    assert.equal(reports.items[0]?.deliveries[0]?.state, 'sent');
  });

  it('never attaches a file from outside the media folder', async () => {
    await writeFile(join(dir, 'secret.jpg'), THUMB);
    await symlink(join(dir, 'secret.jpg'), join(mediaDir, 'link.jpg'));
    assert.equal(await resolveMediaFile(mediaDir, '../secret.jpg'), null);
    assert.equal(await resolveMediaFile(mediaDir, join(dir, 'secret.jpg')), null);
    assert.equal(await resolveMediaFile(mediaDir, 'link.jpg'), null);
    assert.equal(
      await resolveMediaFile(mediaDir, join(mediaDir, 'PF-1', '2025', 'f0.jpg')),
      join(mediaDir, 'PF-1', '2025', 'f0.jpg'),
    );
    smtp = await TestSmtpServer.start();
    const n = notifier(sender(smtpOptions(smtp.port)));
    await n.submit(recordingAt(1, Date.now(), 'PF-1', '../secret.jpg'));
    await smtp.mails.waitFor((m) => m.length === 1, 'the email');
    assert.equal(smtp.mails.items[0]!.parsed.attachments.length, 0);
    assert.doesNotMatch(String(smtp.mails.items[0]!.parsed.html), /cid:/);
  });

  it('upgrades with STARTTLS before logging in', async () => {
    smtp = await TestSmtpServer.start({ starttls: true, auth: { user: 'pfcam', pass: PASSWORD } });
    const n = notifier(
      sender(
        smtpOptions(smtp.port, { security: 'starttls', tlsVerify: false, user: 'pfcam', password: PASSWORD }),
      ),
    );
    await n.submit(recordingAt(2, Date.now()));
    await smtp.mails.waitFor((m) => m.length === 1, 'the email');
    assert.equal(smtp.mails.items[0]!.secure, true);
  });

  it('refuses to log in over a server without STARTTLS, and an unverified certificate', async () => {
    smtp = await TestSmtpServer.start({ starttls: false, auth: { user: 'pfcam', pass: PASSWORD } });
    const noTls = sender(smtpOptions(smtp.port, { security: 'starttls', user: 'pfcam', password: PASSWORD }));
    await assert.rejects(
      noTls.verify(),
      (err: DeliveryError) => err.key === 'errors.smtpTls' && err.retryable,
    );
    await smtp.stop();
    smtp = await TestSmtpServer.start({ starttls: true, auth: { user: 'pfcam', pass: PASSWORD } });
    const selfSigned = sender(
      smtpOptions(smtp.port, { security: 'starttls', user: 'pfcam', password: PASSWORD }),
    );
    await assert.rejects(selfSigned.verify(), (err: DeliveryError) => err.key === 'errors.smtpTls');
    assert.equal(smtp.authFailures.items.length, 0);
  });

  it('keeps the email on a refused login, never shows the password, and delivers once the password is fixed', async () => {
    smtp = await TestSmtpServer.start({ auth: { user: 'pfcam', pass: PASSWORD } });
    let n = notifier(sender(smtpOptions(smtp.port, { user: 'pfcam', password: 'wrong-password' })));
    await n.submit(recordingAt(3, Date.now()));
    await retries.waitFor((r) => r.length >= 1, 'a refused login');
    assert.equal(retries.items[0]?.key, 'errors.smtpAuth');
    assert.doesNotMatch(retries.items[0]?.message ?? '', /wrong-password/);
    const row = await db.get<{ state: string; last_error: string }>(
      'SELECT state, last_error FROM notify_outbox',
    );
    assert.equal(row?.state === 'pending' || row?.state === 'sending', true);
    assert.doesNotMatch(row?.last_error ?? '', /wrong-password/);
    assert.equal(smtp.mails.items.length, 0);
    await n.close();

    n = notifier(sender(smtpOptions(smtp.port, { user: 'pfcam', password: PASSWORD })));
    await n.start();
    await smtp.mails.waitFor((m) => m.length === 1, 'the email after the fix');
    await reports.waitFor((r) => r.length === 1, 'the report');
    assert.equal(reports.items[0]?.outcome, 'delivered');
  });

  it('survives an SMTP outage and a restart in between: nothing lost, nothing sent twice', async () => {
    const port = await freePort();
    let n = notifier(sender(smtpOptions(port)));
    const t = Date.now();
    for (let i = 0; i < 5; i++) await n.submit(recordingAt(10 + i, t + i, `PF-${i}`));
    await retries.waitFor((r) => r.length >= 5, 'five failed attempts');
    assert.ok(retries.items.every((e) => e.key === 'errors.smtpUnreachable'));
    await n.close();

    // Restart while the server is still down, then the server comes back.
    n = notifier(sender(smtpOptions(port)));
    await n.start();
    smtp = await TestSmtpServer.start({ port });
    await smtp.mails.waitFor((m) => m.length === 5, 'five emails');
    await reports.waitFor((r) => r.length === 5, 'five reports');
    assert.ok(reports.items.every((r) => r.outcome === 'delivered'));
    const ids = smtp.mails.items.map((m) => m.parsed.messageId);
    assert.equal(new Set(ids).size, 5);

    // One more restart: nothing is pending, nothing is sent again.
    await n.close();
    n = notifier(sender(smtpOptions(port)));
    await n.start();
    assert.equal(await n.pendingCount(), 0);
    for (let i = 0; i < 5; i++)
      assert.equal((await n.submit(recordingAt(10 + i, t + i, `PF-${i}`))).outcome, 'duplicate');
    assert.equal(smtp.mails.items.length, 5);
  });
});
