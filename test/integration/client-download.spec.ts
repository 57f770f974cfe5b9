import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { CameraEvent } from '../../lib/camera/types';
import { CameraError, CameraHttpError, IntegrityError, TooLargeError } from '../../lib/camera/errors';
import { FileSink } from '../../lib/camera/download';
import type { SimulatedCamera } from '../../simulator';
import { faultsForNext, Rig, requests } from './client-fixtures';

async function fileSha(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

const MB = 1024 * 1024;

describe('camera client against the simulator: downloads', function () {
  this.timeout(60_000);
  const rig = new Rig();
  let camera: SimulatedCamera;
  let dir: string;
  let event: CameraEvent;

  beforeEach(async () => {
    camera = await rig.camera();
    event = camera.control.addRecording({ videoBytes: 3 * MB });
    dir = await mkdtemp(join(tmpdir(), 'pfcam-download-'));
  });

  afterEach(async () => {
    await rig.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a 200 MB recording to a file with flat memory, verified', async () => {
    const big = camera.control.addRecording({ videoBytes: 200 * MB });
    const expected = camera.control.media(big.fileName, 'video');
    const client = rig.client(camera);
    const file = join(dir, 'big.mp4');
    // A 32 MB download first: the process (client and, here, the in-process camera) reaches its steady state
    // (code, heap, allocator arenas), whatever the size; what the 200 MB download adds on top is what scales.
    const warmUp = camera.control.addRecording({ videoBytes: 32 * MB });
    await client.downloadToFile('video', warmUp, join(dir, 'warm-up.mp4'));
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakArrayBuffers = before.arrayBuffers;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
    }, 20);
    try {
      const result = await client.downloadToFile('video', big, file, { expectedSize: expected.size });
      assert.equal(result.bytes, expected.size);
      assert.equal(result.sha256, expected.sha256);
    } finally {
      clearInterval(sampler);
    }
    const rssGrowth = (peakRss - before.rss) / MB;
    const abGrowth = (peakArrayBuffers - before.arrayBuffers) / MB;
    assert.ok(rssGrowth < 40, `RSS grew by ${rssGrowth.toFixed(1)} MB`);
    assert.ok(abGrowth < 40, `array buffers grew by ${abGrowth.toFixed(1)} MB`);
    assert.equal((await stat(file)).size, expected.size);
    assert.equal(await fileSha(file), expected.sha256);
  });

  it('keeps the part of an interrupted download and resumes it later with Range', async () => {
    const expected = camera.control.media(event.fileName, 'video');
    const client = rig.client(camera);
    camera.control.setFaults({ bandwidthBytesPerSec: 2 * MB });
    const file = join(dir, 'v.mp4');
    const controller = new AbortController();
    await assert.rejects(
      client.downloadToFile('video', event, file, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedBytes > 0) controller.abort();
        },
      }),
      (err) => err instanceof CameraError && err.key === 'errors.aborted',
    );
    const part = (await stat(`${file}.part`)).size;
    assert.ok(part > 0 && part < expected.size, String(part));
    assert.deepEqual(await readdir(dir), ['v.mp4.part']);

    camera.control.clearFaults();
    camera.control.clearRequests();
    const result = await client.downloadToFile('video', event, file);
    assert.equal(result.sha256, expected.sha256);
    assert.equal(result.resumes, 1);
    assert.equal(requests(camera)[0]!.headers.range, `bytes=${part}-`);
    assert.deepEqual(await readdir(dir), ['v.mp4']);
    assert.equal(await fileSha(file), expected.sha256);
  });

  it('starts over when an old part is longer than the recording', async () => {
    const expected = camera.control.media(event.fileName, 'video');
    const client = rig.client(camera);
    const file = join(dir, 'v.mp4');
    await writeFile(`${file}.part`, Buffer.alloc(expected.size + 10, 1));
    const result = await client.downloadToFile('video', event, file);
    assert.equal(result.sha256, expected.sha256);
    assert.equal(await fileSha(file), expected.sha256);
  });

  it('fails the integrity check on a size mismatch and removes the partial file', async () => {
    const expected = camera.control.media(event.fileName, 'video');
    const client = rig.client(camera);
    const file = join(dir, 'v.mp4');
    await assert.rejects(
      client.downloadToFile('video', event, file, { expectedSize: expected.size + 1 }),
      (err) => err instanceof IntegrityError && err.key === 'errors.integrity' && !err.retryable,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('keeps the part on a transient failure (the camera went away) for a later resume', async () => {
    const client = rig.client(camera, { retry: { attempts: 2 } });
    camera.control.setFaults({ truncateRate: 1 });
    const file = join(dir, 'v.mp4');
    await assert.rejects(
      client.downloadToFile('video', event, file),
      (err) => err instanceof CameraError && err.retryable,
    );
    const entries = await readdir(dir);
    assert.deepEqual(entries, ['v.mp4.part']);
    camera.control.clearFaults();
    const result = await client.downloadToFile('video', event, file);
    assert.equal(result.sha256, camera.control.media(event.fileName, 'video').sha256);
  });

  it('resumes at the bytes really on disk when an attempt fails with a write still in flight', async () => {
    // A failed pipeline rejects at once while the part file's last write may still be landing: the resume
    // offset must wait for it, or the next part is appended after bytes the offset does not count (a file of
    // the right size with a repeated stretch: a SHA-256 mismatch).
    const partPath = join(dir, 'race.mp4.part');
    const sink = await FileSink.open(partPath, undefined);
    try {
      const chunk = Buffer.alloc(8 * MB, 7);
      const writable = sink.writable();
      writable.on('error', () => undefined);
      writable.write(chunk);
      writable.destroy(new Error('the camera went away')); // what pipeline() does when the body fails
      await sink.settle();
      const onDisk = (await stat(partPath)).size;
      assert.equal(sink.bytes, onDisk);
      assert.equal(sink.hash.copy().digest('hex'), await fileSha(partPath));
    } finally {
      await sink.abandon(false);
    }
  });

  it('removes the part when the recording is gone (404), without retrying', async () => {
    const client = rig.client(camera);
    camera.control.removeRecording(event.fileName);
    camera.control.clearRequests();
    const file = join(dir, 'v.mp4');
    await assert.rejects(
      client.downloadToFile('video', event, file),
      (err) => err instanceof CameraHttpError && err.status === 404,
    );
    assert.equal(requests(camera).length, 1);
    assert.deepEqual(await readdir(dir), []);
  });

  it('resumes a stream download after a cut without rewriting bytes the target already has', async () => {
    const expected = camera.control.media(event.fileName, 'video');
    const client = rig.client(camera);
    camera.control.setFaults({ truncateRate: 1 });
    faultsForNext(camera, 1);
    const hash = createHash('sha256');
    let received = 0;
    const target = new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        received += chunk.length;
        cb();
      },
    });
    const result = await client.downloadToStream('video', event, target);
    assert.equal(result.resumes, 1);
    assert.equal(received, expected.size);
    assert.equal(hash.digest('hex'), expected.sha256);
    assert.match(String(requests(camera, '/api/events/')[1]!.headers.range), /^bytes=\d+-$/);
  });

  it('destroys the stream target when the download fails for good', async () => {
    const client = rig.client(camera);
    camera.control.removeRecording(event.fileName);
    const target = new PassThrough();
    await assert.rejects(client.downloadToStream('video', event, target), CameraHttpError);
    assert.ok(target.destroyed);
  });

  it('refuses a buffered download above its byte limit', async () => {
    const client = rig.client(camera);
    await assert.rejects(
      client.downloadToBuffer('video', event, { maxBytes: MB }),
      (err) => err instanceof TooLargeError && err.key === 'errors.tooLarge',
    );
  });

  it('refuses two downloads into the same file at once', async () => {
    const client = rig.client(camera);
    const file = join(dir, 'v.mp4');
    const first = client.downloadToFile('video', event, file);
    await assert.rejects(
      client.downloadToFile('video', event, file),
      (err) => err instanceof CameraError && err.key === 'errors.downloadInProgress',
    );
    await first;
  });
});
