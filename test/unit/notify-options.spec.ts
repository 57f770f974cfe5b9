import { strict as assert } from 'node:assert';
import { InputError } from '../../lib/errors';
import {
  parseNotifyOptions,
  parseRecipientList,
  parseSmtpOptions,
  parseWebhookOptions,
} from '../../lib/notify/notify-options';

function optionKey(err: unknown): string | number | undefined {
  return err instanceof InputError ? err.params.option : undefined;
}

describe('parseNotifyOptions', () => {
  it('fills defaults: all kinds, 60 s cooldown, dashboard on, recipient table on', () => {
    const o = parseNotifyOptions({}, { timeZone: 'Europe/Berlin' });
    assert.equal(o.site, 'PFCAM');
    assert.equal(o.timeZone, 'Europe/Berlin');
    assert.equal(o.kinds.size, 7);
    assert.equal(o.cooldownMs, 60_000);
    assert.equal(o.dashboard, true);
    assert.equal(o.useRecipientTable, true);
    assert.deepEqual(o.recipients, []);
    assert.equal(o.outbox.baseDelayMs, 5_000);
  });

  it('reads kinds, cooldown, recipients, dashboard URL and retry settings', () => {
    const o = parseNotifyOptions({
      site: 'Plant A',
      timeZone: 'UTC',
      kinds: ['recording', 'camera-offline'],
      cooldown: '0',
      dashboard: false,
      recipients: 'ops@plant.example, Night Shift <night@plant.example>',
      dashboardUrl: 'https://nr.plant.example/ui/',
      retryDelay: 0.5,
      maxAttempts: '3',
      maxAge: 2,
    });
    assert.deepEqual([...o.kinds], ['recording', 'camera-offline']);
    assert.equal(o.cooldownMs, 0);
    assert.equal(o.dashboard, false);
    assert.deepEqual(o.recipients, [
      { email: 'ops@plant.example' },
      { email: 'night@plant.example', name: 'Night Shift' },
    ]);
    assert.equal(o.dashboardUrl, 'https://nr.plant.example/ui');
    assert.equal(o.outbox.baseDelayMs, 500);
    assert.equal(o.emailMaxAttempts, 3);
    assert.equal(o.outbox.maxAgeMs, 2 * 3600_000);
  });

  it('refuses a bad zone, kind, cooldown, address or template, naming the option', () => {
    assert.throws(
      () => parseNotifyOptions({ timeZone: 'Mars/Base' }),
      (e) => optionKey(e) === 'timeZone',
    );
    assert.throws(
      () => parseNotifyOptions({ kinds: 'recording,typo' }),
      (e) => optionKey(e) === 'kinds',
    );
    assert.throws(
      () => parseNotifyOptions({ cooldown: -1 }),
      (e) => optionKey(e) === 'cooldown',
    );
    assert.throws(
      () => parseNotifyOptions({ recipients: 'nobody' }),
      (e) => optionKey(e) === 'recipients',
    );
    assert.throws(
      () => parseNotifyOptions({ htmlTemplate: '{{#a}}' }),
      (e) => e instanceof InputError && e.key === 'errors.notifyTemplate',
    );
    assert.throws(
      () => parseNotifyOptions({ dashboardUrl: 'ftp://x' }),
      (e) => optionKey(e) === 'dashboardUrl',
    );
  });

  it('parses recipient lists with display names', () => {
    assert.deepEqual(parseRecipientList('"Ops" <ops@x.io>\nb@y.io'), [
      { email: 'ops@x.io', name: 'Ops' },
      { email: 'b@y.io' },
    ]);
  });
});

describe('parseSmtpOptions', () => {
  it('defaults to STARTTLS on 587 with certificate checks', () => {
    const o = parseSmtpOptions(
      { host: 'mail.plant.example', from: 'PFCAM <alerts@plant.example>' },
      { user: 'u', password: 'p' },
    );
    assert.equal(o.security, 'starttls');
    assert.equal(o.port, 587);
    assert.equal(o.tlsVerify, true);
    assert.equal(o.user, 'u');
    assert.equal(o.timeoutMs, 20_000);
  });

  it('uses 465 for TLS and refuses a missing host, a bad From, a password without user', () => {
    assert.equal(parseSmtpOptions({ host: 'm', security: 'tls', from: 'a@b.io' }).port, 465);
    assert.throws(
      () => parseSmtpOptions({ host: '', from: 'a@b.io' }),
      (e) => optionKey(e) === 'host',
    );
    assert.throws(
      () => parseSmtpOptions({ host: 'smtp://m', from: 'a@b.io' }),
      (e) => optionKey(e) === 'host',
    );
    assert.throws(
      () => parseSmtpOptions({ host: 'm', from: 'me' }),
      (e) => optionKey(e) === 'from',
    );
    assert.throws(
      () => parseSmtpOptions({ host: 'm', from: 'a@b.io', security: 'ssl3' }),
      (e) => optionKey(e) === 'security',
    );
    assert.throws(
      () => parseSmtpOptions({ host: 'm', from: 'a@b.io' }, { password: 'p' }),
      (e) => optionKey(e) === 'user',
    );
  });
});

describe('parseWebhookOptions', () => {
  const secret = 'a-secret-of-enough-length';

  it('reads URL, allow-list, timeout and retries', () => {
    const o = parseWebhookOptions(
      {
        url: 'https://hooks.plant.example/pfcam',
        allowList: '*.plant.example, 10.0.0.0/8',
        timeout: 2,
        retries: 3,
      },
      { secret },
    );
    assert.equal(o.url, 'https://hooks.plant.example/pfcam');
    assert.deepEqual(o.allow, { hosts: ['*.plant.example'], cidrs: ['10.0.0.0/8'] });
    assert.equal(o.timeoutMs, 2000);
    assert.equal(o.maxAttempts, 4);
  });

  it('refuses a short secret, credentials in the URL, other schemes and bad allow-list entries', () => {
    assert.throws(
      () => parseWebhookOptions({ url: 'https://h/x' }, { secret: 'short' }),
      (e) => optionKey(e) === 'secret',
    );
    assert.throws(
      () => parseWebhookOptions({ url: 'https://u:p@h/x' }, { secret }),
      (e) => optionKey(e) === 'url',
    );
    assert.throws(
      () => parseWebhookOptions({ url: 'ftp://h/x' }, { secret }),
      (e) => optionKey(e) === 'url',
    );
    assert.throws(
      () => parseWebhookOptions({ url: 'https://h/x', allowList: '10.0.0.0/99' }, { secret }),
      (e) => optionKey(e) === 'allowList',
    );
    assert.throws(
      () => parseWebhookOptions({ url: 'https://h/x', allowList: 'http://x' }, { secret }),
      (e) => optionKey(e) === 'allowList',
    );
  });
});
