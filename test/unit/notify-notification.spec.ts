import { strict as assert } from 'node:assert';
import { InputError } from '../../lib/errors';
import { groupKeyOf, messageRecipients, severityOf, toNotification } from '../../lib/notify/notification';

const stored = {
  id: 42,
  cameraSerial: 'PF-001',
  cameraName: 'Gate',
  fileName: '20250304_140509_abc',
  eventName: 'door',
  triggeredAtUtc: '2025-03-04T13:05:09Z',
  playbackTime: 12,
  videoPath: 'PF-001/2025/03/04/a.mp4',
  thumbPath: 'PF-001/2025/03/04/a.jpg',
  videoSize: 1234,
  sha256: 'ab',
};

function status(state: string, previous: string | null): Record<string, unknown> {
  return {
    topic: 'pfcam/status',
    payload: {
      camera: { serialNumber: 'PF-001', name: 'Gate' },
      state,
      previous,
      at: '2025-03-04T13:00:00Z',
    },
  };
}

describe('toNotification', () => {
  it('maps a stored recording to a recording notification with a stable id', () => {
    const a = toNotification({ topic: 'pfcam/recording', payload: stored });
    const b = toNotification({ topic: 'pfcam/recording', payload: { ...stored } });
    assert.ok(a.notification && a.notification.kind === 'recording');
    assert.equal(a.notification.id, b.notification?.id);
    assert.deepEqual(a.notification.camera, { serialNumber: 'PF-001', name: 'Gate' });
    assert.equal(a.notification.recording.eventName, 'door');
    assert.equal(a.notification.at, '2025-03-04T13:05:09.000Z');
    assert.equal(severityOf(a.notification), 'info');
  });

  it('recognises a stored recording without a topic and names the camera by serial when unnamed', () => {
    const m = toNotification({ payload: { ...stored, cameraName: undefined, eventName: null } });
    assert.ok(m.notification?.kind === 'recording');
    assert.equal(m.notification.camera.name, 'PF-001');
    assert.equal(m.notification.recording.eventName, null);
  });

  it('maps status changes: offline, back online, rebooted', () => {
    assert.equal(toNotification(status('offline', 'online')).notification?.kind, 'camera-offline');
    assert.equal(toNotification(status('online', 'offline')).notification?.kind, 'camera-online');
    assert.equal(toNotification(status('online', 'restarting')).notification?.kind, 'camera-online');
    assert.equal(toNotification(status('rebooted', 'restarting')).notification?.kind, 'camera-rebooted');
  });

  it('reads the status node payload: rebooted flag, null uptime, a camera not identified yet', () => {
    const rebooted = toNotification({
      topic: 'pfcam/status',
      payload: {
        camera: { serialNumber: 'PF-001', name: 'Gate', url: 'http://10.0.0.5' },
        state: 'online',
        previous: 'restarting',
        rebooted: true,
        at: '2025-03-04T13:00:00Z',
        uptime: 4,
      },
    });
    assert.ok(rebooted.notification?.kind === 'camera-rebooted');
    assert.equal(rebooted.notification.uptime, 4);
    const unseen = toNotification({
      topic: 'pfcam/status',
      payload: {
        camera: { serialNumber: null, name: 'Gate', url: 'http://10.0.0.5' },
        state: 'offline',
        previous: 'unknown',
        rebooted: false,
        at: '2025-03-04T13:00:00Z',
        uptime: null,
      },
    });
    assert.ok(unseen.notification?.kind === 'camera-offline');
    assert.equal(unseen.notification.camera.serialNumber, 'http://10.0.0.5');
    assert.equal(unseen.notification.uptime, undefined);
    assert.equal(toNotification(status('online', 'online')).notification, null);
    assert.equal(toNotification(status('unknown', null)).notification, null);
  });

  it('tells nothing for a first online, a repeated offline or a requested restart', () => {
    assert.equal(toNotification(status('online', null)).notification, null);
    assert.equal(toNotification(status('offline', 'offline')).notification, null);
    assert.equal(toNotification(status('restarting', 'online')).notification, null);
  });

  it('maps explicit storage-low, backup-failing and clock-drift notifications', () => {
    const s = toNotification({
      notification: { kind: 'storage-low', freeBytes: 10, totalBytes: 1000, path: '/data' },
    });
    assert.ok(s.notification?.kind === 'storage-low');
    assert.equal(s.notification.scope, 'local');
    assert.equal(severityOf(s.notification), 'error');
    assert.equal(groupKeyOf(s.notification), 'local:/data|storage-low');
    const b = toNotification({ notification: { kind: 'backup-failing', failures: 3, lastError: 'timeout' } });
    assert.ok(b.notification?.kind === 'backup-failing');
    assert.equal(groupKeyOf(b.notification), 'site|backup-failing');
    const c = toNotification({
      notification: { kind: 'clock-drift', camera: { serialNumber: 'PF-2' }, driftSeconds: -95, id: 'x1' },
    });
    assert.ok(c.notification?.kind === 'clock-drift');
    assert.equal(c.notification.id, 'clock-drift:x1');
  });

  it('refuses unknown shapes with an InputError that names what is expected', () => {
    assert.throws(
      () => toNotification({ payload: 'hello' }),
      (err: unknown) =>
        err instanceof InputError && err.key === 'errors.notifyInput' && /pfcam\/recording/.test(err.message),
    );
    assert.throws(
      () => toNotification({ notification: { kind: 'recording' } }),
      /storage-low, backup-failing, clock-drift/,
    );
    assert.throws(
      () => toNotification({ notification: { kind: 'clock-drift', driftSeconds: 3 } }),
      /camera is required/,
    );
    assert.throws(
      () => toNotification({ topic: 'pfcam/recording', payload: { ...stored, triggeredAtUtc: 'soon' } }),
      /ISO-8601/,
    );
    assert.throws(() => toNotification(status('exploded', 'online')), /state must be one of/);
  });
});

describe('messageRecipients', () => {
  it('reads addresses from a list, objects or a comma-separated text', () => {
    assert.deepEqual(messageRecipients(['a@x.io', { email: 'b@y.io', name: 'B' }]), [
      { email: 'a@x.io' },
      { email: 'b@y.io', name: 'B' },
    ]);
    assert.deepEqual(messageRecipients('a@x.io, c@z.io'), [{ email: 'a@x.io' }, { email: 'c@z.io' }]);
    assert.deepEqual(messageRecipients(undefined), []);
  });

  it('refuses something that is not an address', () => {
    assert.throws(() => messageRecipients(['not an address']), /msg.recipients\[0\]/);
    assert.throws(() => messageRecipients(['a@x.io\r\nBcc: evil@x.io']), /msg.recipients\[0\]/);
    assert.throws(() => messageRecipients(7), /array/);
  });
});
