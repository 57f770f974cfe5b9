import { strict as assert } from 'node:assert';
import { setTimeout as delay } from 'node:timers/promises';
import type { Node } from 'node-red';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import { isCameraConfigNode, type CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import type { CameraState, HealthChange } from '../../lib/camera/camera-health';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import { cameras } from '../../lib/cameras/camera-registry';

/** A user node for the test: registers with the camera like every pfcam node does. */
function probeUserNode(RED: import('node-red').NodeAPI): void {
  function TestUser(
    this: Node & { changes: HealthChange[] },
    def: { camera: string } & import('node-red').NodeDef,
  ) {
    RED.nodes.createNode(this, def);
    const camera = RED.nodes.getNode(def.camera);
    this.changes = [];
    if (isCameraConfigNode(camera)) {
      const unregister = camera.register(this, (change) => this.changes.push(change));
      this.on('close', () => unregister());
    }
  }
  RED.nodes.registerType('test-camera-user', TestUser);
}

function waitForState(
  camera: CameraConfigNode,
  state: CameraState,
  timeoutMs: number,
): Promise<HealthChange> {
  return new Promise((resolve, reject) => {
    if (camera.health.state === state) {
      resolve({ state, previous: state, rebooted: false, at: '', snapshot: camera.health.snapshot });
      return;
    }
    const timer = setTimeout(() => reject(new Error(`not ${state} within ${timeoutMs} ms`)), timeoutMs);
    const listener = (change: HealthChange): void => {
      if (change.state !== state) return;
      clearTimeout(timer);
      camera.health.off('change', listener);
      resolve(change);
    };
    camera.health.on('change', listener);
  });
}

describe('pfcam-camera config node', function () {
  let sim: SimulatedCamera;

  beforeEach(async () => {
    sim = await startCamera({ seed: 7, restartMs: 400 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
  });

  function flow(probeInterval: number, url = sim.url) {
    return [
      { id: 'cam', type: 'pfcam-camera', name: 'Gate', url: `${url}/api`, probeInterval, timeout: 5 },
      { id: 'user', type: 'test-camera-user', camera: 'cam', wires: [] },
    ];
  }

  it('probes the camera, learns its serial number and shows online on its users', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0.2));
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    const user = helper.getNode('user');
    const online = await waitForState(camera, 'online', 5000);
    assert.equal(online.snapshot.serialNumber, sim.serialNumber);
    assert.equal(camera.serialNumber, sim.serialNumber);
    assert.equal(camera.displayName, 'Gate');
    const statusCalls = (user.status as unknown as { args: { fill?: string; text?: string }[][] }).args;
    assert.deepEqual(statusCalls.at(-1)?.[0], {
      fill: 'green',
      shape: 'dot',
      text: '@pfcam/node-red-pfcam/pfcam-camera:common.status.online',
    });
  });

  it('registers the camera in the process registry, findable by serial, and removes it on close', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0.2));
    const found = await cameras.bySerial(sim.serialNumber, { waitMs: 5000 });
    assert.equal(found?.id, 'cam');
    assert.equal(cameras.byId('cam')?.displayName, 'Gate');
    await helper.unload();
    assert.equal(cameras.byId('cam'), undefined);
    assert.equal(await cameras.bySerial(sim.serialNumber, { waitMs: 100 }), undefined);
  });

  it('does not register a camera whose configuration is invalid', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0, 'not a url'));
    assert.equal(cameras.byId('cam'), undefined);
  });

  it('goes online -> restarting -> online around a settings write, and tells of the reboot', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0.2));
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    await waitForState(camera, 'online', 5000);
    // Uptime is counted in whole seconds: let it pass 1 so that its return to 0 is visible.
    const deadline = Date.now() + 5000;
    while ((await camera.health.probeNow()).uptime === 0 && Date.now() < deadline) await delay(100);
    const user = helper.getNode('user') as unknown as { changes: HealthChange[] };
    await camera.exclusive(async () => {
      camera.health.expectRestart(10_000);
      await camera.client.putSettings({ overlay_name: true });
      await camera.health.waitFor('online', 10_000);
    });
    const states = user.changes.map((c) => c.state);
    assert.deepEqual(states, ['online', 'restarting', 'online']);
    assert.equal(user.changes.at(-1)?.rebooted, true);
  });

  it('detects a camera that went offline within two probe intervals', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0.5));
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    await waitForState(camera, 'online', 5000);
    const wentOffline = Date.now();
    sim.control.offline();
    await waitForState(camera, 'offline', 5000);
    // Offline detection is a behaviour, measured against the configured interval, not a benchmark.
    assert.ok(Date.now() - wentOffline <= 2 * 500 + 1000, `offline after ${Date.now() - wentOffline} ms`);
    sim.control.online();
    await waitForState(camera, 'online', 5000);
  });

  it('reports an invalid URL on the node and on its users, without crashing', async () => {
    await helper.load([cameraNode, probeUserNode], flow(1, 'not a url'));
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    const user = helper.getNode('user');
    assert.throws(() => camera.client, { key: 'errors.urlInvalid' });
    const statusCalls = (user.status as unknown as { args: { fill?: string; text?: string }[][] }).args;
    assert.equal(statusCalls.at(-1)?.[0]?.fill, 'red');
  });

  it('keeps the password out of the flow and sends it to the camera', async () => {
    await sim.stop();
    sim = await startCamera({ seed: 7, auth: { scheme: 'basic', username: 'admin', password: 's3cret' } });
    await helper.load([cameraNode, probeUserNode], flow(0.2), {
      cam: { username: 'admin', password: 's3cret' },
    });
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    await waitForState(camera, 'online', 5000);
    assert.ok(!JSON.stringify(flow(0.2)).includes('s3cret'));
  });
});
