import { strict as assert } from 'node:assert';
import type { IncomingMessage } from 'node:http';
import type { CameraEvent, SystemInfo } from '../../lib/camera/types';
import { startCamera, type SimulatedCamera, type SimulatedCameraOptions } from '../../simulator/index';
import { call, failure, getJson, once, open, readUntil, sha256 } from './http';

/** Counts the bytes of a response until it ends or breaks. */
function countBytes(res: IncomingMessage): Promise<{ bytes: number; broken: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    res.on('data', (chunk: Buffer) => (bytes += chunk.length));
    res.on('end', () => resolve({ bytes, broken: false }));
    res.on('error', () => resolve({ bytes, broken: true }));
  });
}

describe('simulator: faults', () => {
  let cameras: SimulatedCamera[] = [];
  const start = async (options: SimulatedCameraOptions = {}): Promise<SimulatedCamera> => {
    const camera = await startCamera({ restartMs: 200, seed: 1, ...options });
    cameras.push(camera);
    return camera;
  };

  afterEach(async () => {
    await Promise.all(cameras.map((camera) => camera.stop()));
    cameras = [];
  });

  it('adds latency before each response', async () => {
    const camera = await start({ faults: { latencyMs: 150 } });
    const started = Date.now();
    assert.equal((await call(camera.url, '/api/system')).status, 200);
    assert.ok(Date.now() - started >= 140, `answered after ${Date.now() - started} ms`);
  });

  it('caps the bandwidth of response bodies', async () => {
    const camera = await start({ videoBytes: 100_000, faults: { bandwidthBytesPerSec: 250_000 } });
    const { fileName } = camera.control.addRecording();
    const started = Date.now();
    const reply = await call(camera.url, `/api/events/${fileName}`);
    assert.equal(reply.body.length, 100_000);
    assert.equal(sha256(reply.body), camera.control.media(fileName, 'video').sha256);
    assert.ok(Date.now() - started >= 300, `100 kB at 250 kB/s took ${Date.now() - started} ms`);
  });

  it('answers 500/503 with {"error"} at errorRate', async () => {
    const camera = await start({ faults: { errorRate: 1 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const reply = await call(camera.url, '/api/events');
      statuses.add(reply.status);
      assert.equal(typeof (JSON.parse(reply.text) as { error: unknown }).error, 'string');
    }
    assert.deepEqual([...statuses].sort(), [500, 503]);
  });

  it('resets connections at resetRate, before or right after the response head', async () => {
    const camera = await start({ faults: { resetRate: 1 } });
    for (let i = 0; i < 6; i++) {
      const error = await failure(camera.url, '/api/system');
      assert.ok(error.code === 'ECONNRESET' || error.message === 'aborted', `${error.code} ${error.message}`);
    }
  });

  it('truncates bodies at truncateRate: fewer bytes than Content-Length, then the connection closes', async () => {
    const camera = await start({ videoBytes: 300_000, faults: { truncateRate: 1 } });
    const { fileName } = camera.control.addRecording();
    const res = await open(camera.url, `/api/events/${fileName}`);
    assert.equal(res.headers['content-length'], '300000');
    const { bytes, broken } = await countBytes(res);
    assert.ok(broken);
    assert.ok(bytes < 300_000, `${bytes} bytes`);
  });

  it('stalls requests at stallRate: received, never answered', async () => {
    const camera = await start({ faults: { stallRate: 1 } });
    const error = await failure(camera.url, '/api/system', { timeoutMs: 300 });
    assert.equal(error.message, 'timeout');
    assert.equal(camera.control.requests().length, 1);
  });

  it('answers media with 200 + a JSON {"error"} at mediaJsonErrorRate, leaving JSON endpoints alone', async () => {
    const camera = await start({ faults: { mediaJsonErrorRate: 1 } });
    const event = camera.control.addRecording();
    for (const path of [
      `/api/events/${event.fileName}`,
      `/api/events/${event.fileName}.jpg`,
      '/snapshot-hd.jpg',
    ]) {
      const reply = await call(camera.url, path);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(typeof (JSON.parse(reply.text) as { error: unknown }).error, 'string');
    }
    assert.equal((await getJson<SystemInfo>(camera.url, '/api/system')).serialNumber, camera.serialNumber);
  });

  it('answers JSON endpoints with broken JSON at malformedJsonRate, leaving media alone', async () => {
    const camera = await start({ recordings: 2, faults: { malformedJsonRate: 1 } });
    for (const path of ['/api/system', '/api/events', '/api/system/settings', '/api/streams']) {
      const reply = await call(camera.url, path);
      assert.equal(reply.status, 200);
      assert.equal(Number(reply.headers['content-length']), reply.body.length);
      assert.throws(() => JSON.parse(reply.text) as unknown, SyntaxError, path);
    }
    const [event] = camera.control.recordings();
    const video = await call(camera.url, `/api/events/${event!.fileName}`);
    assert.equal(sha256(video.body), camera.control.media(event!.fileName, 'video').sha256);
  });

  it('drops SSE connections after sseDropAfterMs', async () => {
    const camera = await start({ faults: { sseDropAfterMs: 100 } });
    const res = await open(camera.url, '/api/sse/recordings');
    await readUntil(res, (text) => text.includes(': connected'));
    await once(res, 'close', 3000);
  });

  it('skews the camera clock: systemTime, triggeredAt and file names move, NTP shows unsynced', async () => {
    const camera = await start({ timezone: 'UTC', faults: { clockSkewSeconds: 3600 } });
    const info = await getJson<SystemInfo>(camera.url, '/api/system');
    assert.ok(Math.abs(Date.parse(info.systemTime) - (Date.now() + 3_600_000)) < 5000);
    const event: CameraEvent = camera.control.addRecording();
    assert.ok(Math.abs(Date.parse(event.triggeredAt) - (Date.now() + 3_600_000)) < 5000);
    const hour = new Date(Date.now() + 3_600_000).getUTCHours();
    assert.equal(Number(event.fileName.slice(9, 11)), hour);
    assert.equal(event.age, 0);
    const datetime = await getJson<{ ntpSynced: boolean }>(camera.url, '/api/system/datetime');
    assert.equal(datetime.ntpSynced, false);
  });

  it('creates recordings in a storm at eventStormPerSecond, and stops when cleared', async () => {
    const camera = await start({ faults: { eventStormPerSecond: 500 } });
    let count = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${count} recordings`)), 5000);
      camera.control.on('recording', () => {
        if (++count === 50) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    camera.control.clearFaults();
    const total = camera.control.recordings().length;
    assert.ok(total >= 50);
    assert.equal(camera.control.faults.eventStormPerSecond, 0);
    assert.equal(
      (await getJson<CameraEvent[]>(camera.url, '/api/events')).length,
      camera.control.recordings().length,
    );
  });

  it('switches faults at run time and validates them', async () => {
    const camera = await start();
    assert.equal((await call(camera.url, '/api/system')).status, 200);
    camera.control.setFaults({ errorRate: 1 });
    assert.ok([500, 503].includes((await call(camera.url, '/api/system')).status));
    assert.equal(camera.control.faults.errorRate, 1);
    camera.control.clearFaults();
    assert.equal((await call(camera.url, '/api/system')).status, 200);
    assert.throws(() => camera.control.setFaults({ errorRate: 1.5 }), /between 0 and 1/);
    assert.throws(() => camera.control.setFaults({ latencyMs: -1 }), /negative/);
    assert.throws(() => camera.control.setFaults({ nope: 1 } as never), /unknown fault/);
    await assert.rejects(startCamera({ faults: { stallRate: 2 } }), /between 0 and 1/);
  });

  it('reproduces the serial and every fault decision from the seed', async () => {
    const faults = { errorRate: 0.3, malformedJsonRate: 0.3, truncateRate: 0.2 };
    const outcomes = async (camera: SimulatedCamera): Promise<string[]> => {
      const seen: string[] = [];
      for (let i = 0; i < 30; i++) {
        try {
          const reply = await call(camera.url, '/api/system/firmware');
          let json = 'json';
          try {
            JSON.parse(reply.text);
          } catch {
            json = 'broken';
          }
          seen.push(`${reply.status} ${json}`);
        } catch (error) {
          seen.push(`failed ${(error as Error).message}`);
        }
      }
      return seen;
    };
    const a = await start({ seed: 1234, faults });
    const b = await start({ seed: 1234, faults });
    const c = await start({ seed: 4321, faults });
    assert.equal(a.serialNumber, b.serialNumber);
    assert.notEqual(a.serialNumber, c.serialNumber);
    const [first, second, other] = await Promise.all([outcomes(a), outcomes(b), outcomes(c)]);
    assert.deepEqual(first, second);
    assert.notDeepEqual(first, other);
    assert.ok(new Set(first).size >= 3, first.join(', '));
  });
});
