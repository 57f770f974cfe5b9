import { strict as assert } from 'node:assert';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import type { CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import systemNode from '../../nodes/pfcam-system/pfcam-system';
import type {
  ClockDriftReport,
  ClockFixPayload,
  PfcamSystemMessage,
  RebootPayload,
} from '../../lib/camera/messages-settings';
import type { DateTimeInfo, FirmwareInfo, StorageInfo } from '../../lib/camera/types';
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

const run = (id: string, msg: Record<string, unknown>) => runNode<PfcamSystemMessage>(id, msg);

const system = (id: string, props: Record<string, unknown> = {}): FlowNode[] =>
  nodeWithOutput('pfcam-system', id, props);

describe('pfcam-system node', function () {
  this.timeout(30_000);
  let sim: SimulatedCamera;

  async function start(flow: FlowNode[], options: SimulatedCameraOptions = {}): Promise<CameraConfigNode> {
    sim = await startCamera({ seed: 5, restartMs: 400, ...options });
    return loadOnCamera(sim, [cameraNode, systemNode], flow, 'Yard');
  }

  afterEach(async () => {
    await helper.unload();
    await sim?.stop();
  });

  it('info: outputs the system info with the camera reference', async () => {
    await start(system('s'));
    const msg = await run('s', { topic: 'keep' });
    assert.equal(msg.operation, 'info');
    assert.equal(msg.topic, 'keep');
    const info = msg.payload as { serialNumber: string; uptime: number };
    assert.equal(info.serialNumber, sim.serialNumber);
    assert.equal(typeof info.uptime, 'number');
    assert.deepEqual(msg.camera, { serialNumber: sim.serialNumber, name: 'Yard', url: sim.url });
    assert.equal(lastStatus(helper.getNode('s'))?.text, `${KEY}status.done`);
  });

  it('storage, firmware, datetime, timezones: output the camera resources', async () => {
    await start(system('s'));
    const storage = (await run('s', { operation: 'storage' })).payload as StorageInfo;
    assert.deepEqual(Object.keys(storage).sort(), ['freeBytes', 'recordings', 'totalBytes', 'usedBytes']);
    const firmware = (await run('s', { operation: 'firmware' })).payload as FirmwareInfo;
    assert.equal(typeof firmware.version, 'string');
    const datetime = (await run('s', { operation: 'datetime' })).payload as DateTimeInfo;
    assert.equal(datetime.timezone, 'Europe/Zurich');
    assert.equal(datetime.ntpServer, sim.control.settings().network_ntp);
    const zones = (await run('s', { operation: 'timezones' })).payload as string[];
    assert.ok(Array.isArray(zones) && zones.includes('Europe/Zurich'));
    assert.deepEqual(writes(sim), []);
  });

  it('a camera without the [A] resources reports { supported: false } with a grey status, not an error', async () => {
    await start(system('s'), { unsupported: ['storage', 'firmware', 'datetime', 'timezones'] });
    for (const [operation, feature] of [
      ['storage', 'storage'],
      ['firmware', 'firmware'],
      ['datetime', 'datetime'],
      ['timezones', 'timezones'],
    ]) {
      const msg = await run('s', { operation });
      assert.deepEqual(msg.payload, { supported: false, feature });
      assert.equal(lastStatus(helper.getNode('s'))?.fill, 'grey');
      assert.equal(lastStatus(helper.getNode('s'))?.text, `${KEY}status.unsupported`);
    }
    // The drift check falls back to the system info.
    const drift = (await run('s', { operation: 'clockDrift' })).payload as ClockDriftReport;
    assert.equal(drift.source, 'system');
    assert.equal(drift.ok, true);
  });

  it('reboot: refused (nothing sent) unless the node allows restarts', async () => {
    await start(system('s', { operation: 'reboot' }));
    await runFails('s', {}, 'errors.restartNotAllowed');
    await runFails(
      's',
      { operation: 'fixClock', payload: { ntpServer: 'pool.ntp.org' } },
      'errors.restartNotAllowed',
    );
    assert.deepEqual(writes(sim), []);
  });

  it('reboot: waits for the camera to come back and reports the new uptime', async () => {
    await start(system('s', { operation: 'reboot', allowRestart: true }));
    const restarts: number[] = [];
    sim.control.on('restart', () => restarts.push(Date.now()));
    const msg = await run('s', {});
    const payload = msg.payload as RebootPayload;
    assert.equal(typeof payload.tookMs, 'number');
    assert.ok(payload.tookMs >= 300, `took ${payload.tookMs} ms for a 400 ms restart`);
    assert.equal(typeof payload.uptime, 'number');
    assert.ok((payload.uptime ?? 99) <= 1);
    assert.equal(typeof payload.previousUptime, 'number');
    assert.deepEqual(writes(sim), ['POST /api/system/reboot']);
    assert.equal(restarts.length, 1);
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'green');
  });

  it('reboot: a camera that does not come back in time gives errors.restartTimeout', async () => {
    await start(system('s', { operation: 'reboot', allowRestart: true, restartTimeout: 1 }));
    sim.control.on('request', (r) => {
      if (r.method === 'POST') setImmediate(() => sim.control.offline());
    });
    const err = await runFails('s', {}, 'errors.restartTimeout');
    assert.match(err.message, /after the reboot/);
  });

  it('clockDrift: reports the camera clock against Node-RED, ok within the threshold', async () => {
    await start(system('s', { operation: 'clockDrift', threshold: 5 }));
    const msg = await run('s', {});
    const drift = msg.payload as ClockDriftReport;
    assert.ok(Math.abs(drift.driftSeconds) <= 1.5, `drift ${drift.driftSeconds}`);
    assert.equal(drift.ok, true);
    assert.equal(drift.thresholdSeconds, 5);
    assert.equal(drift.source, 'datetime');
    assert.equal(drift.timezone, 'Europe/Zurich');
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'green');
  });

  it('clockDrift: a camera 2 minutes ahead is reported as drifting (yellow), not as an error', async () => {
    await start(system('s', { operation: 'clockDrift', threshold: 5 }));
    sim.control.setFaults({ clockSkewSeconds: 120 });
    const drift = (await run('s', {})).payload as ClockDriftReport;
    assert.ok(Math.abs(drift.driftSeconds - 120) <= 1.5, `drift ${drift.driftSeconds}`);
    assert.equal(drift.ok, false);
    assert.equal(drift.ntpSynced, false);
    const status = lastStatus(helper.getNode('s'));
    assert.equal(status?.fill, 'yellow');
    assert.equal(status?.text, `${KEY}status.clockDrifting`);
  });

  it('fixClock: points NTP at msg.payload.ntpServer through a verified settings write, then measures again', async () => {
    await start(system('s', { operation: 'fixClock', allowRestart: true, ntpServer: 'unused.example' }));
    sim.control.setFaults({ clockSkewSeconds: -30 });
    const msg = await run('s', { payload: { ntpServer: 'ntp.plant.local' } });
    const payload = msg.payload as ClockFixPayload;
    assert.equal(payload.ntpServer, 'ntp.plant.local');
    assert.deepEqual(payload.changed, ['network_ntp']);
    assert.equal(payload.verified, true);
    assert.equal(typeof payload.restart?.tookMs, 'number');
    assert.equal(payload.drift.ntpServer, 'ntp.plant.local');
    assert.ok(Math.abs(payload.drift.driftSeconds + 30) <= 1.5);
    assert.equal(sim.control.settings().network_ntp, 'ntp.plant.local');
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
  });

  it("fixClock: uses the node's NTP server when the message has none; unchanged server sends nothing", async () => {
    await start(system('s', { operation: 'fixClock', allowRestart: true, ntpServer: '10.0.0.1' }));
    const first = (await run('s', { payload: 'go' })).payload as ClockFixPayload;
    assert.deepEqual(first.changed, ['network_ntp']);
    assert.equal(sim.control.settings().network_ntp, '10.0.0.1');
    const again = (await run('s', {})).payload as ClockFixPayload;
    assert.deepEqual(again.changed, []);
    assert.equal(again.restart, null);
    assert.deepEqual(writes(sim), ['PUT /api/system/settings']);
  });

  it('fixClock: a bad or missing NTP server is refused, nothing sent', async () => {
    await start(system('s', { operation: 'fixClock', allowRestart: true }));
    for (const ntpServer of ['not a host', '', 42, 'http://ntp']) {
      const err = await runFails('s', { payload: { ntpServer } }, 'errors.ntpServer');
      assert.match(err.message, /msg\.payload\.ntpServer/);
    }
    await runFails('s', {}, 'errors.ntpServer');
    assert.deepEqual(writes(sim), []);
  });

  it('an unknown msg.operation is refused', async () => {
    await start(system('s'));
    await runFails('s', { operation: 'shutdown' }, 'errors.badOperation');
    await runFails('s', { operation: ['info'] }, 'errors.badOperation');
  });

  it('camera offline: a clear error and a red status; Node-RED carries on', async () => {
    const camera = await start(system('s'));
    sim.control.offline();
    await waitForState(camera, 'offline');
    try {
      await run('s', {});
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof PfcamError, String(err));
      assert.ok(['errors.cameraOffline', 'errors.cameraTimeout'].includes(err.key), err.key);
    }
    assert.equal(lastStatus(helper.getNode('s'))?.fill, 'red');
    await runFails('s', { operation: 'reboot' }, 'errors.restartNotAllowed');
    sim.control.online();
    await waitForState(camera, 'online');
    assert.equal(((await run('s', {})).payload as { serialNumber: string }).serialNumber, sim.serialNumber);
  });

  it('camera offline: a reboot fails fast with errors.cameraOffline and sends nothing', async () => {
    const camera = await start(system('s', { operation: 'reboot', allowRestart: true }));
    sim.control.offline();
    await waitForState(camera, 'offline');
    await runFails('s', {}, 'errors.cameraOffline');
    assert.deepEqual(writes(sim), []);
  });

  it('hostile camera (broken JSON): errors.badResponse for info and for the drift check', async () => {
    await start(system('s'));
    sim.control.setFaults({ malformedJsonRate: 1 });
    await runFails('s', {}, 'errors.badResponse');
    await runFails('s', { operation: 'clockDrift' }, 'errors.badResponse');
  });
});
