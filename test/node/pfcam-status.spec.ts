import { strict as assert } from 'node:assert';
import type { CameraStatusPayload } from '../../lib/camera/messages';
import type { CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import statusNode from '../../nodes/pfcam-status/pfcam-status';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import {
  COMMON,
  cameraConfig,
  cameraNodeOf,
  expectError,
  expectSent,
  lastStatus,
  load,
  onTab,
  settle,
  testFlow,
  waitForState,
} from './camera-node-fixtures';

interface StatusMsg {
  topic: string;
  payload: CameraStatusPayload;
}

/** Collects every message the `out` helper receives; `next(pred)` waits for the first matching one. */
function collector(): {
  all: StatusMsg[];
  next(pred: (m: StatusMsg) => boolean, timeoutMs?: number): Promise<StatusMsg>;
} {
  const all: StatusMsg[] = [];
  const waiters: { pred: (m: StatusMsg) => boolean; resolve: (m: StatusMsg) => void }[] = [];
  helper.getNode('out').on('input', (m: StatusMsg) => {
    all.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    all,
    next(pred, timeoutMs = 5000) {
      const seen = all.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching status message within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

/** Resolves once the camera's probes have seen an uptime of at least `min` s, waiting on each probe request. */
async function waitForUptime(sim: SimulatedCamera, camera: CameraConfigNode, min: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((camera.health.snapshot.uptime ?? 0) < min) {
    if (Date.now() > deadline) throw new Error(`uptime not ${min} s within 10 s`);
    await new Promise<void>((resolve) => {
      const listener = (request: { path: string }): void => {
        if (request.path !== '/api/system') return;
        sim.control.off('request', listener as (...args: unknown[]) => void);
        resolve();
      };
      sim.control.on('request', listener);
    });
  }
}

describe('pfcam-status node', function () {
  let sim: SimulatedCamera;
  let sim2: SimulatedCamera | undefined;

  beforeEach(async () => {
    sim = await startCamera({ seed: 51, restartMs: 300 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
    await sim2?.stop();
    sim2 = undefined;
  });

  it('sends the first probe as online after unknown, with the documented shape', async () => {
    await load([statusNode], testFlow(sim, { type: 'pfcam-status', scope: 'one' }));
    const messages = collector();
    const msg = await messages.next((m) => m.payload.state === 'online');
    assert.equal(msg.topic, 'pfcam/status');
    assert.deepEqual(Object.keys(msg.payload).sort(), [
      'at',
      'camera',
      'previous',
      'rebooted',
      'state',
      'uptime',
    ]);
    assert.deepEqual(msg.payload.camera, { serialNumber: sim.serialNumber, name: 'Gate', url: sim.url });
    assert.equal(msg.payload.previous, 'unknown');
    assert.equal(msg.payload.rebooted, false);
    assert.equal(typeof msg.payload.uptime, 'number');
    assert.ok(!Number.isNaN(Date.parse(msg.payload.at)));
    assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.online' });
  });

  it('tells when the camera goes offline and comes back', async () => {
    await load([statusNode], testFlow(sim, { type: 'pfcam-status', scope: 'one' }));
    const messages = collector();
    await messages.next((m) => m.payload.state === 'online');
    sim.control.offline();
    const offline = await messages.next((m) => m.payload.state === 'offline');
    assert.equal(offline.payload.previous, 'online');
    assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + 'status.offline' });
    sim.control.online();
    const back = await messages.next((m) => m.payload.state === 'online' && m.payload.previous === 'offline');
    assert.equal(back.payload.camera.serialNumber, sim.serialNumber);
  });

  it('tells of an announced restart and of the reboot once the camera is back', async () => {
    await load([statusNode], testFlow(sim, { type: 'pfcam-status', scope: 'one' }));
    const messages = collector();
    const camera = cameraNodeOf();
    await messages.next((m) => m.payload.state === 'online');
    // uptime is counted in whole seconds: wait (probe by probe) until it passed 1, so that its return to 0 shows
    await waitForUptime(sim, camera, 1);
    await camera.exclusive(async () => {
      camera.health.expectRestart(10_000);
      await camera.client.putSettings({ overlay_name: false });
      await camera.health.waitFor('online', 10_000);
    });
    const restarting = await messages.next((m) => m.payload.state === 'restarting');
    assert.equal(restarting.payload.previous, 'online');
    const back = await messages.next(
      (m) => m.payload.state === 'online' && m.payload.previous === 'restarting',
    );
    assert.equal(back.payload.rebooted, true);
  });

  it('answers a message with the current state, reusing the message', async () => {
    await load([statusNode], testFlow(sim, { type: 'pfcam-status', scope: 'one' }));
    await collector().next((m) => m.payload.state === 'online');
    await settle();
    const msg = await expectSent({ keep: 'x' });
    assert.equal(msg.keep, 'x');
    assert.equal(msg.topic, 'pfcam/status');
    const payload = msg.payload as CameraStatusPayload;
    assert.equal(payload.state, 'online');
    assert.equal(payload.previous, 'online');
    assert.equal(payload.rebooted, false);
  });

  it('watches every camera with "all cameras", and shows how many are online', async () => {
    sim2 = await startCamera({ seed: 52, restartMs: 300 });
    await load(
      [statusNode],
      [
        cameraConfig(sim),
        { ...cameraConfig(sim2), id: 'cam2', name: 'Yard' },
        ...onTab([{ id: 'n', type: 'pfcam-status', scope: 'all', wires: [['out']] }]),
      ],
    );
    const messages = collector();
    await messages.next((m) => m.payload.camera.name === 'Gate' && m.payload.state === 'online');
    await messages.next((m) => m.payload.camera.name === 'Yard' && m.payload.state === 'online');
    assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.summary' });
    sim2.control.offline();
    const off = await messages.next((m) => m.payload.state === 'offline');
    assert.deepEqual(off.payload.camera, { serialNumber: sim2.serialNumber, name: 'Yard', url: sim2.url });
    assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + 'status.summary' });
    const current = await expectSent({});
    assert.equal(current.topic, 'pfcam/status');
    sim2.control.online();
  });

  it('shows "no cameras" when there is none to watch', async () => {
    await load([statusNode], onTab([{ id: 'n', type: 'pfcam-status', scope: 'all', wires: [['out']] }]));
    assert.deepEqual(lastStatus(), { fill: 'grey', shape: 'ring', text: COMMON + 'status.noCameras' });
  });

  it('reports a missing camera on the status and on a message', async () => {
    await load(
      [statusNode],
      onTab([{ id: 'n', type: 'pfcam-status', scope: 'one', camera: '', wires: [['out']] }]),
    );
    assert.deepEqual(lastStatus(), { fill: 'red', shape: 'ring', text: COMMON + 'errors.noCamera' });
    await expectError({}, 'errors.noCamera');
  });

  it('stops listening to the camera when closed', async () => {
    await load([statusNode], testFlow(sim, { type: 'pfcam-status', scope: 'one' }));
    const camera = cameraNodeOf();
    await waitForState(camera, 'online');
    const before = camera.health.listenerCount('change');
    await helper.unload();
    assert.ok(camera.health.listenerCount('change') < before);
  });
});
