import { strict as assert } from 'node:assert';
import type { Node } from 'node-red';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import { isCameraConfigNode, type CameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import type { CameraState, HealthChange } from '../../lib/camera/camera-health';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper } from '../helpers/node-red';
import { waitFor, waitUntil } from '../helpers/wait-for';
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
  return waitFor<HealthChange>(
    `camera ${state}`,
    (resolve) => {
      const listener = (change: HealthChange): void => {
        if (change.state === state) resolve(change);
      };
      camera.health.on('change', listener);
      if (camera.health.state === state)
        resolve({ state, previous: state, rebooted: false, at: '', snapshot: camera.health.snapshot });
      return () => camera.health.off('change', listener);
    },
    timeoutMs,
  );
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
    // Uptime is counted in whole seconds: let the probes see it pass 1 so that its return to 0 is visible.
    await waitUntil(
      'a probe seeing an uptime of 1 s',
      sim.control,
      'request',
      () => (camera.health.snapshot.uptime ?? 0) >= 1,
      5000,
    );
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

  it('marks a camera offline from its failed probes, and online again at the next good one', async () => {
    await helper.load([cameraNode, probeUserNode], flow(0.5));
    const camera = helper.getNode('cam') as unknown as CameraConfigNode;
    const user = helper.getNode('user') as unknown as { changes: HealthChange[] };
    await waitForState(camera, 'online', 5000);
    sim.control.offline();
    const offline = await waitForState(camera, 'offline', 10_000);
    assert.ok(offline.snapshot.lastError, 'the offline state tells why');
    sim.control.online();
    await waitForState(camera, 'online', 10_000);
    assert.deepEqual(
      user.changes.map((c) => c.state),
      ['online', 'offline', 'online'],
    );
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
