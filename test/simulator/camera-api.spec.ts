import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CameraEvent, CameraSettings, StorageInfo, StreamMap, SystemInfo } from '../../lib/camera/types';
import { startCamera, type SimulatedCamera, type SimulatedCameraOptions } from '../../simulator/index';
import { call, failure, getJson, once, open, readUntil, sha256 } from './http';

/** Every settings key, typed against CameraSettings so that a missing key fails to compile. */
const SETTING_KEYS: Record<keyof CameraSettings, true> = {
  name: true,
  time_zone: true,
  access_user_name_admin: true,
  access_user_name_viewer: true,
  access_password_hash_admin: true,
  access_password_hash_viewer: true,
  network_ip: true,
  network_mask: true,
  network_gateway: true,
  network_dns: true,
  network_dhcp: true,
  network_ntp: true,
  network_ntp_ignore_server_sync: true,
  network_ftp_host: true,
  network_ftp_port: true,
  network_ftp_user: true,
  network_ftp_password: true,
  network_ftp_path: true,
  network_ftp_recordings: true,
  network_ftp_snapshots: true,
  recording_seconds_pre_event: true,
  recording_seconds_post_event: true,
  recording_seconds_pre_event_extended: true,
  recording_seconds_post_event_extended: true,
  recording_seconds_extended: true,
  recording_size_extended: true,
  recording_ensure_free_storage: true,
  recording_resolution_width: true,
  recording_quality_level: true,
  recording_quota_named: true,
  recording_quota_unnamed: true,
  exposure_iso: true,
  exposure_shutter: true,
  exposure_manual: true,
  focus_setpoint: true,
  overlay_datetime: true,
  overlay_name: true,
  overlay_background: true,
  overlay_user: true,
  live_resolution_width: true,
  live_quality_level: true,
  rtsp: true,
  rtsp_port: true,
  rtsp_path: true,
  rtsp_fps: true,
  rtsp_quality_level: true,
  rtsp_resolution_width: true,
  rtsp_resolution_width_2: true,
  rtsp_auth: true,
  rtsp_type: true,
  picture_rotation: true,
  heater_level: true,
};

const SYSTEM_TYPES: Record<keyof SystemInfo, 'string' | 'number' | 'boolean'> = {
  brand: 'string',
  name: 'string',
  serialNumber: 'string',
  customSerialNumber: 'string',
  hardwareVersion: 'string',
  softwareVersion: 'string',
  firmwareLink: 'string',
  settingsLink: 'string',
  hasVcm: 'boolean',
  heaterTemperature: 'number',
  ipAddress: 'string',
  macAddress: 'string',
  systemTime: 'string',
  timezone: 'string',
  uptime: 'number',
  service_uptime: 'number',
};

