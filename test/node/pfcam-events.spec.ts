import { strict as assert } from 'node:assert';
import type { CameraRecording } from '../../lib/camera/messages';
import eventsNode from '../../nodes/pfcam-events/pfcam-events';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import {
  COMMON,
  assertAlive,
  cameraNodeOf,
  expectError,
  expectSent,
  lastStatus,
  load,
  onTab,
  requestsTo,
  testFlow,
  waitForState,
} from './camera-node-fixtures';

describe('pfcam-events node', function () {
  let sim: SimulatedCamera;

  beforeEach(async () => {
    sim = await startCamera({ seed: 11, restartMs: 300, postEventSeconds: 0.2, timezone: 'Europe/Zurich' });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
  });

  async function start(node: Record<string, unknown>, camera?: Record<string, unknown>): Promise<void> {
    await load([eventsNode], testFlow(sim, { type: 'pfcam-events', ...node }, { camera }));
    await waitForState(cameraNodeOf(), 'online');
  }

  describe('list', () => {
    it('lists the recordings newest first, with the UTC time, the total and the camera', async () => {
      sim.control.addRecording({ triggeredAt: '2024-03-01T10:00:00', eventName: 'a' });
      sim.control.addRecording({ triggeredAt: '2024-03-01T12:00:00+01:00', eventName: null });
      sim.control.addRecording({ triggeredAt: '2024-03-01T11:00:00Z', eventName: 'b' });
      await start({ operation: 'list' });
      const msg = await expectSent({ keep: 'me' });
      const list = msg.payload as CameraRecording[];
      assert.deepEqual(
        list.map((r) => r.triggeredAtUtc),
        ['2024-03-01T11:00:00.000Z', '2024-03-01T11:00:00.000Z', '2024-03-01T09:00:00.000Z'],
      );
      // camera-local time without an offset is read in the camera's zone (Zurich, UTC+1 in March)
      assert.equal(list.find((r) => r.eventName === 'a')?.triggeredAtUtc, '2024-03-01T09:00:00.000Z');
      assert.equal(msg.total, 3);
      assert.equal(msg.keep, 'me', 'the input message properties are kept');
      assert.equal(msg.operation, undefined, 'no operation is added to the output');
      assert.deepEqual(msg.camera, { serialNumber: sim.serialNumber, name: 'Gate', url: sim.url });
      assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.listed' });
    });

    it('filters by named / unnamed / a name pattern and keeps the newest N', async () => {
      sim.control.addRecording({ triggeredAt: '2024-03-01T08:00:00Z', eventName: 'door-1' });
      sim.control.addRecording({ triggeredAt: '2024-03-01T09:00:00Z', eventName: 'gate' });
      sim.control.addRecording({ triggeredAt: '2024-03-01T10:00:00Z', eventName: null });
      sim.control.addRecording({ triggeredAt: '2024-03-01T11:00:00Z', eventName: 'door-2' });
      await load(
        [eventsNode],
        testFlow(
          sim,
          { type: 'pfcam-events', nameFilter: 'named' },
          {
            nodes: [
              {
                id: 'n-unnamed',
                type: 'pfcam-events',
                camera: 'cam',
                nameFilter: 'unnamed',
                wires: [['out']],
              },
              {
                id: 'n-pattern',
                type: 'pfcam-events',
                camera: 'cam',
                nameFilter: 'name',
                namePattern: 'door-*',
                namePatternType: 'str',
                newest: '1',
                newestType: 'num',
                wires: [['out']],
              },
            ],
          },
        ),
      );
      await waitForState(cameraNodeOf(), 'online');
      const names = (m: Record<string, unknown>): (string | null)[] =>
        (m.payload as CameraRecording[]).map((r) => r.eventName);
      assert.deepEqual(names(await expectSent({})), ['door-2', 'gate', 'door-1']);
      const out = helper.getNode('out');
      const next = (): Promise<Record<string, unknown>> =>
        new Promise((resolve) => out.once('input', (m: Record<string, unknown>) => resolve(m)));
      let got = next();
      helper.getNode('n-unnamed').receive({});
      assert.deepEqual(names(await got), [null]);
      got = next();
      helper.getNode('n-pattern').receive({});
      assert.deepEqual(names(await got), ['door-2']);
    });

    it('reads the time range from the message (ISO text and epoch ms)', async () => {
      sim.control.addRecording({ triggeredAt: '2024-03-01T08:00:00Z' });
      sim.control.addRecording({ triggeredAt: '2024-03-01T09:00:00Z' });
      sim.control.addRecording({ triggeredAt: '2024-03-01T10:00:00Z' });
      await start({ from: 'payload.from', fromType: 'msg', to: 'payload.to', toType: 'msg' });
      const msg = await expectSent({
        payload: { from: '2024-03-01T08:30:00Z', to: Date.parse('2024-03-01T10:00:00Z') },
      });
      assert.deepEqual(
        (msg.payload as CameraRecording[]).map((r) => r.triggeredAtUtc),
        ['2024-03-01T09:00:00.000Z'],
      );
    });

    it('refuses a bad time or count with a message naming the property, without asking the camera', async () => {
      await start({
        from: 'payload.from',
        fromType: 'msg',
        to: 'payload.to',
        toType: 'msg',
        newest: 'payload.n',
        newestType: 'msg',
      });
      sim.control.clearRequests();
      const err = await expectError({ payload: { from: 'yesterday' } }, 'errors.badInput');
      assert.match(err.message, /msg\.payload\.from must be a date/);
      const err2 = await expectError({ payload: { n: -3 } }, 'errors.badInput');
      assert.match(err2.message, /msg\.payload\.n must be an integer from 0/);
      const err3 = await expectError(
        { payload: { from: '2024-03-02T00:00:00Z', to: '2024-03-01T00:00:00Z' } },
        'errors.badInput',
      );
      assert.match(err3.message, /The time range is empty/);
      assert.deepEqual(requestsTo(sim, 'GET', '/api/events'), []);
    }).timeout(10_000);

    it('refuses Feb 30 and month 13 in the time range (done(err), red status) instead of rolling them over', async () => {
      await start({ from: 'payload.from', fromType: 'msg' });
      sim.control.clearRequests();
      for (const from of ['2024-02-30T00:00:00Z', '2024-13-01']) {
        const err = await expectError({ payload: { from } }, 'errors.badInput');
        assert.match(err.message, /msg\.payload\.from names a date or time that does not exist/);
      }
      assert.deepEqual(requestsTo(sim, 'GET', '/api/events'), []);
    }).timeout(10_000);

    it('leaves out hostile recordings and lists the rest', async () => {
      sim.control.addRecording({ eventName: 'fine' });
      sim.control.setFaults({ hostileRecordings: true });
      for (let i = 0; i < 8; i++) sim.control.addRecording({});
      sim.control.clearFaults();
      await start({});
      const list = (await expectSent({})).payload as CameraRecording[];
      assert.ok(list.some((r) => r.eventName === 'fine'));
      for (const r of list) {
        assert.ok(
          !/[/\\]/.test(r.fileName) && !r.fileName.includes('\u0000'),
          `unsafe name: ${JSON.stringify(r.fileName)}`,
        );
        assert.match(r.vidExt, /^\.[A-Za-z0-9]+$/);
      }
      // the markup in an event name is only text: kept as a string, never interpreted
      assert.ok(list.some((r) => r.eventName === '<script>alert(1)</script>'));
      assert.ok(list.length < 9, 'the hostile names were left out');
    });

    it('fails with errors.badResponse on broken JSON and sends nothing', async () => {
      // a long probe interval: the camera stays "online" while its answers are broken
      await start({}, { probeInterval: 60 });
      sim.control.setFaults({ malformedJsonRate: 1 });
      await expectError({}, 'errors.badResponse');
      sim.control.clearFaults();
      await assertAlive();
    });
  });

  describe('active and stop', () => {
    it('lists the active events, stops one by name, and takes a second stop as already done', async () => {
      const finished = sim.control.trigger({ eventName: 'door', postEventUnlimited: true });
      await start({ operation: 'active' });
      const active = (await expectSent({})).payload as CameraRecording[];
      assert.deepEqual(
        active.map((e) => e.eventName),
        ['door'],
      );
      const stopped = await expectSent({ operation: 'stop', payload: active[0] });
      assert.deepEqual(stopped.payload, { eventName: 'door', stopped: true });
      await finished;
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/events/active/'), ['/api/events/active/door']);
      const again = await expectSent({ operation: 'stop', payload: 'door' });
      assert.deepEqual(again.payload, { eventName: 'door', stopped: true });
    });

    it('stops all active events', async () => {
      const a = sim.control.trigger({ eventName: 'a', postEventUnlimited: true });
      const b = sim.control.trigger({ eventName: 'b', postEventUnlimited: true });
      await start({ operation: 'stopAll' });
      assert.deepEqual((await expectSent({})).payload, { stoppedAll: true });
      await Promise.all([a, b]);
      assert.deepEqual((await expectSent({ operation: 'active' })).payload, []);
    });

    it('refuses an event name that would change the URL', async () => {
      await start({ operation: 'stop' });
      sim.control.clearRequests();
      await expectError({ payload: '../events' }, 'errors.badInput');
      await expectError({ payload: { eventName: 7 } }, 'errors.badInput');
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/'), []);
    });
  });

  describe('delete', () => {
    it('deletes a recording given as an object from list, then reports it as already gone', async () => {
      const rec = sim.control.addRecording({ eventName: 'x' });
      sim.control.addRecording({ eventName: 'y' });
      await start({ operation: 'delete' });
      const list = (await expectSent({ operation: 'list' })).payload as CameraRecording[];
      const target = list.find((r) => r.fileName === rec.fileName);
      assert.deepEqual((await expectSent({ payload: target })).payload, {
        fileName: rec.fileName,
        deleted: true,
      });
      assert.deepEqual(
        sim.control.recordings().map((r) => r.eventName),
        ['y'],
      );
      const again = await expectSent({ payload: rec.fileName });
      assert.deepEqual(again.payload, { fileName: rec.fileName, deleted: false });
      assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.alreadyGone' });
    });

    it('refuses a missing, non-text or path-like file name without sending a DELETE', async () => {
      sim.control.addRecording({});
      await start({ operation: 'delete' });
      sim.control.clearRequests();
      await expectError({}, 'errors.badInput');
      await expectError({ payload: 42 }, 'errors.badInput');
      const err = await expectError({ payload: '../../system/settings' }, 'errors.badInput');
      assert.match(err.message, /msg\.payload is not a recording's file name/);
      await expectError({ payload: { fileName: 'a\u0000b' } }, 'errors.badInput');
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/'), []);
      assert.equal(sim.control.recordings().length, 1);
    });
  });

  describe('delete all', () => {
    it('refuses without the editor confirmation and sends no DELETE', async () => {
      sim.control.addRecording({});
      await start({ operation: 'deleteAll', confirmDeleteAll: false });
      sim.control.clearRequests();
      await expectError({}, 'errors.confirmRequired');
      await expectError({ operation: 'deleteAll', confirm: true }, 'errors.confirmRequired');
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/events'), []);
      assert.equal(sim.control.recordings().length, 1);
    });

    it('needs msg.confirm === true when msg.operation asks for it, then deletes every recording', async () => {
      sim.control.addRecording({});
      sim.control.addRecording({});
      await start({ operation: 'list', confirmDeleteAll: true });
      sim.control.clearRequests();
      await expectError({ operation: 'deleteAll' }, 'errors.confirmRequired');
      await expectError({ operation: 'deleteAll', confirm: 'true' }, 'errors.confirmRequired');
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/events'), []);
      const msg = await expectSent({ operation: 'deleteAll', confirm: true });
      assert.deepEqual(msg.payload, { deletedAll: true });
      assert.deepEqual(sim.control.recordings(), []);
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/events'), ['/api/events']);
    });

    it('deletes all when the node itself is set to it with the confirmation ticked', async () => {
      sim.control.addRecording({});
      await start({ operation: 'deleteAll', confirmDeleteAll: true });
      assert.deepEqual((await expectSent({})).payload, { deletedAll: true });
      assert.deepEqual(sim.control.recordings(), []);
      assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: COMMON + 'status.deletedAll' });
    });
  });

  describe('failures', () => {
    it('refuses an unknown msg.operation', async () => {
      await start({});
      const err = await expectError({ operation: 'drop' }, 'errors.badInput');
      assert.match(err.message, /msg\.operation must be one of/);
    });

    it('fails at once with errors.cameraOffline when the camera is offline, and works again once back', async () => {
      await start({});
      sim.control.offline();
      await waitForState(cameraNodeOf(), 'offline');
      sim.control.clearRequests();
      const err = await expectError({}, 'errors.cameraOffline');
      assert.match(err.message, /Camera "Gate" is offline/);
      assert.deepEqual(requestsTo(sim, 'GET', '/api/events'), [], 'no request while known offline');
      sim.control.online();
      await waitForState(cameraNodeOf(), 'online');
      await expectSent({});
    });

    it('fails within the call budget with errors.cameraOffline when the camera drops between probes', async () => {
      await start({}, { probeInterval: 60 });
      sim.control.offline();
      const err = await expectError({}, 'errors.cameraOffline', 8000);
      assert.match(err.message, /could not list the recordings/);
      sim.control.online();
      await expectSent({});
    });

    it('fails with errors.cameraRestarting while the camera restarts, and sends nothing to it', async () => {
      await start({ operation: 'stopAll' });
      const camera = cameraNodeOf();
      camera.health.expectRestart(10_000);
      const back = sim.control.restart();
      sim.control.clearRequests();
      await expectError({}, 'errors.cameraRestarting');
      assert.deepEqual(requestsTo(sim, 'DELETE', '/api/'), []);
      await back;
      await waitForState(camera, 'online', 10_000);
      await expectSent({});
    });

    it('reports a missing camera on the status and on each message', async () => {
      await load([eventsNode], onTab([{ id: 'n', type: 'pfcam-events', camera: '', wires: [['out']] }]));
      await expectError({}, 'errors.noCamera');
    });
  });
});
