import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CameraClient, createCameraClient } from '../../lib/camera/camera-client';
import { CameraError, CameraHttpError, CameraInputError, UnsupportedError } from '../../lib/camera/errors';
import { SECRET_SETTING_KEYS, type CameraEvent } from '../../lib/camera/types';
import { ROUTE_KEYS, type SimulatedCamera } from '../../simulator';
import { Rig, requests, waitFor } from './client-fixtures';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('camera client against the simulator: every endpoint', function () {
  this.timeout(20_000);
  const rig = new Rig();
  let camera: SimulatedCamera;
  let client: CameraClient;
  let dir: string;

  beforeEach(async () => {
    camera = await rig.camera({ recordings: 3, videoBytes: 300_000, postEventSeconds: 0.05 });
    client = rig.client(camera);
    dir = await mkdtemp(join(tmpdir(), 'pfcam-client-'));
  });

  afterEach(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the camera root and the /api URL, with trailing slashes, as the same camera', async () => {
    for (const url of [camera.url, `${camera.url}/`, `${camera.url}/api`, `${camera.url}/api/`]) {
      const c = rig.client(url);
      assert.equal(c.baseUrl, camera.url);
      assert.equal((await c.getSystemInfo()).serialNumber, camera.serialNumber);
    }
    const viaFactory = createCameraClient({ baseUrl: `${camera.url}/api` });
    try {
      assert.equal((await viaFactory.getSystemInfo()).serialNumber, camera.serialNumber);
    } finally {
      await viaFactory.close();
    }
  });

  it('keeps the password out of sight (options, inspection, JSON) while using it', async () => {
    const secured = await rig.camera({
      auth: { scheme: 'basic', username: 'admin', password: 'hunter2-secret' },
    });
    const c = rig.client(secured, { username: 'admin', password: 'hunter2-secret' });
    assert.equal((await c.getSystemInfo()).serialNumber, secured.serialNumber);
    assert.equal(c.options.password, undefined);
    assert.equal(c.options.username, 'admin');
    const { inspect } = await import('node:util');
    assert.doesNotMatch(inspect(c, { depth: 6, showHidden: true }), /hunter2/);
    assert.doesNotMatch(JSON.stringify(c.options), /hunter2/);
  });

  it('refuses calls once closed', async () => {
    const c = rig.client(camera);
    await c.close();
    await c.close();
    await assert.rejects(
      c.getSystemInfo(),
      (err) => err instanceof CameraError && err.key === 'errors.clientClosed',
    );
  });

  it('lists the recordings newest first, as the camera has them', async () => {
    const events = await client.listEvents();
    assert.deepEqual(
      events.map((e) => e.fileName),
      camera.control.recordings().map((e) => e.fileName),
    );
    assert.equal(events.length, 3);
    assert.equal(events[0]!.vidExt, '.mp4');
  });

  it('triggers a named recording, lists it while active, stops it by name and then lists it as finished', async () => {
    const recorded = waitFor<CameraEvent>('the recording', (resolve) => {
      const listener = (e: CameraEvent): void => {
        if (e.eventName === 'door') resolve(e);
      };
      camera.control.on('recording', listener);
      return () => camera.control.off('recording', listener as (...args: unknown[]) => void);
    });
    await client.triggerEvent({
      eventName: 'door',
      postEventUnlimited: true,
      preEventSeconds: 1,
      stopOtherEvents: 'none',
    });
    const active = await client.listActiveEvents();
    assert.deepEqual(
      active.map((e) => e.eventName),
      ['door'],
    );
    await client.stopActiveEvent('door');
    const done = await recorded;
    assert.equal((await client.listActiveEvents()).length, 0);
    assert.equal((await client.listEvents())[0]!.fileName, done.fileName);
    const post = requests(camera).find((r) => r.method === 'POST');
    assert.equal(post?.headers['content-type'], 'application/json');
  });

  it('refuses unusable trigger input before sending anything', async () => {
    camera.control.clearRequests();
    await assert.rejects(client.triggerEvent({ eventName: '' }), (err) => err instanceof CameraInputError);
    await assert.rejects(
      client.triggerEvent({ eventName: 'x\u0000' }),
      (err) => err instanceof CameraInputError,
    );
    await assert.rejects(
      client.triggerEvent({ eventName: 'x', postEventSeconds: -1 }),
      (err) => err instanceof CameraInputError,
    );
    await assert.rejects(client.stopActiveEvent(''), (err) => err instanceof CameraInputError);
    assert.equal(requests(camera).length, 0);
  });

  it('treats stopping an event that is no longer active as done', async () => {
    await client.stopActiveEvent('never-started');
  });

  it('stops every active event at once', async () => {
    await client.triggerEvent({ eventName: 'a', postEventUnlimited: true });
    await client.triggerEvent({ eventName: 'b', postEventUnlimited: true });
    assert.equal((await client.listActiveEvents()).length, 2);
    await client.stopAllActiveEvents();
    assert.equal((await client.listActiveEvents()).length, 0);
  });

  it('deletes one recording (false once it is already gone) and then all of them', async () => {
    const [first] = await client.listEvents();
    assert.equal(await client.deleteEvent(first!.fileName), true);
    assert.equal(await client.deleteEvent(first!.fileName), false);
    assert.equal((await client.listEvents()).length, 2);
    await client.deleteAllEvents();
    assert.deepEqual(await client.listEvents(), []);
  });

  it('downloads a video and a thumbnail to a file, a stream and a buffer, byte-exact', async () => {
    const [event] = await client.listEvents();
    const video = camera.control.media(event!.fileName, 'video');
    const thumb = camera.control.media(event!.fileName, 'thumbnail');

    const file = join(dir, 'v.mp4');
    const progress: number[] = [];
    const toFile = await client.downloadToFile('video', event!, file, {
      expectedSize: video.size,
      onProgress: (p) => progress.push(p.receivedBytes),
    });
    assert.deepEqual(
      [toFile.bytes, toFile.sha256, toFile.path, toFile.resumes],
      [video.size, video.sha256, file, 0],
    );
    assert.equal(sha256(await readFile(file)), video.sha256);
    assert.equal(toFile.contentType, 'video/mp4');
    assert.equal(progress.at(-1), video.size);

    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const toStream = await client.downloadToStream('thumbnail', event!, sink);
    assert.equal(toStream.sha256, thumb.sha256);
    assert.equal(sha256(Buffer.concat(chunks)), thumb.sha256);
    assert.ok(sink.writableFinished);

    const toBuffer = await client.downloadToBuffer('thumbnail', event!);
    assert.equal(sha256(toBuffer.data), thumb.sha256);
    assert.equal(toBuffer.contentType, 'image/jpeg');
  });

  it('answers 404 for an unknown recording with a typed error, without retrying', async () => {
    camera.control.clearRequests();
    await assert.rejects(
      client.downloadToBuffer('video', { fileName: 'nope', vidExt: '.mp4', thmbExt: '.jpg' }),
      (err) =>
        err instanceof CameraHttpError &&
        err.status === 404 &&
        err.cameraMessage === 'not found' &&
        !(err instanceof UnsupportedError),
    );
    assert.equal(requests(camera).length, 1);
  });

  it('takes a snapshot JPEG and opens the MJPEG live stream', async () => {
    const snap = await client.getSnapshot();
    assert.equal(snap.data[0], 0xff);
    assert.equal(snap.data[1], 0xd8);
    const live = await client.openLiveStream('hd');
    assert.match(live.contentType, /^multipart\/x-mixed-replace/);
    const first = await waitFor<Buffer>('a live frame', (resolve) => {
      live.body.once('data', resolve);
      return () => live.body.off('data', resolve);
    });
    assert.match(first.toString('latin1'), /--pfcamframe/);
    live.body.destroy();
    await assert.rejects(client.getSnapshot('rtsp'), (err) => err instanceof UnsupportedError);
  });

  it('reads system info, storage, firmware, date-time and time zones', async () => {
    const info = await client.getSystemInfo();
    assert.equal(info.serialNumber, camera.serialNumber);
    assert.equal(info.brand, 'PFCAM');
    const storage = await client.getStorage();
    assert.equal(storage.recordings, 3);
    assert.ok(storage.totalBytes >= storage.usedBytes);
    assert.equal(typeof (await client.getFirmware()).version, 'string');
    assert.equal((await client.getDateTime()).timezone, 'Europe/Zurich');
    assert.ok((await client.getTimezones()).includes('Europe/Zurich'));
  });

  it('reads the settings without any secret, though the camera has them', async () => {
    const settings = (await client.getSettings()) as unknown as Record<string, unknown>;
    const full = camera.control.settings() as unknown as Record<string, unknown>;
    for (const key of SECRET_SETTING_KEYS) {
      assert.ok(key in full, key);
      assert.equal(key in settings, false, key);
    }
    assert.equal(settings.name, full.name);
    const reset = (await client.resetSettings()) as unknown as Record<string, unknown>;
    for (const key of SECRET_SETTING_KEYS) assert.equal(key in reset, false, key);
  });

  it('writes settings (the camera restarts) and reads the change back once it is up', async () => {
    const restarted = waitFor<unknown>('the restart', (resolve) => {
      camera.control.on('restart', resolve);
      return () => camera.control.off('restart', resolve);
    });
    await client.putSettings({ name: 'Gate 3' });
    await restarted;
    const slow = rig.client(camera, { retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 100 } });
    assert.equal((await slow.getSettings()).name, 'Gate 3');
    assert.equal(requests(camera).filter((r) => r.method === 'PUT').length, 1);
  });

  it('reboots the camera with one request, and the camera restarts', async () => {
    const restarted = waitFor<unknown>('the restart', (resolve) => {
      camera.control.on('restart', resolve);
      return () => camera.control.off('restart', resolve);
    });
    await client.reboot();
    await restarted;
    assert.equal(requests(camera).filter((r) => r.path === '/api/system/reboot').length, 1);
  });

  it('reads and writes exposure, focus and overlay live', async () => {
    await client.putExposure({ iso: 800, manual: true });
    assert.deepEqual(await client.getExposure(), {
      iso: 800,
      shutter: (await client.getExposure()).shutter,
      manual: true,
    });
    await client.putFocus({ setpoint: 321 });
    assert.equal((await client.getFocus()).setpoint, 321);
    await client.putOverlay({ user: true });
    assert.equal((await client.getOverlay()).user, true);
  });

  it('lists the streams with their URLs', async () => {
    const streams = await client.listStreams();
    assert.equal(streams.hd?.codec, 'mjpeg');
    assert.equal(streams.hd?.url.relative, '/stream-hd');
  });

  it('reports each assumed feature the camera lacks as UnsupportedError', async () => {
    const bare = await rig.camera({ unsupported: [...ROUTE_KEYS] });
    const c = rig.client(bare);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['storage', () => c.getStorage()],
      ['firmware', () => c.getFirmware()],
      ['datetime', () => c.getDateTime()],
      ['timezones', () => c.getTimezones()],
      ['exposure', () => c.getExposure()],
      ['exposure', () => c.putExposure({ iso: 100 })],
      ['focus', () => c.getFocus()],
      ['focus', () => c.putFocus({ setpoint: 1 })],
      ['overlay', () => c.getOverlay()],
      ['overlay', () => c.putOverlay({ user: false })],
    ];
    for (const [feature, call] of calls) {
      await assert.rejects(
        call(),
        (err) =>
          err instanceof UnsupportedError && err.feature === feature && err.key === 'errors.unsupported',
        feature,
      );
    }
    assert.equal(requests(bare).length, calls.length, 'a 404 is never retried');
    // the confirmed routes still work
    assert.equal((await c.getSystemInfo()).serialNumber, bare.serialNumber);
  });
});
