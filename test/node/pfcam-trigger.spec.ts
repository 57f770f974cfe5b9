import { strict as assert } from 'node:assert';
import type { Node } from 'node-red';
import type { TriggerResult } from '../../lib/camera/messages';
import type { CameraEvent } from '../../lib/camera/types';
import eventsNode from '../../nodes/pfcam-events/pfcam-events';
import triggerNode from '../../nodes/pfcam-trigger/pfcam-trigger';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import {
  COMMON,
  cameraNodeOf,
  expectError,
  expectSent,
  lastStatus,
  load,
  requestsTo,
  testFlow,
  waitForState,
} from './camera-node-fixtures';

/** Resolves with the next recording the simulated camera finishes. */
function nextRecording(sim: SimulatedCamera, timeoutMs = 5000): Promise<CameraEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no recording within ${timeoutMs} ms`)), timeoutMs);
    const listener = (e: CameraEvent): void => {
      clearTimeout(timer);
      sim.control.off('recording', listener as (...args: unknown[]) => void);
      resolve(e);
    };
    sim.control.on('recording', listener);
  });
}

describe('pfcam-trigger node', function () {
  let sim: SimulatedCamera;

  beforeEach(async () => {
    sim = await startCamera({ seed: 21, restartMs: 300, postEventSeconds: 0.2 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
  });

  async function start(node: Record<string, unknown>, camera?: Record<string, unknown>): Promise<void> {
    await load([triggerNode], testFlow(sim, { type: 'pfcam-trigger', ...node }, { camera }));
    await waitForState(cameraNodeOf(), 'online');
  }

  it('triggers a recording with the values set in the editor and sends what it sent', async () => {
    await start({
      eventName: 'gate-open',
      eventNameType: 'str',
      overlayText: 'Gate 3',
      overlayTextType: 'str',
      preEventSeconds: '2',
      preEventSecondsType: 'num',
      postEventSeconds: '0',
      postEventSecondsType: 'num',
      stopOtherEvents: 'all',
      stopOtherEventsType: 'stopOthers',
    });
    const recorded = nextRecording(sim);
    const msg = await expectSent({ topic: 'keep' });
    const payload = msg.payload as TriggerResult;
    assert.deepEqual(
      { ...payload, acceptedAt: undefined },
      {
        eventName: 'gate-open',
        overlayText: 'Gate 3',
        preEventSeconds: 2,
        postEventSeconds: 0,
        postEventUnlimited: false,
        stopOtherEvents: 'all',
        acceptedAt: undefined,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(payload.acceptedAt)));
    assert.equal(msg.topic, 'keep');
    assert.deepEqual(msg.camera, { serialNumber: sim.serialNumber, name: 'Gate', url: sim.url });
    const recording = await recorded;
    assert.equal(recording.eventName, 'gate-open');
    assert.ok(recording.playbackTime >= 2, 'the pre-event time reached the camera');
    assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.triggered' });
  });

  it('reads each field from the message; unset ones are left to the camera', async () => {
    await start({
      eventName: 'payload.name',
      eventNameType: 'msg',
      overlayText: 'payload.overlay',
      overlayTextType: 'msg',
      preEventSeconds: 'payload.pre',
      preEventSecondsType: 'msg',
      postEventSeconds: 'payload.post',
      postEventSecondsType: 'msg',
      postEventUnlimited: 'payload.unlimited',
      postEventUnlimitedType: 'msg',
      stopOtherEvents: 'payload.stop',
      stopOtherEventsType: 'msg',
    });
    const recorded = nextRecording(sim);
    const msg = await expectSent({ payload: { name: 'from-msg', post: '0', unlimited: 'false' } });
    const payload = msg.payload as TriggerResult;
    assert.deepEqual(
      { ...payload, acceptedAt: undefined },
      { eventName: 'from-msg', postEventSeconds: 0, postEventUnlimited: false, acceptedAt: undefined },
    );
    assert.equal((await recorded).eventName, 'from-msg');
  });

  it('reads the event name from the flow context', async () => {
    await start({ eventName: 'camName', eventNameType: 'flow' });
    (helper.getNode('n') as unknown as Node).context().flow.set('camName', 'ctx-name');
    const msg = await expectSent({});
    assert.equal((msg.payload as TriggerResult).eventName, 'ctx-name');
  });

  it('refuses bad values with a message naming the property, and sends no trigger', async () => {
    await start({
      eventName: 'payload.eventName',
      eventNameType: 'msg',
      postEventSeconds: 'payload.postEventSeconds',
      postEventSecondsType: 'msg',
      preEventSeconds: 'payload.preEventSeconds',
      preEventSecondsType: 'msg',
      postEventUnlimited: 'payload.unlimited',
      postEventUnlimitedType: 'msg',
      stopOtherEvents: 'payload.stop',
      stopOtherEventsType: 'msg',
      overlayText: 'payload.overlay',
      overlayTextType: 'msg',
    });
    sim.control.clearRequests();
    const bad = async (payload: Record<string, unknown>, pattern: RegExp): Promise<void> => {
      const err = await expectError({ payload: { eventName: 'ok', ...payload } }, 'errors.badInput');
      assert.match(err.message, pattern);
    };
    await bad(
      { postEventSeconds: 'abc' },
      /^msg\.payload\.postEventSeconds must be an integer from 0 to 600, got 'abc'$/,
    );
    await bad({ postEventSeconds: 601 }, /postEventSeconds must be an integer from 0 to 600, got 601/);
    await bad({ postEventSeconds: 1.5 }, /postEventSeconds must be an integer/);
    await bad({ preEventSeconds: -1 }, /msg\.payload\.preEventSeconds must be an integer from 0 to 600/);
    await bad({ preEventSeconds: { n: 1 } }, /got an object/);
    await bad({ unlimited: 'yes' }, /msg\.payload\.unlimited must be true or false/);
    await bad({ stop: 'some' }, /msg\.payload\.stop must be one of 'none', 'all'/);
    await bad({ overlay: 'x'.repeat(129) }, /at most 128 characters/);
    await bad({ overlay: 'a\nb' }, /control characters/);
    await bad({ eventName: 'x'.repeat(65) }, /msg\.payload\.eventName must be 1 to 64 characters/);
    await bad({ eventName: 'a/b' }, /must not contain/);
    await bad({ eventName: 42 }, /msg\.payload\.eventName must be text, got 42/);
    await bad({ eventName: undefined }, /msg\.payload\.eventName is missing/);
    assert.deepEqual(requestsTo(sim, 'POST', '/api/events'), []);
  });

  it('fails with errors.cameraOffline while the camera is offline, and sends no trigger', async () => {
    await start({});
    sim.control.offline();
    await waitForState(cameraNodeOf(), 'offline');
    sim.control.clearRequests();
    await expectError({}, 'errors.cameraOffline');
    assert.deepEqual(requestsTo(sim, 'POST', '/api/events'), []);
    sim.control.online();
  });

  it('fails with errors.cameraRestarting while the camera restarts, and triggers again once back', async () => {
    await start({});
    const camera = cameraNodeOf();
    camera.health.expectRestart(10_000);
    const back = sim.control.restart();
    sim.control.clearRequests();
    await expectError({}, 'errors.cameraRestarting');
    assert.deepEqual(requestsTo(sim, 'POST', '/api/events'), []);
    await back;
    await waitForState(camera, 'online', 10_000);
    await expectSent({});
  });

  it('reports a camera that keeps answering 500 as errors.cameraHttp, with the camera named', async () => {
    await start({}, { probeInterval: 60 });
    sim.control.setFaults({ errorRate: 1 });
    const err = await expectError({}, 'errors.cameraHttp', 8000);
    assert.match(err.message, /Camera "Gate": could not trigger the event 'node-red'/);
    sim.control.clearFaults();
    await expectSent({});
  });

  it('feeds pfcam-events: an unlimited trigger is stopped by the name it sent', async () => {
    await load(
      [triggerNode, eventsNode],
      testFlow(
        sim,
        {
          type: 'pfcam-trigger',
          eventName: 'long',
          eventNameType: 'str',
          postEventUnlimited: 'true',
          postEventUnlimitedType: 'bool',
          wires: [['stopper']],
        },
        {
          nodes: [
            { id: 'stopper', type: 'pfcam-events', camera: 'cam', operation: 'stop', wires: [['out']] },
          ],
        },
      ),
    );
    await waitForState(cameraNodeOf(), 'online');
    const recorded = nextRecording(sim);
    const msg = await expectSent({});
    assert.deepEqual(msg.payload, { eventName: 'long', stopped: true });
    assert.equal((await recorded).eventName, 'long');
  });
});
