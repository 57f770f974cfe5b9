import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { CameraHealth, type HealthChange } from '../../lib/camera/camera-health';
import type { SystemInfo } from '../../lib/camera/types';

function info(uptime: number): SystemInfo {
  return {
    brand: 'PFCAM',
    name: 'Gate',
    serialNumber: 'PFC4-0001',
    customSerialNumber: '',
    hardwareVersion: '4',
    softwareVersion: '2.1.0',
    firmwareLink: '',
    settingsLink: '',
    hasVcm: false,
    heaterTemperature: 20,
    ipAddress: '10.0.0.5',
    macAddress: '00:00:00:00:00:01',
    systemTime: new Date().toISOString(),
    timezone: 'UTC',
    uptime,
    service_uptime: uptime,
  };
}

/** A probe whose next answers the test scripts: an uptime, or an error. */
class ScriptedProbe {
  readonly answers: (number | Error)[] = [];
  calls = 0;
  readonly probe = (): Promise<SystemInfo> => {
    this.calls++;
    const next = this.answers.length > 1 ? this.answers.shift() : this.answers[0];
    if (next === undefined) return Promise.reject(new Error('no answer scripted'));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(info(next));
  };
}

function nextChange(health: CameraHealth): Promise<HealthChange> {
  return once(health, 'change').then(([change]) => change as HealthChange);
}

describe('CameraHealth', () => {
  let health: CameraHealth | undefined;
  afterEach(() => health?.stop());

  it('goes online on the first answer and keeps the serial number and firmware', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(100);
    health = new CameraHealth(probe.probe, { intervalMs: 50 });
    const change = nextChange(health);
    health.start();
    const { state, previous, snapshot } = await change;
    assert.equal(state, 'online');
    assert.equal(previous, 'unknown');
    assert.equal(snapshot.serialNumber, 'PFC4-0001');
    assert.equal(snapshot.softwareVersion, '2.1.0');
  });

  it('goes offline after a failed probe, then online again, telling the previous state', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(100, new Error('ECONNREFUSED'), 101);
    health = new CameraHealth(probe.probe, { intervalMs: 20 });
    const states: string[] = [];
    health.on('change', (c) => states.push(`${c.previous}->${c.state}`));
    health.start();
    await health.waitFor('online', 2000);
    await health.waitFor('offline', 2000);
    await health.waitFor('online', 2000);
    assert.deepEqual(states, ['unknown->online', 'online->offline', 'offline->online']);
  });

  it('reports a reboot when the uptime goes down, even without an offline gap', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(500, 3);
    health = new CameraHealth(probe.probe, { intervalMs: 20 });
    health.start();
    await health.waitFor('online', 2000);
    const change = await nextChange(health);
    assert.equal(change.rebooted, true);
    assert.equal(change.state, 'online');
    assert.equal(change.snapshot.uptime, 3);
  });

  it('shows an announced restart as restarting, not offline, and waits for the camera to really go and return', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(500);
    health = new CameraHealth(probe.probe, { intervalMs: 20, restartSettleMs: 60_000 });
    health.start();
    await health.waitFor('online', 2000);
    const states: string[] = [];
    health.on('change', (c) => states.push(c.state));
    health.expectRestart(60_000);
    // Still answering with the old uptime: not back yet.
    await health.probeNow();
    assert.equal(health.state, 'restarting');
    probe.answers.splice(0, probe.answers.length, new Error('ECONNREFUSED'), new Error('ECONNREFUSED'), 1);
    const back = await health.waitFor('online', 2000);
    assert.equal(back.uptime, 1);
    assert.deepEqual(states, ['restarting', 'online']);
  });

  it('goes back to the earlier state when an announced restart is withdrawn', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(500);
    health = new CameraHealth(probe.probe, { intervalMs: 20 });
    health.start();
    await health.waitFor('online', 2000);
    health.expectRestart(60_000);
    assert.equal(health.state, 'restarting');
    health.cancelRestart();
    assert.equal(health.state, 'online');
    await health.probeNow();
    assert.equal(health.state, 'online');
  });

  it('counts an announced restart that takes too long as offline', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(500);
    health = new CameraHealth(probe.probe, { intervalMs: 20 });
    health.start();
    await health.waitFor('online', 2000);
    probe.answers.splice(0, probe.answers.length, new Error('ECONNREFUSED'));
    health.expectRestart(100);
    await health.waitFor('offline', 3000);
  });

  it('rejects waitFor after its timeout', async () => {
    const probe = new ScriptedProbe();
    probe.answers.push(new Error('ECONNREFUSED'));
    health = new CameraHealth(probe.probe, { intervalMs: 20 });
    health.start();
    await assert.rejects(health.waitFor('online', 100), /was not online within/);
  });

  it('spreads the first regular probe of cameras started together over the second half of the interval', async () => {
    // The camera started second draws the earlier point of the spread and probes again first; with one fixed
    // interval for every camera, they would probe in their start order, together, for as long as they run.
    const order: string[] = [];
    const healths: CameraHealth[] = [];
    try {
      for (const [name, random] of [
        ['late', () => 0.99],
        ['early', () => 0],
      ] as const) {
        const probe = new ScriptedProbe();
        probe.answers.push(100);
        const h = new CameraHealth(
          () => {
            if (probe.calls === 1) order.push(name);
            return probe.probe();
          },
          { intervalMs: 600, random },
        );
        healths.push(h);
        h.start();
      }
      const deadline = Date.now() + 5000;
      while (order.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(order, ['early', 'late']);
    } finally {
      for (const h of healths) h.stop();
    }
  });
});