/** A full garbage collection, without starting node with --expose-gc. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const FILE_NAME = /^\d{8}T\d{6}_\d{3}$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function assertCameraEvent(event: CameraEvent): void {
  assert.equal(typeof event.fileName, 'string');
  assert.ok(event.eventName === null || typeof event.eventName === 'string');
  assert.match(event.triggeredAt, WITH_OFFSET);
  assert.equal(event.vidExt, '.mp4');
  assert.equal(event.thmbExt, '.jpg');
  assert.ok(Number.isInteger(event.playbackTime));
  assert.ok(Number.isInteger(event.age) && event.age >= 0);
  assert.equal(event.dir, event.eventName ? 'named' : 'unnamed');
}

describe('simulator: camera API', () => {
  let cameras: SimulatedCamera[] = [];
  const start = async (options: SimulatedCameraOptions = {}): Promise<SimulatedCamera> => {
    const camera = await startCamera({ restartMs: 200, postEventSeconds: 0.05, ...options });
    cameras.push(camera);
    return camera;
  };

  afterEach(async () => {
    await Promise.all(cameras.map((camera) => camera.stop()));
    cameras = [];
  });

  describe('system', () => {
    it('serves every SystemInfo field with its type and the camera serial', async () => {
      const camera = await start({ seed: 11, name: 'Gate 1' });
      const info = await getJson<SystemInfo>(camera.url, '/api/system');
      assert.deepEqual(Object.keys(info).sort(), Object.keys(SYSTEM_TYPES).sort());
      for (const [key, type] of Object.entries(SYSTEM_TYPES)) {
        assert.equal(typeof info[key as keyof SystemInfo], type, key);
      }
      assert.equal(info.serialNumber, camera.serialNumber);
      assert.match(info.serialNumber, /^PFC4-\d{4}-\d{4}$/);
      assert.equal(info.name, 'Gate 1');
      assert.equal(info.timezone, 'Europe/Zurich');
      assert.match(info.macAddress, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
      assert.ok(Math.abs(Date.parse(info.systemTime) - Date.now()) < 5000);
      assert.ok(info.uptime >= 0 && info.service_uptime <= info.uptime);
    });

    it('serves storage, firmware, datetime and time zones in their documented shapes', async () => {
      const camera = await start({ recordings: 2, storageBytes: 10_000_000 });
      const storage = await getJson<StorageInfo>(camera.url, '/api/system/storage');
      assert.equal(storage.totalBytes, 10_000_000);
      assert.equal(storage.recordings, 2);
      assert.equal(storage.usedBytes + storage.freeBytes, storage.totalBytes);
      assert.ok(storage.usedBytes > 0);
      const firmware = await getJson<Record<string, unknown>>(camera.url, '/api/system/firmware');
      assert.deepEqual(Object.keys(firmware).sort(), ['buildDate', 'version']);
      const datetime = await getJson<Record<string, unknown>>(camera.url, '/api/system/datetime');
      assert.deepEqual(Object.keys(datetime).sort(), ['ntpServer', 'ntpSynced', 'systemTime', 'timezone']);
      assert.equal(datetime.ntpSynced, true);
      const zones = await getJson<string[]>(camera.url, '/api/system/timezones');
      assert.ok(zones.includes('Europe/Zurich') && zones.includes('UTC') && zones.length > 100);
    });

    it('reboots on POST /api/system/reboot: refuses connections, then comes back with uptime 0', async () => {
      const camera = await start({ restartMs: 300 });
      const restarting = once(camera.control, 'restart');
      const reply = await call(camera.url, '/api/system/reboot', { method: 'POST' });
      assert.equal(reply.status, 200);
      await restarting;
      const error = await failure(camera.url, '/api/system');
      assert.equal(error.code, 'ECONNREFUSED');
      await once(camera.control, 'online');
      const info = await getJson<SystemInfo>(camera.url, '/api/system');
      assert.equal(info.uptime, 0);
    });
  });

  describe('settings', () => {
    it('serves every CameraSettings field with realistic defaults', async () => {
      const camera = await start({ timezone: 'America/New_York' });
      const settings = await getJson<CameraSettings>(camera.url, '/api/system/settings');
      assert.deepEqual(Object.keys(settings).sort(), Object.keys(SETTING_KEYS).sort());
      assert.equal(settings.time_zone, 'America/New_York');
      assert.equal(settings.rtsp_port, 8554);
      assert.equal(settings.access_user_name_admin, 'admin');
      assert.deepEqual(settings, camera.control.settings());
    });

    const invalid: [string, unknown][] = [
      ['an empty name', { name: '' }],
      ['a name over 64 characters', { name: 'x'.repeat(65) }],
      ['an unknown time zone', { time_zone: 'Mars/Olympus' }],
      ['a mask over 32', { network_mask: 33 }],
      ['an invalid IPv4 address', { network_ip: '10.0.0.256' }],
      ['a port 0', { rtsp_port: 0 }],
      ['a post-event time over 60 s', { recording_seconds_post_event: 61 }],
      ['a fractional integer', { exposure_iso: 400.5 }],
      ['a number as a string', { exposure_iso: '400' }],
      ['an ISO under 50', { exposure_iso: 49 }],
      ['a rotation of 45', { picture_rotation: 45 }],
      ['a heater level of 4', { heater_level: 4 }],
      ['a string for a boolean', { rtsp: 'true' }],
      ['an unknown key', { no_such_setting: 1 }],
      ['an array body', [1, 2]],
    ];
    for (const [what, body] of invalid) {
      it(`answers 400 {"error"} to a PUT with ${what}, changes nothing and does not restart`, async () => {
        const camera = await start();
        let restarted = false;
        camera.control.on('restart', () => (restarted = true));
        const before = camera.control.settings();
        const reply = await call(camera.url, '/api/system/settings', { method: 'PUT', body });
        assert.equal(reply.status, 400);
        assert.equal(typeof (JSON.parse(reply.text) as { error: unknown }).error, 'string');
        assert.deepEqual(camera.control.settings(), before);
        assert.equal((await call(camera.url, '/api/system')).status, 200);
        assert.equal(restarted, false);
      });
    }

    it('applies a valid PUT, answers 200, refuses connections while restarting, and comes back with uptime 0', async () => {
      const camera = await start({ restartMs: 300 });
      const restarting = once<{ ms: number }>(camera.control, 'restart');
      const online = once(camera.control, 'online');
      const reply = await call(camera.url, '/api/system/settings', {
        method: 'PUT',
        body: { name: 'Dock 4', heater_level: 3, time_zone: '' },
      });
      assert.equal(reply.status, 200);
      if (reply.text !== '') assert.equal((JSON.parse(reply.text) as CameraSettings).name, 'Dock 4');
      assert.equal((await restarting).ms, 300);
      assert.equal((await failure(camera.url, '/api/system')).code, 'ECONNREFUSED');
      await online;
      const info = await getJson<SystemInfo>(camera.url, '/api/system');
      assert.equal(info.uptime, 0);
      assert.equal(info.name, 'Dock 4');
      assert.equal(info.timezone, 'UTC');
      assert.equal(camera.control.settings().heater_level, 3);
    });

    it('resets to the factory defaults on DELETE (and restarts)', async () => {
      const camera = await start({ name: 'Factory' });
      const defaults = camera.control.settings();
      const changed = once(camera.control, 'online');
      await call(camera.url, '/api/system/settings', { method: 'PUT', body: { name: 'Changed' } });
      await changed;
      assert.equal(camera.control.settings().name, 'Changed');
      const online = once(camera.control, 'online');
      const reply = await call(camera.url, '/api/system/settings', { method: 'DELETE' });
      assert.equal(reply.status, 200);
      assert.deepEqual(JSON.parse(reply.text), defaults);
      await online;
      assert.deepEqual(camera.control.settings(), defaults);
    });

    it('serves exposure, focus and overlay live: a PUT updates the flat settings without a restart', async () => {
      const camera = await start();
      let restarted = false;
      camera.control.on('restart', () => (restarted = true));
      assert.deepEqual(await getJson(camera.url, '/api/system/exposure'), {
        iso: 400,
        shutter: 10000,
        manual: false,
      });
      const exposure = await call(camera.url, '/api/system/exposure', {
        method: 'PUT',
        body: { iso: 800, manual: true },
      });
      assert.deepEqual(JSON.parse(exposure.text), { iso: 800, shutter: 10000, manual: true });
      const focus = await call(camera.url, '/api/system/focus', { method: 'PUT', body: { setpoint: 120 } });
      assert.deepEqual(JSON.parse(focus.text), { setpoint: 120 });
      const overlay = await call(camera.url, '/api/system/overlay', { method: 'PUT', body: { user: true } });
      assert.deepEqual(JSON.parse(overlay.text), {
        datetime: true,
        name: true,
        background: true,
        user: true,
      });
      const settings = await getJson<CameraSettings>(camera.url, '/api/system/settings');
      assert.equal(settings.exposure_iso, 800);
      assert.equal(settings.exposure_manual, true);
      assert.equal(settings.focus_setpoint, 120);
      assert.equal(settings.overlay_user, true);
      const bad = await call(camera.url, '/api/system/focus', { method: 'PUT', body: { setpoint: 1001 } });
      assert.equal(bad.status, 400);
      const unknown = await call(camera.url, '/api/system/exposure', { method: 'PUT', body: { gain: 1 } });
      assert.equal(unknown.status, 400);
      assert.equal(restarted, false);
    });
  });

  describe('streams', () => {
    it('describes the hd MJPEG stream with its snapshot and the RTSP stream', async () => {
      const camera = await start();
      const streams = await getJson<StreamMap>(camera.url, '/api/streams');
      const hd = streams.hd!;
      assert.equal(hd.name, 'hd');
      assert.equal(hd.codec, 'mjpeg');
      assert.deepEqual(hd.resolution, { width: 1280, height: 720 });
      assert.deepEqual(hd.url, { absolute: `${camera.url}/stream-hd`, relative: '/stream-hd' });
      assert.equal(hd.snapshot?.url.absolute, `${camera.url}${hd.snapshot?.url.relative}`);
      assert.deepEqual(streams.rtsp?.url, { absolute: 'rtsp://127.0.0.1:8554/' });
      assert.equal(streams.rtsp?.codec, 'h264');
    });

    it('serves a JPEG snapshot and an MJPEG stream of numbered frames', async () => {
      const camera = await start();
      const streams = await getJson<StreamMap>(camera.url, '/api/streams');
      const snapshot = await call(camera.url, streams.hd!.snapshot!.url.relative!);
      assert.equal(snapshot.status, 200);
      assert.equal(snapshot.headers['content-type'], 'image/jpeg');
      assert.equal(snapshot.body.subarray(0, 2).toString('hex'), 'ffd8');
      const res = await open(camera.url, streams.hd!.url.relative!);
      assert.match(res.headers['content-type'] ?? '', /^multipart\/x-mixed-replace; boundary=/);
      const text = await readUntil(res, (seen) => seen.split('Content-Type: image/jpeg').length > 2);
      assert.match(text, /^--\S+\r\nContent-Type: image\/jpeg\r\nContent-Length: \d+\r\n\r\n\xff\xd8/);
      res.destroy();
    });

    it('leaves rtsp out of the streams when RTSP is off, and uses rtsp_port / rtsp_path', async () => {
      const camera = await start();
      let online = once(camera.control, 'online');
      await call(camera.url, '/api/system/settings', {
        method: 'PUT',
        body: { rtsp_port: 9554, rtsp_path: 'live' },
      });
      await online;
      const streams = await getJson<StreamMap>(camera.url, '/api/streams');
      assert.equal(streams.rtsp?.url.absolute, 'rtsp://127.0.0.1:9554/live');
      online = once(camera.control, 'online');
      await call(camera.url, '/api/system/settings', { method: 'PUT', body: { rtsp: false } });
      await online;
      assert.deepEqual(Object.keys(await getJson<StreamMap>(camera.url, '/api/streams')), ['hd']);
    });
  });

  describe('routes', () => {
    it('answers 404 {"error": "not found"} to unknown routes and 405 to a wrong method', async () => {
      const camera = await start();
      for (const path of ['/api/nothing', '/', '/api', '/api/system/', '/stream-sd']) {
        const reply = await call(camera.url, path);
        assert.equal(reply.status, 404, path);
        assert.deepEqual(JSON.parse(reply.text), { error: 'not found' });
      }
      const wrong = await call(camera.url, '/api/system', { method: 'DELETE' });
      assert.equal(wrong.status, 405);
    });

    it('answers 404 for every route key listed in `unsupported`, and for SSE when sse is false', async () => {
      const camera = await start({
        sse: false,
        unsupported: [
          'storage',
          'firmware',
          'datetime',
          'timezones',
          'exposure',
          'focus',
          'overlay',
          'active',
          'streams',
        ],
      });
      const paths = [
        '/api/system/storage',
        '/api/system/firmware',
        '/api/system/datetime',
        '/api/system/timezones',
        '/api/system/exposure',
        '/api/system/focus',
        '/api/system/overlay',
        '/api/sse/recordings',
        '/api/events/active',
        '/api/streams',
        '/stream-hd',
      ];
      for (const path of paths) assert.equal((await call(camera.url, path)).status, 404, path);
      assert.equal((await call(camera.url, '/api/system')).status, 200);
      assert.equal((await call(camera.url, '/api/events')).status, 200);
    });

    it('refuses an unknown route key in `unsupported`', async () => {
      await assert.rejects(startCamera({ unsupported: ['nope'] }), /unknown route key/);
    });
  });

  describe('events', () => {
    it('lists recordings newest first with camera-style file names, dirs, offsets and ages from now', async () => {
      const camera = await start({ recordings: 5 });
      camera.control.addRecording({ eventName: 'old', age: 7200 });
      const events = await getJson<CameraEvent[]>(camera.url, '/api/events');
      assert.equal(events.length, 6);
      for (const event of events) assertCameraEvent(event);
      for (const event of events.filter((e) => e.eventName !== 'old'))
        assert.match(event.fileName, FILE_NAME);
      for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.age <= events[i]!.age);
      assert.equal(events.at(-1)!.eventName, 'old');
      assert.ok(events.at(-1)!.age >= 7200);
      // the same recordings as the simulator holds; ages are read a moment later there (a second may pass)
      const held = camera.control.recordings();
      const withoutAge = (list: CameraEvent[]): Omit<CameraEvent, 'age'>[] =>
        list.map(({ age: _age, ...rest }) => rest);
      assert.deepEqual(withoutAge(events), withoutAge(held));
      events.forEach((e, i) => assert.ok(held[i]!.age >= e.age, e.fileName));
    });

    it('refuses a trigger body with wrong types (400) and records nothing', async () => {
      const camera = await start();
      const bodies = [
        { eventName: 5 },
        { postEventSeconds: '1' },
        { preEventSeconds: -1 },
        { postEventUnlimited: 'yes' },
        { stopOtherEvents: 'some' },
        [],
      ];
      for (const body of bodies) {
        const reply = await call(camera.url, '/api/events', { method: 'POST', body });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(typeof (JSON.parse(reply.text) as { error: unknown }).error, 'string');
      }
      const invalidJson = await call(camera.url, '/api/events', { method: 'POST', body: '{"eventName":' });
      assert.equal(invalidJson.status, 400);
      assert.deepEqual(await getJson(camera.url, '/api/events/active'), []);
    });

    it('turns a trigger into an active event, then into a recording once the post-event time ran out', async () => {
      const camera = await start();
      const recorded = once<CameraEvent>(camera.control, 'recording');
      const reply = await call(camera.url, '/api/events', {
        method: 'POST',
        body: {
          eventName: 'door',
          overlayText: 'Door',
          preEventSeconds: 2,
          postEventSeconds: 0.3,
          postEventUnlimited: false,
          stopOtherEvents: 'none',
        },
      });
      assert.equal(reply.status, 200);
      const active = await getJson<CameraEvent[]>(camera.url, '/api/events/active');
      assert.equal(active.length, 1);
      assert.equal(active[0]!.eventName, 'door');
      assert.deepEqual(await getJson(camera.url, '/api/events'), []);
      const event = await recorded;
      assert.equal(event.fileName, active[0]!.fileName);
      assert.equal(event.dir, 'named');
      assert.equal(event.playbackTime, 2);
      assertCameraEvent(event);
      assert.deepEqual(await getJson(camera.url, '/api/events/active'), []);
      assert.deepEqual(
        (await getJson<CameraEvent[]>(camera.url, '/api/events')).map((e) => e.fileName),
        [event.fileName],
      );
    });

    it('records an unlimited event until DELETE /api/events/active/{eventName}, and 404s an unknown name', async () => {
      const camera = await start();
      const done = camera.control.trigger({ eventName: 'line stop', postEventUnlimited: true });
      await call(camera.url, '/api/events', {
        method: 'POST',
        body: { eventName: 'other', postEventUnlimited: true },
      });
      assert.equal((await getJson<CameraEvent[]>(camera.url, '/api/events/active')).length, 2);
      const unknown = await call(camera.url, '/api/events/active/nobody', { method: 'DELETE' });
      assert.equal(unknown.status, 404);
      const stop = await call(camera.url, `/api/events/active/${encodeURIComponent('line stop')}`, {
        method: 'DELETE',
      });
      assert.equal(stop.status, 200);
      const event = await done;
      assert.equal(event.eventName, 'line stop');
      const active = await getJson<CameraEvent[]>(camera.url, '/api/events/active');
      assert.deepEqual(
        active.map((e) => e.eventName),
        ['other'],
      );
      assert.equal((await call(camera.url, '/api/events/active', { method: 'DELETE' })).status, 200);
      assert.deepEqual(await getJson(camera.url, '/api/events/active'), []);
      assert.deepEqual(
        camera.control
          .recordings()
          .map((e) => e.eventName)
          .sort(),
        ['line stop', 'other'],
      );
    });

    it('stops the other active events when a trigger says stopOtherEvents "all"', async () => {
      const camera = await start();
      const first = camera.control.trigger({ eventName: 'first', postEventUnlimited: true });
      const second = camera.control.trigger({ eventName: 'second', postEventSeconds: 60 });
      await call(camera.url, '/api/events', {
        method: 'POST',
        body: { eventName: 'third', postEventUnlimited: true, stopOtherEvents: 'all' },
      });
      assert.equal((await first).eventName, 'first');
      assert.equal((await second).eventName, 'second');
      const active = await getJson<CameraEvent[]>(camera.url, '/api/events/active');
      assert.deepEqual(
        active.map((e) => e.eventName),
        ['third'],
      );
    });

    it('deletes one recording (then 404s it) and all recordings', async () => {
      const camera = await start({ recordings: 3 });
      const [first] = camera.control.recordings();
      const path = `/api/events/${first!.fileName}`;
      assert.equal((await call(camera.url, path, { method: 'DELETE' })).status, 200);
      assert.equal((await call(camera.url, path, { method: 'DELETE' })).status, 404);
      assert.equal((await call(camera.url, path)).status, 404);
      assert.equal(
        (await call(camera.url, '/api/events/20200101T000000_000', { method: 'DELETE' })).status,
        404,
      );
      assert.equal(camera.control.recordings().length, 2);
      assert.equal((await call(camera.url, '/api/events', { method: 'DELETE' })).status, 200);
      assert.deepEqual(await getJson(camera.url, '/api/events'), []);
    });

    it('creates recordings from random hardware triggers (unnamed) when triggerIntervalMs is set', async () => {
      const camera = await start({ triggerIntervalMs: 20, seed: 3 });
      const event = await once<CameraEvent>(camera.control, 'recording');
      assert.equal(event.eventName, null);
      assert.equal(event.dir, 'unnamed');
    });

    it('lists 10 000 entries of a huge list, newest first', async () => {
      const camera = await start({ hugeList: 10_000 });
      const reply = await call(camera.url, '/api/events');
      const events = JSON.parse(reply.text) as CameraEvent[];
      assert.equal(events.length, 10_000);
      assert.equal(new Set(events.map((e) => e.fileName)).size, 10_000);
      for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.age <= events[i]!.age);
      assertCameraEvent(events[9999]!);
      const storage = await getJson<StorageInfo>(camera.url, '/api/system/storage');
      assert.equal(storage.recordings, 10_000);
    });
  });

  describe('storage', () => {
    it('recycles the oldest recordings when storage is full', async () => {
      const probe = await start();
      const one =
        probe.control.media(probe.control.addRecording().fileName, 'video').size +
        probe.control.media(probe.control.recordings()[0]!.fileName, 'thumbnail').size;
      const camera = await start({ storageBytes: one * 3 + 10 });
      const names = Array.from(
        { length: 5 },
        (_, i) => camera.control.addRecording({ eventName: `r${i}` }).eventName,
      );
      assert.deepEqual(names, ['r0', 'r1', 'r2', 'r3', 'r4']);
      const left = (await getJson<CameraEvent[]>(camera.url, '/api/events')).map((e) => e.eventName);
      assert.deepEqual(left, ['r4', 'r3', 'r2']);
      const storage = await getJson<StorageInfo>(camera.url, '/api/system/storage');
      assert.equal(storage.usedBytes, one * 3);
      assert.equal(storage.freeBytes, 10);
    });

    it('keeps old recordings and refuses new ones (507) when recording_ensure_free_storage is off', async () => {
      const camera = await start({ videoBytes: 1000, storageBytes: 30_000 });
      const online = once(camera.control, 'online');
      await call(camera.url, '/api/system/settings', {
        method: 'PUT',
        body: { recording_ensure_free_storage: false },
      });
      await online;
      camera.control.addRecording({ eventName: 'kept' });
      camera.control.addRecording({ eventName: 'kept too' });
      assert.throws(() => camera.control.addRecording({ eventName: 'lost' }), /storage full/);
      const reply = await call(camera.url, '/api/events', { method: 'POST', body: { eventName: 'x' } });
      assert.equal(reply.status, 507);
      assert.deepEqual(
        camera.control.recordings().map((e) => e.eventName),
        ['kept too', 'kept'],
      );
    });
  });

  describe('media', () => {
    it('serves the MP4 and JPEG fixtures whose SHA-256 matches control.media()', async () => {
      const camera = await start();
      const event = camera.control.addRecording({ eventName: 'media' });
      const video = await call(camera.url, `/api/events/${event.fileName}`);
      assert.equal(video.status, 200);
      assert.equal(video.headers['content-type'], 'video/mp4');
      assert.equal(Number(video.headers['content-length']), video.body.length);
      assert.equal(video.body.subarray(4, 8).toString('latin1'), 'ftyp');
      assert.deepEqual(camera.control.media(event.fileName, 'video'), {
        size: video.body.length,
        sha256: sha256(video.body),
      });
      const thumb = await call(camera.url, `/api/events/${event.fileName}${event.thmbExt}`);
      assert.equal(thumb.headers['content-type'], 'image/jpeg');
      assert.equal(thumb.body.subarray(0, 2).toString('hex'), 'ffd8');
      assert.deepEqual(camera.control.media(event.fileName, 'thumbnail'), {
        size: thumb.body.length,
        sha256: sha256(thumb.body),
      });
      assert.throws(() => camera.control.media('missing', 'video'), /no recording/);
    });

    it('honours Range with 206 + Content-Range, suffix ranges, and 416 past the end', async () => {
      const camera = await start({ videoBytes: 200_000 });
      const { fileName } = camera.control.addRecording();
      const path = `/api/events/${fileName}`;
      const whole = (await call(camera.url, path)).body;
      assert.equal(whole.length, 200_000);
      const part = await call(camera.url, path, { headers: { range: 'bytes=70000-140001' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], 'bytes 70000-140001/200000');
      assert.ok(part.body.equals(whole.subarray(70000, 140002)));
      const open = await call(camera.url, path, { headers: { range: 'bytes=199990-' } });
      assert.ok(open.body.equals(whole.subarray(199990)));
      const suffix = await call(camera.url, path, { headers: { range: 'bytes=-100' } });
      assert.equal(suffix.headers['content-range'], 'bytes 199900-199999/200000');
      assert.ok(suffix.body.equals(whole.subarray(199900)));
      const past = await call(camera.url, path, { headers: { range: 'bytes=200000-' } });
      assert.equal(past.status, 416);
      assert.equal(past.headers['content-range'], 'bytes */200000');
      const head = await call(camera.url, path, { method: 'HEAD' });
      assert.equal(head.headers['content-length'], '200000');
      assert.equal(head.body.length, 0);
    });

    it('generates the same synthetic bytes for the same seed and file name', async () => {
      const a = await start({ seed: 5, videoBytes: 100_000 });
      const b = await start({ seed: 5, videoBytes: 100_000 });
      a.control.addRecording({ fileName: '20260101T000000_000' });
      b.control.addRecording({ fileName: '20260101T000000_000' });
      const bytesA = (await call(a.url, '/api/events/20260101T000000_000')).body;
      const bytesB = (await call(b.url, '/api/events/20260101T000000_000')).body;
      assert.ok(bytesA.equals(bytesB));
      assert.equal(sha256(bytesA), a.control.media('20260101T000000_000', 'video').sha256);
    });

    it('streams a 50 MB synthetic video whose bytes and SHA-256 match, with flat memory', async () => {
      const size = 50 * 1024 * 1024;
      const camera = await start({ seed: 9 });
      const { fileName } = camera.control.addRecording({ videoBytes: size });
      const expected = camera.control.media(fileName, 'video');
      // Live memory (after a full collection), so that garbage not yet collected does not count.
      const live = (): number => {
        collectGarbage();
        const usage = process.memoryUsage();
        return usage.heapUsed + usage.arrayBuffers;
      };
      const before = live();
      let peak = before;
      const res = await open(camera.url, `/api/events/${fileName}`);
      assert.equal(Number(res.headers['content-length']), size);
      const hash = createHash('sha256');
      let bytes = 0;
      let nextSample = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes >= nextSample) {
          peak = Math.max(peak, live());
          nextSample += 8 * 1024 * 1024;
        }
      }
      assert.deepEqual({ size: bytes, sha256: hash.digest('hex') }, expected);
      assert.ok(
        peak - before < 20 * 1024 * 1024,
        `live memory grew by ${Math.round((peak - before) / 1e6)} MB`,
      );
    });

    it('serves hostile recordings under their URL-decoded file names', async () => {
      const camera = await start({ faults: { hostileRecordings: true } });
      const events = Array.from({ length: 8 }, () => camera.control.addRecording());
      assert.deepEqual(
        events.slice(0, 3).map((e) => e.fileName),
        ['../../etc/passwd', '..\\..\\win.ini', 'a/b'],
      );
      assert.equal(events[3]!.eventName, '<script>alert(1)</script>');
      assert.doesNotMatch(events[4]!.triggeredAt, /(Z|[+-]\d{2}:\d{2})$/);
      assert.equal(events[5]!.vidExt, 'mp4');
      assert.equal(events[6]!.vidExt, '.mp4/../../x');
      assert.ok(events[7]!.fileName.includes('\u0000'));
      for (const event of [events[0]!, events[1]!, events[2]!, events[7]!]) {
        const reply = await call(camera.url, `/api/events/${encodeURIComponent(event.fileName)}`);
        assert.equal(reply.status, 200, JSON.stringify(event.fileName));
        assert.equal(sha256(reply.body), camera.control.media(event.fileName, 'video').sha256);
      }
      const ninth = camera.control.addRecording();
      assert.equal(ninth.fileName, '../../etc/passwd-1');
      const listed = await getJson<CameraEvent[]>(camera.url, '/api/events');
      assert.ok(listed.some((e) => e.fileName === 'a/b'));
    });
  });

  describe('SSE', () => {
    it('sends each finished recording as `event: recording` with the CameraEvent JSON, and pings', async () => {
      const camera = await start({ ssePingMs: 50 });
      const res = await open(camera.url, '/api/sse/recordings');
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      await readUntil(res, (text) => text.includes(': connected'));
      const added = camera.control.addRecording({ eventName: 'sse' });
      const text = await readUntil(res, (seen) => seen.includes('\n\n') && seen.includes('event: recording'));
      const frame = /event: recording\ndata: (.*)\n\n/.exec(text);
      assert.ok(frame, text);
      const data = JSON.parse(frame[1]!) as CameraEvent;
      assert.deepEqual({ ...data, age: 0 }, { ...added, age: 0 });
      await readUntil(res, (seen) => seen.includes(': ping\n\n'));
      res.destroy();
    });
  });

  describe('control', () => {
    it('serves /_sim/ state, faults, recordings, restart, offline and online over HTTP', async () => {
      const camera = await start({ seed: 77 });
      const state = await getJson<{ serialNumber: string; seed: number; online: boolean }>(
        camera.url,
        '/_sim/state',
      );
      assert.equal(state.serialNumber, camera.serialNumber);
      assert.equal(state.seed, 77);
      assert.equal(state.online, true);

      const set = await call(camera.url, '/_sim/faults', {
        method: 'PUT',
        body: { latencyMs: 5, errorRate: 0.25 },
      });
      assert.equal(set.status, 200);
      assert.equal(camera.control.faults.errorRate, 0.25);
      assert.equal(
        (await call(camera.url, '/_sim/faults', { method: 'PUT', body: { errorRate: 2 } })).status,
        400,
      );
      assert.equal(
        (await call(camera.url, '/_sim/faults', { method: 'PUT', body: { nope: 1 } })).status,
        400,
      );
      assert.equal((await call(camera.url, '/_sim/faults', { method: 'DELETE' })).status, 200);
      assert.equal(camera.control.faults.errorRate, 0);

      const created = await call(camera.url, '/_sim/recordings', {
        method: 'POST',
        body: { eventName: 'sim' },
      });
      assert.equal(created.status, 201);
      assert.equal((JSON.parse(created.text) as CameraEvent).eventName, 'sim');
      assert.equal(
        (await call(camera.url, '/_sim/recordings', { method: 'POST', body: { age: 'x' } })).status,
        400,
      );

      const offline = once(camera.control, 'offline');
      assert.equal((await call(camera.url, '/_sim/offline', { method: 'POST' })).status, 200);
      await offline;
      assert.equal((await failure(camera.url, '/api/system')).code, 'ECONNRESET');
      assert.equal((await getJson<{ online: boolean }>(camera.url, '/_sim/state')).online, false);
      assert.equal((await call(camera.url, '/_sim/online', { method: 'POST' })).status, 200);
      assert.equal((await call(camera.url, '/api/system')).status, 200);

      const online = once(camera.control, 'online');
      const restart = await call(camera.url, '/_sim/restart', { method: 'POST', body: { ms: 100 } });
      assert.equal(restart.status, 202);
      await online;
      assert.equal((await getJson<SystemInfo>(camera.url, '/api/system')).uptime, 0);
      assert.equal((await call(camera.url, '/_sim/unknown')).status, 404);
    });

    it('logs every camera request with method, path and headers, and clears the log', async () => {
      const camera = await start();
      const seen = once<{ path: string }>(camera.control, 'request');
      await call(camera.url, '/api/events/x%2Fy?z=1', { headers: { range: 'bytes=0-1' } });
      assert.equal((await seen).path, '/api/events/x%2Fy?z=1');
      await call(camera.url, '/_sim/state');
      const log = camera.control.requests();
      assert.equal(log.length, 1);
      assert.equal(log[0]!.method, 'GET');
      assert.equal(log[0]!.headers.range, 'bytes=0-1');
      camera.control.clearRequests();
      assert.equal(camera.control.requests().length, 0);
    });

    it('restarts from control.restart(): resolves once back, with uptime 0', async () => {
      const camera = await start();
      const restarted = camera.control.restart(150);
      assert.equal((await failure(camera.url, '/api/system')).code, 'ECONNREFUSED');
      await restarted;
      assert.equal(camera.control.uptimeSeconds, 0);
      assert.equal((await call(camera.url, '/api/system')).status, 200);
    });

    it('stops fast and idempotently with open SSE, MJPEG and stalled connections', async () => {
      const camera = await startCamera({ faults: {} });
      const sse = await open(camera.url, '/api/sse/recordings');
      const mjpeg = await open(camera.url, '/stream-hd');
      camera.control.setFaults({ stallRate: 1 });
      const stalled = failure(camera.url, '/api/system', { timeoutMs: 10_000 });
      await once(camera.control, 'request');
      const ended = Promise.all(
        [sse, mjpeg].map((res) => new Promise((resolve) => res.on('close', resolve))),
      );
      await Promise.all([camera.stop(), camera.stop()]);
      await camera.stop();
      await ended;
      assert.notEqual((await stalled).message, 'timeout');
      assert.equal((await failure(camera.url, '/api/system')).code, 'ECONNREFUSED');
    });
  });
});
