import { strict as assert } from 'node:assert';
import type { RejectedEntry } from '../../lib/camera/camera-api';
import { SECRET_SETTING_KEYS } from '../../lib/camera/types';
import {
  cameraErrorText,
  isSafeFileName,
  jsonErrorOf,
  MAX_FILE_NAME_LENGTH,
  normaliseExtension,
  publicSettings,
  ShapeError,
  stripControl,
  validateDateTime,
  validateEvent,
  validateEventList,
  validateExposure,
  validateFirmware,
  validateFocus,
  validateOverlay,
  validateStorage,
  validateStreams,
  validateSystemInfo,
  validateTimezones,
} from '../../lib/camera/validate';

const good = {
  fileName: '20240601T120000_001',
  eventName: 'door',
  triggeredAt: '2024-06-01T12:00:00+02:00',
  vidExt: '.mp4',
  thmbExt: '.jpg',
  playbackTime: 15,
  age: 30,
  dir: 'named',
};

function rejected(overrides: Record<string, unknown>): string {
  const check = validateEvent({ ...good, ...overrides });
  assert.equal(check.ok, false, JSON.stringify(overrides));
  return check.ok ? '' : check.reason;
}

describe('camera answer validation', () => {
  describe('recordings', () => {
    it('accepts a well-formed recording and copies only the known fields', () => {
      const check = validateEvent({ ...good, extra: 'x', __proto__: { polluted: true } });
      assert.ok(check.ok);
      assert.deepEqual(check.event, good);
      assert.equal(Object.keys(check.event).length, 8);
    });

    it('refuses file names that are paths, relative parts, control characters, blanks or too long', () => {
      for (const fileName of [
        '../../etc/passwd',
        '..\\..\\win.ini',
        'a/b',
        '/abs',
        'x\u0000y',
        'x\ny',
        '.',
        '..',
        '',
        ' a',
        'a ',
        'x'.repeat(MAX_FILE_NAME_LENGTH + 1),
        42,
        null,
      ]) {
        assert.match(rejected({ fileName }), /fileName/, JSON.stringify(fileName));
        assert.equal(isSafeFileName(fileName), false);
      }
      for (const fileName of ['20240601T120000_001', 'a..b', 'x'.repeat(MAX_FILE_NAME_LENGTH), 'cam 1_ü'])
        assert.equal(isSafeFileName(fileName), true, fileName);
    });

    it('normalises an extension without its dot and refuses anything but .alnum{1,8}', () => {
      assert.equal(normaliseExtension('mp4'), '.mp4');
      assert.equal(normaliseExtension('.JPG'), '.JPG');
      for (const ext of ['.mp4/../../x', '..mp4', '.', '', '.toolongext', '.m p4', 'mp4\u0000', 3])
        assert.equal(normaliseExtension(ext), undefined);
      const check = validateEvent({ ...good, vidExt: 'mp4', thmbExt: 'jpg' });
      assert.ok(check.ok);
      assert.equal(check.event.vidExt, '.mp4');
      assert.equal(check.event.thmbExt, '.jpg');
      assert.match(rejected({ vidExt: '.mp4/../../x' }), /vidExt/);
      assert.match(rejected({ thmbExt: undefined }), /thmbExt/);
    });

    it('keeps an event name as plain text (no escaping) but strips control characters', () => {
      const check = validateEvent({ ...good, eventName: '<script>alert(1)</script>\u0007\u202e' });
      assert.ok(check.ok);
      assert.equal(check.event.eventName, '<script>alert(1)</script>');
      const unnamed = validateEvent({ ...good, eventName: null });
      assert.ok(unnamed.ok);
      assert.equal(unnamed.event.eventName, null);
      assert.match(rejected({ eventName: 7 }), /eventName/);
    });

    it('keeps triggeredAt as given, with or without offset, and refuses non-dates', () => {
      for (const triggeredAt of [
        '2024-06-01T12:00:00',
        '2024-06-01T12:00:00Z',
        '2024-06-01 12:00:00.123',
        '2024-06-01T12:00:00+0200',
      ]) {
        const check = validateEvent({ ...good, triggeredAt });
        assert.ok(check.ok, triggeredAt);
        assert.equal(check.event.triggeredAt, triggeredAt);
      }
      for (const triggeredAt of ['yesterday', '', 1717236000, '2024-06-01T12:00:00<b>'])
        assert.match(rejected({ triggeredAt }), /triggeredAt/);
    });

    it('refuses a bad playbackTime but tolerates missing assumed fields (age, dir)', () => {
      assert.match(rejected({ playbackTime: '15' }), /playbackTime/);
      assert.match(rejected({ playbackTime: -1 }), /playbackTime/);
      const check = validateEvent({ ...good, age: undefined, dir: undefined });
      assert.ok(check.ok);
      assert.equal(check.event.age, 0);
      assert.equal(check.event.dir, '');
    });

    it('reports each refused list entry and keeps the others', () => {
      const seen: RejectedEntry[] = [];
      const list = validateEventList(
        [good, { ...good, fileName: '../x' }, 'junk', { ...good, fileName: 'b' }],
        (e) => seen.push(e),
      );
      assert.deepEqual(
        list.map((e) => e.fileName),
        [good.fileName, 'b'],
      );
      assert.equal(seen.length, 2);
      assert.equal(seen[1]!.raw, 'junk');
      assert.throws(() => validateEventList({ events: [] }), ShapeError);
    });
  });

  describe('other shapes', () => {
    it('fills missing system info fields but requires a serial number and the right types', () => {
      const info = validateSystemInfo({ serialNumber: 'PFC4-1', name: 'gate', uptime: 12, hasVcm: true });
      assert.equal(info.serialNumber, 'PFC4-1');
      assert.equal(info.brand, '');
      assert.equal(info.service_uptime, 0);
      assert.equal(info.hasVcm, true);
      assert.throws(() => validateSystemInfo({ name: 'x' }), ShapeError);
      assert.throws(() => validateSystemInfo({ serialNumber: ' ' }), ShapeError);
      assert.throws(() => validateSystemInfo({ serialNumber: 'a', uptime: '12' }), /uptime/);
      assert.throws(() => validateSystemInfo([]), ShapeError);
    });

    it('checks the assumed shapes strictly', () => {
      assert.deepEqual(validateStorage({ totalBytes: 10, usedBytes: 4, freeBytes: 6, recordings: 2 }), {
        totalBytes: 10,
        usedBytes: 4,
        freeBytes: 6,
        recordings: 2,
      });
      assert.throws(() => validateStorage({ totalBytes: 10 }), /usedBytes/);
      assert.deepEqual(validateFirmware({ version: '4.3', buildDate: '2025-01-01' }), {
        version: '4.3',
        buildDate: '2025-01-01',
      });
      assert.equal(
        validateDateTime({ systemTime: 'x', timezone: 'UTC', ntpServer: '', ntpSynced: true }).ntpSynced,
        true,
      );
      assert.deepEqual(validateTimezones(['UTC', 'Europe/Zurich']), ['UTC', 'Europe/Zurich']);
      assert.throws(() => validateTimezones(['UTC', 3]), ShapeError);
      assert.deepEqual(validateExposure({ iso: 100, shutter: 2000, manual: false }), {
        iso: 100,
        shutter: 2000,
        manual: false,
      });
      assert.throws(() => validateExposure({ iso: NaN, shutter: 1, manual: false }), /iso/);
      assert.deepEqual(validateFocus({ setpoint: 5 }), { setpoint: 5 });
      assert.throws(
        () => validateOverlay({ datetime: 1, name: true, background: true, user: true }),
        /datetime/,
      );
    });

    it('keeps well-formed streams and leaves malformed ones out', () => {
      const streams = validateStreams({
        hd: {
          name: 'hd',
          codec: 'mjpeg',
          fps: 5,
          resolution: { width: 1280, height: 720 },
          url: { absolute: 'http://c/stream-hd', relative: '/stream-hd' },
          snapshot: { url: { absolute: 'http://c/snap.jpg' } },
        },
        rtsp: { name: 'rtsp', codec: 'h264', url: { absolute: 'rtsp://c:8554/' } },
        broken: { name: 'x' },
        junk: 3,
      });
      assert.deepEqual(Object.keys(streams), ['hd', 'rtsp']);
      assert.equal(streams.hd!.snapshot?.url.absolute, 'http://c/snap.jpg');
      assert.deepEqual(streams.rtsp!.resolution, { width: 0, height: 0 });
      assert.throws(() => validateStreams([]), ShapeError);
    });
  });

  describe('settings', () => {
    it('strips every secret key, and any key naming a password, hash, token or secret', () => {
      const raw: Record<string, unknown> = {
        name: 'cam',
        rtsp_port: 8554,
        wifi_password: 'x',
        api_token: 't',
        some_secret: 's',
      };
      for (const key of SECRET_SETTING_KEYS) raw[key] = 'hidden';
      const out = publicSettings(raw) as unknown as Record<string, unknown>;
      assert.deepEqual(out, { name: 'cam', rtsp_port: 8554 });
      assert.throws(() => publicSettings('x'), ShapeError);
    });
  });

  describe('camera error texts', () => {
    it('takes the error of a JSON body, or the plain text, stripped and bounded', () => {
      assert.equal(cameraErrorText('{"error":"file not available"}'), 'file not available');
      assert.equal(cameraErrorText('{"message":"busy"}'), 'busy');
      assert.equal(cameraErrorText('Bad\u0000 things\n'), 'Bad things');
      assert.equal(cameraErrorText('x'.repeat(1000)).length, 301);
      assert.equal(jsonErrorOf('{"error":"file not available"}'), 'file not available');
      assert.equal(jsonErrorOf('{"ok":true}'), undefined);
      assert.equal(jsonErrorOf('\u0000\u0001binary'), undefined);
      assert.equal(stripControl('a\u001bb\u0085c'), 'abc');
    });
  });
});
