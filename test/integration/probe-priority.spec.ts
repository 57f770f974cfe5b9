/**
 * A camera's health probe against stalled downloads: the simulator (a real HTTP server) stalls the downloads
 * that hold every connection of the client's pool, and the probe still answers.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CameraHealth } from '../../lib/camera/camera-health';
import type { SimulatedRequest } from '../../simulator';
import { Rig, waitFor } from './client-fixtures';

describe('camera health probe beside stalled downloads', () => {
  const rig = new Rig();
  let dir: string;
  let health: CameraHealth | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-probe-'));
  });

  afterEach(async () => {
    health?.stop();
    health = undefined;
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the camera online while stalled downloads hold both connections of its pool', async () => {
    const camera = await rig.camera({ recordings: 2, videoBytes: 100_000 });
    const client = rig.client(camera, {
      maxConnections: 2,
      retry: { attempts: 1 },
      timeouts: { bodyMs: 60_000, headersMs: 60_000, requestMs: 60_000 },
    });
    const [a, b] = camera.control.recordings();
    // Both downloads are accepted and never answered: they hold the pool's two connections.
    camera.control.setFaults({ stallRate: 1 });
    const media = (r: SimulatedRequest): boolean => r.path.startsWith('/api/events/');
    const bothStalled = waitFor<void>(
      'two stalled downloads',
      (resolve) => {
        const onRequest = (): void => {
          if (camera.control.requests().filter(media).length >= 2) resolve();
        };
        camera.control.on('request', onRequest);
        return () => camera.control.off('request', onRequest);
      },
      10_000,
    );
    const downloads = [a!, b!].map((r, i) =>
      client.downloadToFile('video', r, join(dir, `v${i}.mp4`)).catch((err: unknown) => err),
    );
    await bothStalled;
    camera.control.setFaults({ stallRate: 0 });

    health = new CameraHealth((signal) => client.getSystemInfo({ signal, timeoutMs: 2000, probe: true }), {
      intervalMs: 3_600_000,
    });
    const snapshot = await health.probeNow();
    assert.equal(snapshot.state, 'online', snapshot.lastError);
    assert.equal(snapshot.serialNumber, camera.serialNumber);
    await client.close();
    await Promise.all(downloads);
  });
});
