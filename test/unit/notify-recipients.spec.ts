import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Notification } from '../../lib/notify/notification';
import {
  RecipientStore,
  dashboardUsers,
  emailTargets,
  inQuietHours,
  validateRecipient,
  type Recipient,
} from '../../lib/notify/recipients';
import { Database } from '../../lib/store/database';

const offline: Notification = {
  kind: 'camera-offline',
  id: 'o1',
  at: '2025-03-04T13:00:00Z',
  camera: { serialNumber: 'PF-1', name: 'Gate' },
  state: 'offline',
  previous: 'online',
};

function recipient(partial: Partial<Recipient> & { name: string }): Recipient {
  return validateRecipient({ email: `${partial.name.toLowerCase()}@plant.example`, ...partial });
}

describe('recipients', () => {
  it('applies quiet hours in the site time zone, across midnight', () => {
    const quiet = { start: '22:00', end: '06:00' };
    // 21:30 UTC is 22:30 in Berlin (winter): quiet there, not in UTC.
    assert.equal(inQuietHours(quiet, Date.parse('2025-01-10T21:30:00Z'), 'Europe/Berlin'), true);
    assert.equal(inQuietHours(quiet, Date.parse('2025-01-10T21:30:00Z'), 'UTC'), false);
    assert.equal(inQuietHours(quiet, Date.parse('2025-01-10T05:59:00Z'), 'UTC'), true);
    assert.equal(inQuietHours(quiet, Date.parse('2025-01-10T06:00:00Z'), 'UTC'), false);
    assert.equal(
      inQuietHours({ start: '12:00', end: '13:00' }, Date.parse('2025-01-10T12:30:00Z'), 'UTC'),
      true,
    );
    assert.equal(inQuietHours(null, Date.parse('2025-01-10T12:30:00Z'), 'UTC'), false);
  });

  it('picks email targets by kind, camera and channel, marks quiet ones and deduplicates', () => {
    const table = [
      recipient({ name: 'All' }),
      recipient({ name: 'Recordings', kinds: ['recording'] }),
      recipient({ name: 'Other', cameras: ['PF-9'] }),
      recipient({ name: 'Night', quietHours: { start: '12:00', end: '14:00' } }),
      recipient({ name: 'Dash', channels: ['dashboard'], userId: 'u-dash' }),
      recipient({ name: 'Off', enabled: false }),
      recipient({ name: 'Dup', email: 'OPS@plant.example' }),
    ];
    const at = Date.parse('2025-03-04T13:00:00Z');
    const targets = emailTargets(
      offline,
      [{ email: 'ops@plant.example' }],
      [{ email: 'msg@x.io' }],
      table,
      at,
      'UTC',
    );
    assert.deepEqual(
      targets.map((t) => [t.email, t.quiet]),
      [
        ['ops@plant.example', false],
        ['msg@x.io', false],
        ['all@plant.example', false],
        ['night@plant.example', true],
      ],
    );
    assert.deepEqual(dashboardUsers(offline, table, at, 'UTC'), ['u-dash']);
  });

  it('refuses invalid recipients', () => {
    assert.throws(() => validateRecipient({ name: '' }), /name is required/);
    assert.throws(() => validateRecipient({ name: 'x', channels: ['email'] }), /no email address/);
    assert.throws(
      () => validateRecipient({ name: 'x', email: 'x@y.io', kinds: ['nope' as never] }),
      /not one of/,
    );
    assert.throws(
      () => validateRecipient({ name: 'x', email: 'x@y.io', quietHours: { start: '25:00', end: '01:00' } }),
      /HH:MM/,
    );
    assert.throws(
      () => validateRecipient({ name: 'x', email: 'x@y.io', channels: ['sms' as never] }),
      /not one of/,
    );
  });

  describe('RecipientStore', () => {
    let dir: string;
    let db: Database;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'pfcam-notify-rcpt-'));
      db = await Database.open(join(dir, 'db.sqlite'));
    });

    afterEach(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('saves, lists, updates and removes recipients with their preferences', async () => {
      const store = new RecipientStore(db);
      const saved = await store.save({
        name: 'Ops',
        email: 'ops@plant.example',
        userId: 'u1',
        kinds: ['camera-offline'],
        cameras: ['PF-1'],
        channels: ['email', 'dashboard'],
        quietHours: { start: '22:00', end: '06:00' },
      });
      assert.deepEqual(await store.get(saved.id), saved);
      await store.save({ ...saved, enabled: false, kinds: null });
      const [again] = await store.list();
      assert.equal(again?.enabled, false);
      assert.equal(again?.kinds, null);
      assert.equal((await store.forUser('u1')).length, 1);
      assert.equal(await store.remove(saved.id), true);
      assert.deepEqual(await store.list(), []);
    });
  });
});
