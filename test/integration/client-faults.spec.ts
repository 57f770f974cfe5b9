import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RejectedEntry } from '../../lib/camera/camera-api';
import {
  BadResponseError,
  CameraError,
  CameraHttpError,
  CameraInputError,
  CameraOfflineError,
  CameraTimeoutError,
} from '../../lib/camera/errors';
import type { SimulatedCamera } from '../../simulator';
import { faultsForNext, Rig, requests } from './client-fixtures';

describe('camera client against the simulator: faults', function () {
  this.timeout(20_000);
  const rig = new Rig();
  let camera: SimulatedCamera;
  let dir: string;

  beforeEach(async () => {
    camera = await rig.camera({ recordings: 2, videoBytes: 2_000_000 });
    dir = await mkdtemp(join(tmpdir(), 'pfcam-faults-'));
  });

  afterEach(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('retries 5xx answers with backoff and then succeeds', async () => {
    const client = rig.client(camera, { retry: { attempts: 4 } });
    camera.control.setFaults({ errorRate: 1 });
    faultsForNext(camera, 2);
    assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
    assert.equal(requests(camera).length, 3);
  });

  it('gives up after the configured attempts with the last status and the camera text', async () => {
    const client = rig.client(camera, { retry: { attempts: 3 } });
    camera.control.setFaults({ errorRate: 1 });
    await assert.rejects(
      client.listEvents(),
      (err) =>
        err instanceof CameraHttpError &&
        (err.status === 500 || err.status === 503) &&
        /internal error|service unavailable/.test(err.cameraMessage) &&
        err.key === 'errors.cameraHttp' &&
        err.retryable,
    );
    assert.equal(requests(camera).length, 3);
  });

  it('never retries a 4xx', async () => {
    const client = rig.client(camera, { retry: { attempts: 5 } });
    await assert.rejects(
      client.putExposure({ iso: -5 }),
      (err) =>
        err instanceof CameraHttpError &&
        err.status === 400 &&
        /iso/.test(err.cameraMessage) &&
        !err.retryable,
    );
    assert.equal(requests(camera).length, 1);
  });

  it('retries connection resets and then succeeds', async () => {
    const client = rig.client(camera, { retry: { attempts: 4 } });
    camera.control.setFaults({ resetRate: 1 });
    faultsForNext(camera, 2);
    assert.equal((await client.listEvents()).length, 2);
    assert.equal(requests(camera).length, 3);
  });

  it('never hangs on a camera that accepts and never answers: a timeout error within the budget', async () => {
    const client = rig.client(camera, { timeouts: { headersMs: 150 }, retry: { attempts: 2 } });
    camera.control.setFaults({ stallRate: 1 });
    // the per-phase timeout ends each attempt (else the test's own timeout would): both attempts were made
    await assert.rejects(
      client.getSystemInfo(),
      (err) =>
        err instanceof CameraTimeoutError && err.phase === 'headers' && err.key === 'errors.cameraTimeout',
    );
    assert.equal(requests(camera).length, 2);

    // the total budget bounds every attempt and wait, whatever the per-phase timeouts
    const patient = rig.client(camera, {
      timeouts: { headersMs: 60_000, requestMs: 300 },
      retry: { attempts: 10 },
    });
    // the budget, not the 60 s header timeout, ended the call: one attempt, cut short, and no retry after it
    camera.control.clearRequests();
    await assert.rejects(
      patient.getSystemInfo(),
      (err) => err instanceof CameraTimeoutError && err.phase === 'total',
    );
    assert.equal(requests(camera).length, 1);
    camera.control.clearRequests();
    await assert.rejects(
      patient.listEvents({ timeoutMs: 100 }),
      (err) => err instanceof CameraTimeoutError && err.phase === 'total',
    );
    assert.equal(requests(camera).length, 1);
  });

  it('waits out a slow camera within the budget, and times out past it', async () => {
    const client = rig.client(camera, { timeouts: { requestMs: 3000 } });
    camera.control.setFaults({ latencyMs: 150 });
    assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
    camera.control.setFaults({ latencyMs: 2000 });
    await assert.rejects(
      client.getSystemInfo({ timeoutMs: 200 }),
      (err) => err instanceof CameraTimeoutError && err.phase === 'total',
    );
  });

  it('keeps a slow but flowing download alive past the idle timeout and the call budget', async () => {
    const client = rig.client(camera, { timeouts: { bodyMs: 300, requestMs: 300 } });
    const [event] = await client.listEvents();
    camera.control.setFaults({ bandwidthBytesPerSec: 1_500_000 });
    const started = Date.now();
    const result = await client.downloadToBuffer('video', event!);
    assert.ok(Date.now() - started > 1000, 'the transfer outlasted both timeouts');
    assert.equal(result.sha256, camera.control.media(event!.fileName, 'video').sha256);
    assert.equal(result.resumes, 0);
  });

  it('passes camera times through as the camera gives them, even with a skewed clock', async () => {
    const client = rig.client(camera);
    camera.control.setFaults({ clockSkewSeconds: 3600 });
    const made = camera.control.addRecording();
    const [listed] = await client.listEvents();
    assert.equal(listed!.fileName, made.fileName);
    assert.equal(listed!.triggeredAt, made.triggeredAt);
    const skew = Date.parse((await client.getSystemInfo()).systemTime) - Date.now();
    assert.ok(Math.abs(skew - 3_600_000) < 60_000, String(skew));
  });

  it('aborts a call on its signal', async () => {
    const client = rig.client(camera);
    camera.control.setFaults({ stallRate: 1 });
    const controller = new AbortController();
    const pending = client.getSystemInfo({ signal: controller.signal });
    camera.control.on('request', () => controller.abort());
    await assert.rejects(pending, (err) => err instanceof CameraError && err.key === 'errors.aborted');
  });

  it('turns malformed JSON into a typed error, retried a bounded number of times', async () => {
    const client = rig.client(camera, { retry: { attempts: 3 } });
    camera.control.setFaults({ malformedJsonRate: 1 });
    await assert.rejects(
      client.listEvents(),
      (err) => err instanceof BadResponseError && err.key === 'errors.badResponse',
    );
    assert.equal(requests(camera).length, 3);
    camera.control.clearRequests();
    faultsForNext(camera, 1);
    assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
    assert.equal(requests(camera).length, 2);
  });

  it('refuses a media answer of 200 with a JSON {"error"} body, and leaves no partial file', async () => {
    const client = rig.client(camera, { retry: { attempts: 2 } });
    const [event] = await client.listEvents();
    camera.control.setFaults({ mediaJsonErrorRate: 1 });
    await assert.rejects(
      client.downloadToBuffer('video', event!),
      (err) =>
        err instanceof CameraHttpError && err.status === 200 && err.cameraMessage === 'file not available',
    );
    const file = join(dir, 'x.mp4');
    await assert.rejects(
      client.downloadToFile('video', event!, file),
      (err) => err instanceof CameraHttpError && err.status === 200,
    );
    await assert.rejects(client.getSnapshot(), (err) => err instanceof CameraHttpError && err.status === 200);
    await assert.rejects(
      client.openLiveStream(),
      (err) => err instanceof CameraHttpError && err.status === 200,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('resumes a truncated download with Range and gets the exact bytes', async () => {
    const client = rig.client(camera);
    const [event] = await client.listEvents();
    const expected = camera.control.media(event!.fileName, 'video');
    camera.control.clearRequests();
    camera.control.setFaults({ truncateRate: 1 });
    faultsForNext(camera, 1);
    const file = join(dir, 'v.mp4');
    const result = await client.downloadToFile('video', event!, file);
    assert.equal(result.sha256, expected.sha256);
    assert.equal(result.bytes, expected.size);
    assert.equal(result.resumes, 1);
    const media = requests(camera, `/api/events/${event!.fileName}`);
    assert.equal(media.length, 2);
    assert.equal(media[0]!.headers.range, undefined);
    const range = String(media[1]!.headers.range);
    const from = Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
    assert.ok(from > 0 && from < expected.size, range);
    assert.deepEqual(await readdir(dir), ['v.mp4']);
    const again = createHash('sha256');
    for await (const chunk of (await import('node:fs')).createReadStream(file) as AsyncIterable<Buffer>)
      again.update(chunk);
    assert.equal(again.digest('hex'), expected.sha256);
  });

  it('retries a JSON answer cut short, then succeeds', async () => {
    const client = rig.client(camera);
    camera.control.setFaults({ truncateRate: 1 });
    faultsForNext(camera, 1);
    assert.equal((await client.listEvents()).length, 2);
    assert.equal(requests(camera).length, 2);
  });

  it('rejects hostile recordings (reported, left out) and never uses a hostile name as a path', async () => {
    const client = rig.client(camera);
    camera.control.setFaults({ hostileRecordings: true });
    const hostile = Array.from({ length: 8 }, () => camera.control.addRecording({ videoBytes: 1000 }));
    const rejected: RejectedEntry[] = [];
    const events = await client.listEvents({ onRejected: (e) => rejected.push(e) });
    const rejectedNames = rejected.map((r) => (r.raw as { fileName: string }).fileName);
    for (const name of [
      hostile[0]!.fileName,
      hostile[1]!.fileName,
      hostile[2]!.fileName,
      hostile[6]!.fileName,
      hostile[7]!.fileName,
    ])
      assert.ok(rejectedNames.includes(name), JSON.stringify(name));
    assert.equal(rejected.length, 5);
    for (const e of events) {
      assert.ok(!/[/\\\0]/.test(e.fileName), e.fileName);
      assert.match(e.vidExt, /^\.[A-Za-z0-9]{1,8}$/);
    }
    const byName = new Map(events.map((e) => [e.fileName, e]));
    assert.equal(byName.get(hostile[3]!.fileName)?.eventName, '<script>alert(1)</script>');
    assert.equal(byName.get(hostile[4]!.fileName)?.triggeredAt, hostile[4]!.triggeredAt);
    assert.doesNotMatch(hostile[4]!.triggeredAt, /(Z|[+-]\d\d:?\d\d)$/);
    assert.equal(byName.get(hostile[5]!.fileName)?.vidExt, '.mp4');

    camera.control.clearRequests();
    for (const e of [hostile[0]!, hostile[1]!, hostile[7]!]) {
      await assert.rejects(
        client.downloadToFile('video', e, join(dir, 'x')),
        (err) => err instanceof CameraInputError && err.key === 'errors.unsafeFileName',
      );
      await assert.rejects(client.deleteEvent(e.fileName), (err) => err instanceof CameraInputError);
    }
    assert.equal(requests(camera).length, 0);
    assert.deepEqual(await readdir(dir), []);
  });

  it('reports a camera that refuses connections as offline after its retries', async () => {
    const client = rig.client(camera, { retry: { attempts: 3 } });
    void camera.control.restart(60_000);
    await assert.rejects(
      client.getSystemInfo(),
      (err) =>
        err instanceof CameraOfflineError &&
        err.code === 'ECONNREFUSED' &&
        err.key === 'errors.cameraOffline' &&
        err.retryable,
    );
  });

  it('reports a camera that drops every connection unanswered as offline, and works again once it is back', async () => {
    const client = rig.client(camera, { retry: { attempts: 2 } });
    camera.control.offline();
    await assert.rejects(client.getSystemInfo(), (err) => err instanceof CameraOfflineError);
    camera.control.online();
    assert.equal((await client.getSystemInfo()).serialNumber, camera.serialNumber);
  });

  it('rides out a restart (connection refused) by retrying until the camera is back', async () => {
    const client = rig.client(camera, { retry: { attempts: 30, baseDelayMs: 20, maxDelayMs: 80 } });
    const back = camera.control.restart(300);
    const info = await client.getSystemInfo();
    await back;
    assert.equal(info.serialNumber, camera.serialNumber);
    assert.ok(info.uptime <= 1);
  });

  it('sends a settings write once: a cut answer counts as accepted (the camera restarts)', async () => {
    const client = rig.client(camera, { retry: { attempts: 5 } });
    camera.control.setFaults({ resetRate: 1 });
    await client.putSettings({ name: 'x' });
    assert.equal(requests(camera).filter((r) => r.method === 'PUT').length, 1);
  });

  it('retries a settings write that surely never reached the camera (connection refused)', async () => {
    const client = rig.client(camera, { retry: { attempts: 30, baseDelayMs: 20, maxDelayMs: 80 } });
    const back = camera.control.restart(250);
    await client.putSettings({ name: 'After restart' });
    await back;
    assert.equal(camera.control.settings().name, 'After restart');
    assert.equal(requests(camera).filter((r) => r.method === 'PUT').length, 1);
  });
});
