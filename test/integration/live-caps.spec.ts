import { strict as assert } from 'node:assert';
import { request } from 'undici';
import { parseCameraConfig } from '../../lib/camera/camera-config';
import type { RegisteredCamera } from '../../lib/cameras/camera-registry';
import { parseLiveCaps, type LiveCaps } from '../../lib/live/live-caps';
import { LiveHub } from '../../lib/live/live-hub';
import { MjpegRelay } from '../../lib/live/mjpeg-relay';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { fakeJpeg, registerSimulated, startMjpegUpstream, waitFor } from './live-fixtures';

describe('live caps (frame rate and resolution per camera)', function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  describe('configuration', () => {
    it('accepts empty caps as no cap and whole numbers in range', () => {
      assert.deepEqual(parseLiveCaps({}), { maxFps: 0, maxWidth: 0 });
      assert.deepEqual(parseLiveCaps({ liveMaxFps: '5', liveMaxWidth: 640 }), { maxFps: 5, maxWidth: 640 });
      assert.deepEqual(parseLiveCaps({ liveMaxFps: '', liveMaxWidth: '0' }), { maxFps: 0, maxWidth: 0 });
    });

    it('refuses a frame-rate cap out of range or not whole, naming it', () => {
      assert.throws(() => parseLiveCaps({ liveMaxFps: 61 }), /frame-rate cap .* from 0 to 60, got 61/);
      assert.throws(() => parseLiveCaps({ liveMaxFps: '2.5' }), /frame-rate cap/);
      assert.throws(() => parseLiveCaps({ liveMaxFps: -1 }), /frame-rate cap/);
    });

    it('refuses a width cap below 160 or above 7680', () => {
      assert.throws(() => parseLiveCaps({ liveMaxWidth: 100 }), /resolution cap .* got 100/);
      assert.throws(() => parseLiveCaps({ liveMaxWidth: '9000' }), /resolution cap/);
    });

    it('is part of the pfcam-camera configuration (a bad cap makes the camera config invalid)', () => {
      const config = parseCameraConfig({ url: 'http://10.0.0.5', liveMaxFps: '2', liveMaxWidth: '640' });
      assert.deepEqual(config.liveCaps, { maxFps: 2, maxWidth: 640 });
      assert.deepEqual(parseCameraConfig({ url: 'http://10.0.0.5' }).liveCaps, { maxFps: 0, maxWidth: 0 });
      assert.throws(
        () => parseCameraConfig({ url: 'http://10.0.0.5', liveMaxFps: 'fast' }),
        /frame-rate cap/,
      );
    });
  });

  describe('resolution cap: the upstream request asks for the stream within the cap', () => {
    async function camWith(
      caps: LiveCaps | undefined,
    ): Promise<{ sim: SimulatedCamera; hub: LiveHub; camera: RegisteredCamera }> {
      const sim = await startCamera({ seed: 4, liveFps: 20, sdStream: true });
      cleanups.push(() => sim.stop());
      const registered = await registerSimulated(sim);
      cleanups.push(() => registered.close());
      const camera: RegisteredCamera = Object.create(registered, {
        liveCaps: { value: caps },
      }) as RegisteredCamera;
      const hub = new LiveHub({ ffmpegPath: null, mjpeg: { idleCloseMs: 50 } });
      cleanups.push(() => hub.close());
      return { sim, hub, camera };
    }

    const streamRequests = (sim: SimulatedCamera): string[] =>
      sim.control
        .requests()
        .filter((r) => r.path.startsWith('/stream-'))
        .map((r) => r.path);

    it('without a width cap the relay opens the camera hd stream', async () => {
      const { sim, hub, camera } = await camWith(undefined);
      assert.ok(await hub.mjpeg(camera).nextFrame(10_000), 'a frame came');
      assert.deepEqual(streamRequests(sim), ['/stream-hd']);
    });

    it('with a 640 px cap the relay opens the camera 640 px sub-stream, not the hd one', async () => {
      const { sim, hub, camera } = await camWith({ maxFps: 0, maxWidth: 640 });
      assert.ok(await hub.mjpeg(camera).nextFrame(10_000), 'a frame came');
      assert.deepEqual(streamRequests(sim), ['/stream-sd']);
      assert.deepEqual(hub.state(camera).stream, { name: 'sd', width: 640, withinCap: true });
    });

    it('with a cap narrower than every stream it takes the narrowest and reports the cap as not met', async () => {
      const { sim, hub, camera } = await camWith({ maxFps: 0, maxWidth: 320 });
      assert.ok(await hub.mjpeg(camera).nextFrame(10_000), 'a frame came');
      assert.deepEqual(streamRequests(sim), ['/stream-sd']);
      assert.equal(hub.state(camera).stream?.withinCap, false);
    });

    it('a cap set on the hub overrides the camera node cap', async () => {
      const { sim, hub, camera } = await camWith({ maxFps: 0, maxWidth: 640 });
      hub.setCaps(camera.id, { maxFps: 0, maxWidth: 3840 });
      assert.ok(await hub.mjpeg(camera).nextFrame(10_000), 'a frame came');
      assert.deepEqual(streamRequests(sim), ['/stream-hd']);
    });

    it("the camera node's frame-rate cap reaches the relay", async () => {
      const { hub, camera } = await camWith({ maxFps: 3, maxWidth: 0 });
      assert.equal(hub.effectiveCaps(camera).maxFps, 3);
      hub.setDefaultMaxFps(10);
      assert.equal(hub.effectiveCaps(camera).maxFps, 3, 'the camera cap wins over the default');
      const relay = hub.mjpeg(camera);
      cleanups.push(relay.subscribe(() => undefined));
      await waitFor('40 frames in', () => relay.counters.framesIn >= 40, 20_000);
      assert.ok(relay.counters.framesCapped > 0, 'frames above 3 fps of a 20 fps camera were dropped');
    });
  });

  describe('frame-rate cap: the relay drops frames above it', () => {
    it('passes one frame of a burst of 20 under a 1 fps cap and counts the 19 dropped', async () => {
      const frame = fakeJpeg(2000);
      const part = Buffer.concat([
        Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`),
        frame,
        Buffer.from('\r\n'),
      ]);
      const upstream = await startMjpegUpstream((res) => {
        // one write: the relay parses the 20 frames within the same few milliseconds
        res.write(Buffer.concat(Array.from({ length: 20 }, () => part)));
      });
      cleanups.push(() => upstream.close());
      const relay = new MjpegRelay({
        open: async (signal) => {
          const r = await request(upstream.url, { signal });
          return { contentType: String(r.headers['content-type']), body: r.body };
        },
        maxFps: 1,
        idleCloseMs: 50,
      });
      cleanups.push(() => relay.close());
      const passed: number[] = [];
      cleanups.push(relay.subscribe((f) => passed.push(f.seq)));
      await waitFor('20 frames in', () => relay.counters.framesIn >= 20);
      assert.equal(relay.counters.framesIn, 20);
      assert.equal(passed.length, 1, 'one frame passed');
      assert.equal(relay.counters.framesCapped, 19, 'the 19 others were dropped and counted');
    });

    it('without a cap every frame of the burst passes', async () => {
      const frame = fakeJpeg(2000);
      const part = Buffer.concat([
        Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`),
        frame,
        Buffer.from('\r\n'),
      ]);
      const upstream = await startMjpegUpstream((res) => {
        res.write(Buffer.concat(Array.from({ length: 20 }, () => part)));
      });
      cleanups.push(() => upstream.close());
      const relay = new MjpegRelay({
        open: async (signal) => {
          const r = await request(upstream.url, { signal });
          return { contentType: String(r.headers['content-type']), body: r.body };
        },
        idleCloseMs: 50,
      });
      cleanups.push(() => relay.close());
      let passed = 0;
      cleanups.push(relay.subscribe(() => passed++));
      await waitFor('20 frames in', () => relay.counters.framesIn >= 20);
      assert.equal(passed, 20);
      assert.equal(relay.counters.framesCapped, 0);
    });
  });
});
