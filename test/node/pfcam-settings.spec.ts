import { strict as assert } from 'node:assert';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import type { CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import settingsNode from '../../nodes/pfcam-settings/pfcam-settings';
import type { PfcamSettingsMessage } from '../../lib/camera/messages-settings';
import { PfcamError } from '../../lib/errors';
import { startCamera, type SimulatedCamera, type SimulatedCameraOptions } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';
import {
  COMMON_KEY as KEY,
  lastStatus,
  loadOnCamera,
  nodeWithOutput,
  run as runNode,
  runFails,
  waitForState,
  writes,
} from '../helpers/node-outcome';

const run = (id: string, msg: Record<string, unknown>) => runNode<PfcamSettingsMessage>(id, msg);

const settings = (id: string, props: Record<string, unknown> = {}): FlowNode[] =>
  nodeWithOutput('pfcam-settings', id, props);

describe('pfcam-settings node', function () {
  this.timeout(30_000);
  let sim: SimulatedCamera;

  async function start(flow: FlowNode[], options: SimulatedCameraOptions = {}): Promise<CameraConfigNode> {
    sim = await startCamera({ seed: 11, restartMs: 400, ...options });
    return loadOnCamera(sim, [cameraNode, settingsNode], flow, 'Gate');
  }

  afterEach(async () => {
    await helper.unload();
    await sim?.stop();
  });

  it('get: outputs the settings without any secret, with the camera reference', async () => {
    await start(settings('s'));
    const secret = sim.control.settings().access_password_hash_admin;
    assert.ok(secret.length > 0);
    const msg = await run('s', { payload: 'tick', keep: 'mine' });
    assert.equal(msg.operation, 'get');
    assert.equal(msg.keep, 'mine', 'user properties are kept');
    assert.equal((msg.payload as { name: string }).name, sim.control.settings().name);
    assert.deepEqual(msg.camera, { serialNumber: sim.serialNumber, name: 'Gate', url: sim.url });
    const text = JSON.stringify(msg);
    assert.ok(!text.includes(secret));
    assert.doesNotMatch(text, /access_password_hash|network_ftp_password/);
    assert.equal(lastStatus(helper.getNode('s'))?.text, `${KEY}status.done`);
  });

  it('set: sends only the changed keys once, waits for the restart and verifies by reading back', async () => {
    await start(settings('s', { operation: 'set' }));
    const before = sim.control.settings();
    const restarts: number[] = [];
    sim.control.on('restart', () => restarts.push(Date.now()));
    const fps = before.rtsp_fps === 12 ? 13 : 12;
    const msg = await run('s', {
      payload: { name: before.name, rtsp_fps: fps, overlay_user: !before.overlay_user },
    });
    assert.equal(msg.operation, 'set');
    assert.deepEqual(msg.changed, ['rtsp_fps', 'overlay_user']);
    assert.equal(msg.verified, true);
    assert.deepEqual(msg.mismatches, []);
    assert.equal(typeof msg.restart?.tookMs, 'number');
    assert.equal(typeof msg.restart?.uptime, 'number');
    assert.equal(sim.control.settings().rtsp_fps, fps);
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
    assert.equal(restarts.length, 1);
    assert.equal((msg.payload as { rtsp_fps: number }).rtsp_fps, fps);
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'green');
  });

  it('set: takes a fixed JSON of changes from the editor', async () => {
    await start(settings('s', { operation: 'set', changes: '{"heater_level": 2}', changesType: 'json' }));
    const msg = await run('s', { payload: 1234 });
    assert.deepEqual(msg.changed, ['heater_level']);
    assert.equal(sim.control.settings().heater_level, 2);
  });

  it('set: sends nothing and does not restart when nothing differs', async () => {
    await start(settings('s', { operation: 'set' }));
    const msg = await run('s', { payload: { rtsp_fps: sim.control.settings().rtsp_fps } });
    assert.deepEqual(msg.changed, []);
    assert.equal(msg.restart, null);
    assert.deepEqual(writes(sim), []);
    assert.equal(lastStatus(helper.getNode('s'))?.text, `${KEY}status.unchanged`);
  });

  it('set: lists every bad field in one error, sends nothing, and keeps working afterwards', async () => {
    await start(settings('s', { operation: 'set' }));
    const err = await runFails(
      's',
      {
        payload: {
          network_mask: 33,
          rtsp_fps: '25',
          picture_rotation: 45,
          time_zone: 'Mars/Olympus',
          network_ip: '10.0.0',
          name: 'ok',
        },
      },
      'errors.invalidSettings',
    );
    for (const key of ['network_mask', 'rtsp_fps', 'picture_rotation', 'time_zone', 'network_ip']) {
      assert.match(err.message, new RegExp(key));
    }
    assert.equal(err.params.count, 5);
    assert.deepEqual(writes(sim), []);
    // Node-RED and the node are still alive: a good write goes through.
    const msg = await run('s', { payload: { rtsp_fps: 20 } });
    assert.deepEqual(msg.changed, ['rtsp_fps']);
  });

  it('set: refuses a payload that is not an object, unknown keys and secrets, sending nothing', async () => {
    await start(settings('s', { operation: 'set' }));
    for (const payload of ['rtsp_fps=25', 42, null, [{ rtsp_fps: 25 }], {}]) {
      await runFails('s', { payload }, 'errors.invalidSettings');
    }
    const typo = await runFails('s', { payload: { rtsp_fsp: 25 } }, 'errors.invalidSettings');
    assert.match(typo.message, /did you mean "rtsp_fps"/);
    const secret = await runFails(
      's',
      { payload: { access_password_hash_admin: 'x-new-hash-x' } },
      'errors.invalidSettings',
    );
    assert.doesNotMatch(secret.message, /x-new-hash-x/);
    assert.deepEqual(writes(sim), []);
  });

  it('set: accepts unknown keys only when the node allows them (the camera then judges them)', async () => {
    await start(settings('s', { operation: 'set', allowUnknown: true }));
    const err = await runFails('s', { payload: { future_setting: 1 } }, 'errors.settingsRejected');
    assert.match(err.message, /unknown setting: future_setting/);
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
  });

  it('setSecret: writes the secret from msg.secret, never outputs it, and removes msg.secret', async () => {
    await start(settings('s', { operation: 'setSecret', secretKey: 'network_ftp_password' }));
    const msg = await run('s', { secret: 'Ftp-Pa55-word', payload: 'ignored' });
    assert.equal(sim.control.settings().network_ftp_password, 'Ftp-Pa55-word');
    assert.deepEqual(msg.changed, ['network_ftp_password']);
    assert.ok(!('secret' in msg));
    assert.doesNotMatch(JSON.stringify(msg), /Ftp-Pa55-word/);

    const viaMsgKey = await run('s', { secret: 'abc-hash', secretKey: 'access_password_hash_viewer' });
    assert.deepEqual(viaMsgKey.changed, ['access_password_hash_viewer']);
    assert.equal(sim.control.settings().access_password_hash_viewer, 'abc-hash');
  });

  it('setSecret: refuses a missing secret or a key that is not a secret, and keeps the secret off the error message', async () => {
    await start(settings('s', { operation: 'setSecret' }));
    await runFails('s', {}, 'errors.noSecret');
    await runFails('s', { secret: 42 }, 'errors.noSecret');
    await runFails('s', { secret: 'x', secretKey: 'name' }, 'errors.badSecret');
    const node = helper.getNode('s');
    const caught = new Promise<Record<string, unknown>>((resolve) => {
      node.once('call:error', (call: { args: unknown[] }) =>
        resolve(call.args[1] as Record<string, unknown>),
      );
    });
    node.receive({ secret: 'bad\nsecret' });
    const failedMsg = await caught;
    assert.ok(!('secret' in failedMsg), 'the message handed to Catch nodes has no secret');
    assert.deepEqual(writes(sim), []);
  });

  it('reset: refused unless the node allows it AND msg.confirm is true', async () => {
    await start([
      ...settings('locked', { operation: 'reset' }),
      ...settings('open', { operation: 'reset', confirmReset: true }),
    ]);
    await runFails('locked', { confirm: true }, 'errors.resetNotConfirmed');
    await runFails('open', {}, 'errors.resetNotConfirmed');
    await runFails('open', { confirm: 'true' }, 'errors.resetNotConfirmed');
    assert.deepEqual(writes(sim), []);
  });

  it('reset: resets to factory settings, waits for the restart, outputs them without secrets', async () => {
    await start(settings('s', { operation: 'reset', confirmReset: true }));
    sim.control.clearRequests();
    const msg = await run('s', { confirm: true });
    assert.equal(msg.operation, 'reset');
    assert.deepEqual(writes(sim), ['DELETE /api/system/settings']);
    assert.equal(typeof (msg as { restart: { tookMs: number } }).restart.tookMs, 'number');
    assert.doesNotMatch(JSON.stringify(msg), /password/);
  });

  it('msg.operation overrides the node operation; an unknown one is refused', async () => {
    await start(settings('s', { operation: 'set' }));
    const msg = await run('s', { operation: 'get', payload: { rtsp_fps: 1 } });
    assert.equal(msg.operation, 'get');
    await runFails('s', { operation: 'format' }, 'errors.badOperation');
    assert.deepEqual(writes(sim), []);
  });

  it('exposure, focus, overlay: get and set live, without a restart', async () => {
    await start(settings('s'));
    const restarts: number[] = [];
    sim.control.on('restart', () => restarts.push(Date.now()));
    const exposure = await run('s', { operation: 'setExposure', payload: { iso: 800, manual: true } });
    assert.deepEqual(exposure.payload, {
      iso: 800,
      shutter: sim.control.settings().exposure_shutter,
      manual: true,
    });
    assert.equal(exposure.verified, true);
    const focus = await run('s', { operation: 'setFocus', payload: { setpoint: 420 } });
    assert.deepEqual(focus.payload, { setpoint: 420 });
    const overlay = await run('s', { operation: 'setOverlay', payload: { user: true } });
    assert.equal((overlay.payload as { user: boolean }).user, true);
    assert.deepEqual((await run('s', { operation: 'getExposure' })).payload, exposure.payload);
    assert.deepEqual((await run('s', { operation: 'getFocus' })).payload, { setpoint: 420 });
    assert.equal(((await run('s', { operation: 'getOverlay' })).payload as { user: boolean }).user, true);
    assert.equal(sim.control.settings().exposure_iso, 800);
    assert.deepEqual(restarts, []);
    assert.deepEqual(writes(sim), [
      'PUT /api/system/exposure',
      'PUT /api/system/focus',
      'PUT /api/system/overlay',
    ]);
  });

  it('live values are validated too: every bad field, nothing sent', async () => {
    await start(settings('s', { operation: 'setExposure' }));
    const err = await runFails('s', { payload: { iso: 10, shutter: 0, gain: 1 } }, 'errors.invalidSettings');
    assert.match(err.message, /iso.*shutter.*gain/);
    assert.deepEqual(writes(sim), []);
  });

  it('a camera without the exposure resource gives { supported: false } and a grey status, not an error', async () => {
    await start(settings('s', { operation: 'getExposure' }), { unsupported: ['exposure'] });
    const msg = await run('s', {});
    assert.deepEqual(msg.payload, { supported: false, feature: 'exposure' });
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'grey');
    const set = await run('s', { operation: 'setExposure', payload: { iso: 100 } });
    assert.deepEqual(set.payload, { supported: false, feature: 'exposure' });
    assert.deepEqual(writes(sim), []);
  });

  it('camera offline: a write fails with errors.cameraOffline and sends nothing', async () => {
    const camera = await start(settings('s', { operation: 'set' }));
    sim.control.offline();
    await waitForState(camera, 'offline');
    await runFails('s', { payload: { rtsp_fps: 12 } }, 'errors.cameraOffline');
    assert.deepEqual(writes(sim), []);
  });

  it('camera not back within the restart timeout: errors.restartTimeout', async () => {
    await start(settings('s', { operation: 'set', restartTimeout: 1.5 }));
    sim.control.on('request', (r) => {
      if (r.method === 'PUT') setImmediate(() => sim.control.offline());
    });
    const err = await runFails('s', { payload: { rtsp_fps: 12 } }, 'errors.restartTimeout');
    assert.match(err.message, /did not come back within 2 s/);
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
  });

  it('camera restarting in the middle of a write (the write is lost): errors.notVerified naming the key, red status', async () => {
    await start(settings('s', { operation: 'set' }));
    // Every answer takes 150 ms; the camera restarts as the PUT arrives, before it has handled it.
    sim.control.setFaults({ latencyMs: 150 });
    sim.control.on('request', (r) => {
      if (r.method === 'PUT') void sim.control.restart(300);
    });
    const before = sim.control.settings().rtsp_fps;
    const err = await runFails('s', { payload: { rtsp_fps: before === 10 ? 11 : 10 } }, 'errors.notVerified');
    assert.match(err.message, /rtsp_fps \(sent 1[01], camera has \d+\)/);
    assert.equal(sim.control.settings().rtsp_fps, before);
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
  });

  it('camera restarting on its own: a write meanwhile fails clearly and sends nothing; once back it goes through', async () => {
    const camera = await start(settings('s', { operation: 'set' }));
    const back = sim.control.restart(1500);
    await waitForState(camera, 'offline');
    await runFails('s', { payload: { rtsp_fps: 7 } }, 'errors.cameraOffline');
    assert.deepEqual(writes(sim), []);
    await back;
    await waitForState(camera, 'online');
    const msg = await run('s', { payload: { rtsp_fps: 7 } });
    assert.equal(msg.verified, true);
    assert.equal(sim.control.settings().rtsp_fps, 7);
  });

  it('hostile camera (broken JSON): a clear error, nothing sent', async () => {
    await start(settings('s', { operation: 'set' }));
    sim.control.setFaults({ malformedJsonRate: 1 });
    try {
      await run('s', { payload: { rtsp_fps: 9 } });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof PfcamError, String(err));
      assert.ok(['errors.badResponse', 'errors.cameraOffline'].includes(err.key), err.key);
    }
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'red');
    assert.deepEqual(writes(sim), []);
    sim.control.clearFaults();
  });

  it('hostile camera: a get of broken JSON is errors.badResponse', async () => {
    await start(settings('s'));
    sim.control.setFaults({ malformedJsonRate: 1 });
    await runFails('s', {}, 'errors.badResponse');
  });

  it('two writes to one camera from two nodes never overlap: the second PUT comes after the first restart', async () => {
    await start([...settings('a', { operation: 'set' }), ...settings('b', { operation: 'set' })]);
    const timeline: string[] = [];
    sim.control.on('request', (r) => {
      if (r.method === 'PUT') timeline.push('PUT');
    });
    sim.control.on('restart', () => timeline.push('restart'));
    sim.control.on('online', () => timeline.push('online'));
    const [a, b] = await Promise.all([
      run('a', { payload: { rtsp_fps: 21 } }),
      run('b', { payload: { heater_level: 3 } }),
    ]);
    assert.ok(a.verified && b.verified);
    assert.deepEqual(timeline, ['PUT', 'restart', 'online', 'PUT', 'restart', 'online']);
    assert.equal(sim.control.settings().rtsp_fps, 21);
    assert.equal(sim.control.settings().heater_level, 3);
  });

  it('without a camera configured: errors.noCamera, red status', async () => {
    sim = await startCamera({ seed: 3 });
    await helper.load(
      [cameraNode, settingsNode],
      [
        { id: 's', type: 'pfcam-settings', camera: '', wires: [['s-out']] },
        { id: 's-out', type: 'helper' },
      ],
    );
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'red');
    await runFails('s', {}, 'errors.noCamera');
  });
});
