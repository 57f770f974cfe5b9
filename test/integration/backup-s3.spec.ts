import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Backup, type RecordingBackedUp } from '../../lib/backup/s3-backup';
import { S3Objects } from '../../lib/backup/s3-objects';
import { parseManifest } from '../../lib/backup/manifest';
import { rebuildIndexFromS3 } from '../../lib/backup/rebuild';
import { EventStore } from '../../lib/store/event-store';
import {
  addStoredRecording,
  openTempStore,
  sha256,
  spiedClient,
  startFauxS3,
  type FauxS3,
  type SpiedRequest,
  type TempStore,
} from './backup-fixtures';

const BUCKET = 'pfcam-archive';
const PREFIX = 'site-a';
const MiB = 1024 * 1024;
const SLOW = { baseMs: 60_000, maxMs: 120_000 };

describe('S3 backup against fauxqs', function () {
  this.timeout(30_000);
  let temp: TempStore;
  let s3: FauxS3;
  let client: S3Client;
  let requests: SpiedRequest[];
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    temp = await openTempStore();
    s3 = await startFauxS3(BUCKET);
    ({ client, requests } = spiedClient(s3.endpoint));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    client.destroy();
    await s3.stop();
    await temp.close();
  });

  function backup(
    options: {
      client?: S3Client;
      store?: EventStore;
      sse?: 'none' | 'AES256' | 'aws:kms';
      kmsKeyId?: string;
    } = {},
  ): S3Backup {
    const b = new S3Backup({
      store: options.store ?? temp.store,
      client: options.client ?? client,
      s3: { bucket: BUCKET, prefix: PREFIX, sse: options.sse ?? 'none', kmsKeyId: options.kmsKeyId },
      options: { backoff: SLOW, backupAllStored: false },
    });
    cleanups.push(() => b.stop());
    return b;
  }

  const objects = (): S3Objects =>
    new S3Objects(client, { bucket: BUCKET, prefix: PREFIX, sse: 'none', kmsKeyId: undefined });

  async function allKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const entry of objects().listKeys(`${PREFIX}/`)) keys.push(entry.key);
    return keys.sort();
  }

  it('uploads a 12 MiB video in parts of at least 5 MiB, confirms each object by HEAD and writes the manifest last', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-0001',
      triggeredAt: '2026-03-04T05:06:07.000Z',
      videoBytes: 12 * MiB,
      thumbBytes: 300,
    });
    const b = backup();
    const recordings: RecordingBackedUp[] = [];
    b.subscribe({ onRecording: (r) => recordings.push(r) });
    const enqueued = await b.enqueue({ id: event.id });
    assert.equal(enqueued.keys.video, 'site-a/PF-0001/2026/03/04/rec-0001.mp4');
    assert.equal(enqueued.keys.manifest, 'site-a/PF-0001/2026/03/04/rec-0001.json');
    const stats = await b.drainNow();

    assert.equal(stats.pendingCount, 0);
    assert.equal(stats.confirmedObjects, 3);
    const video = requests.filter((r) => r.key === enqueued.keys.video).map((r) => r.command);
    assert.equal(video.filter((c) => c === 'CreateMultipartUploadCommand').length, 1);
    assert.equal(video.filter((c) => c === 'UploadPartCommand').length, 3);
    assert.equal(video.filter((c) => c === 'PutObjectCommand').length, 0);
    // confirmation follows the upload
    assert.ok(video.lastIndexOf('HeadObjectCommand') > video.lastIndexOf('CompleteMultipartUploadCommand'));
    // the manifest is written after both media objects were confirmed
    const manifestPut = requests.findIndex(
      (r) => r.key === enqueued.keys.manifest && r.command === 'PutObjectCommand',
    );
    const lastMediaHead = requests
      .map((r) => r.command === 'HeadObjectCommand' && r.key !== enqueued.keys.manifest)
      .lastIndexOf(true);
    assert.ok(manifestPut > lastMediaHead);

    const head = await objects().head(enqueued.keys.video);
    assert.equal(head?.size, 12 * MiB);
    assert.equal(head?.sha256, event.videoSha256);

    const manifest = parseManifest(await objects().getJson(enqueued.keys.manifest), enqueued.keys.manifest);
    assert.ok(manifest);
    assert.equal(manifest.cameraSerial, 'PF-0001');
    assert.equal(manifest.fileName, 'rec-0001');
    assert.equal(manifest.eventName, 'door');
    assert.equal(manifest.triggeredAt, '2026-03-04T05:06:07.000Z');
    assert.deepEqual(
      manifest.objects.map((o) => [o.kind, o.key, o.bytes, o.sha256]),
      [
        ['video', enqueued.keys.video, 12 * MiB, event.videoSha256],
        ['thumbnail', enqueued.keys.thumbnail, 300, event.thumbSha256],
      ],
    );

    const after = await temp.store.get(event.id);
    assert.equal(after?.backupState, 'done');
    assert.ok(after?.backedUpAt);
    assert.deepEqual(recordings, [
      {
        eventId: event.id,
        cameraSerial: 'PF-0001',
        fileName: 'rec-0001',
        keys: [enqueued.keys.video, enqueued.keys.thumbnail],
        manifestKey: enqueued.keys.manifest,
        bytes: 12 * MiB + 300,
      },
    ]);
  });

  it('sends the configured SSE-KMS encryption and key id with every object it writes', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-kms',
      triggeredAt: '2026-03-04T05:06:07.000Z',
      videoBytes: 6 * MiB,
    });
    const b = backup({ sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' });
    await b.enqueue({ id: event.id });
    await b.drainNow();
    const writes = requests.filter((r) =>
      ['PutObjectCommand', 'CreateMultipartUploadCommand'].includes(r.command),
    );
    assert.equal(writes.length, 3); // video (multipart), thumbnail, manifest
    for (const write of writes) {
      assert.equal(write.headers['x-amz-server-side-encryption'], 'aws:kms');
      assert.equal(
        write.headers['x-amz-server-side-encryption-aws-kms-key-id'],
        'arn:aws:kms:eu-west-1:111122223333:key/abcd',
      );
    }
    assert.equal((await temp.store.get(event.id))?.backupState, 'done');
  });

  it('does not count an object as backed up while HEAD shows another size', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-head',
      triggeredAt: '2026-03-04T05:06:07.000Z',
    });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const output = result.output as { ContentLength?: number };
        if (context.commandName === 'HeadObjectCommand' && output.ContentLength !== undefined)
          output.ContentLength += 1;
        return result;
      },
      { step: 'initialize', name: 'pfcamTestWrongHead' },
    );
    const b = backup();
    await b.enqueue({ id: event.id });
    const stats = await b.drainNow();
    assert.equal(stats.consecutiveFailures >= 1, true);
    assert.match(stats.lastError?.message ?? '', /does not confirm/);
    const outbox = await temp.store.listOutbox(event.id);
    assert.ok(outbox.every((o) => o.state === 'pending'));
    assert.match(outbox.find((o) => o.attempts > 0)?.lastError ?? '', /errors\.backupUnconfirmed/);
    assert.equal((await temp.store.get(event.id))?.backupState, 'pending');
  });

  it('refuses to archive a local file that no longer matches its recorded SHA-256, and removes what it sent', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-changed',
      triggeredAt: '2026-03-04T05:06:07.000Z',
    });
    const file = join(temp.dir, 'media', event.videoPath!);
    const content = await readFile(file);
    content[0] = content[0]! ^ 0xff;
    await writeFile(file, content);
    const b = backup();
    const { keys } = await b.enqueue({ id: event.id });
    await b.drainNow();
    const video = (await temp.store.listOutbox(event.id)).find((o) => o.kind === 'video');
    assert.equal(video?.state, 'failed');
    assert.match(video?.lastError ?? '', /errors\.backupFileChanged/);
    assert.equal((await temp.store.get(event.id))?.backupState, 'failed');
    assert.equal(await objects().head(keys.video), undefined);
  });

  it('keeps the backlog through an S3 outage and a restart, then drains it once S3 is back, sending each object once', async () => {
    const first = await addStoredRecording(temp.store, {
      fileName: 'rec-a',
      triggeredAt: '2026-03-01T00:00:00.000Z',
    });
    const b1 = backup();
    await b1.enqueue({ id: first.id });
    await b1.drainNow();
    assert.equal((await temp.store.get(first.id))?.backupState, 'done');

    // S3 goes down
    const port = s3.port;
    await s3.stop();
    const down = [
      await addStoredRecording(temp.store, { fileName: 'rec-b', triggeredAt: '2026-03-02T00:00:00.000Z' }),
      await addStoredRecording(temp.store, {
        fileName: 'rec-c',
        triggeredAt: '2026-03-03T00:00:00.000Z',
        videoBytes: 6 * MiB,
      }),
    ];
    for (const e of down) await b1.enqueue({ id: e.id });
    const during = await b1.drainNow();
    assert.equal(during.pendingCount, 6);
    assert.equal(during.pendingBytes, 2048 + 256 + 6 * MiB + 256);
    assert.ok(during.consecutiveFailures >= 1);
    assert.ok(during.lastError);
    assert.ok(during.pausedUntil !== null && Date.parse(during.pausedUntil) > Date.now());
    const waiting = [
      ...(await temp.store.listOutbox(down[0]!.id)),
      ...(await temp.store.listOutbox(down[1]!.id)),
    ];
    assert.ok(waiting.every((o) => o.state === 'pending'));
    const tried = waiting.filter((o) => o.attempts > 0);
    assert.ok(tried.length >= 1);
    // every failed attempt left its error; the last one pushed its row's next attempt out (backoff in the row;
    // rows tried before drain-now were made due again by it, and only the first retry ran before the pause)
    for (const o of tried) assert.match(o.lastError ?? '', /ECONNREFUSED|connect/i);
    assert.ok(
      tried.some((o) => Date.parse(o.nextAttemptAt) > Date.now() + 20_000),
      'backoff in the row',
    );

    // the process restarts while S3 is still down: the backlog is in the database
    await b1.stop();
    const file = temp.store.db.file;
    await temp.store.close();
    temp.store = await EventStore.open({ databaseFile: file, mediaDir: join(temp.dir, 'media') });
    const persisted = [
      ...(await temp.store.listOutbox(down[0]!.id)),
      ...(await temp.store.listOutbox(down[1]!.id)),
    ];
    assert.equal(persisted.filter((o) => o.state === 'pending').length, 6);
    assert.ok(persisted.some((o) => o.attempts > 0 && Date.parse(o.nextAttemptAt) > Date.now()));

    // S3 is back on the same address (empty: an in-memory server); the first recording is not sent again
    s3 = await startFauxS3(BUCKET, port);
    requests.length = 0;
    const b2 = backup();
    const after = await b2.drainNow();
    assert.equal(after.pendingCount, 0);
    assert.equal(after.consecutiveFailures, 0);
    assert.equal(after.lastError, null);
    for (const e of down) assert.equal((await temp.store.get(e.id))?.backupState, 'done');
    const writes = requests.filter((r) =>
      ['PutObjectCommand', 'CreateMultipartUploadCommand'].includes(r.command),
    );
    const written = writes.map((r) => r.key).sort();
    assert.equal(new Set(written).size, written.length, 'no object written twice');
    assert.equal(written.length, 6);
    assert.ok(written.every((k) => !k.includes('rec-a')));
    assert.deepEqual(await allKeys(), [
      'site-a/PF-0001/2026/03/02/rec-b.jpg',
      'site-a/PF-0001/2026/03/02/rec-b.json',
      'site-a/PF-0001/2026/03/02/rec-b.mp4',
      'site-a/PF-0001/2026/03/03/rec-c.jpg',
      'site-a/PF-0001/2026/03/03/rec-c.json',
      'site-a/PF-0001/2026/03/03/rec-c.mp4',
    ]);
  });

  it('does not upload again an object an earlier attempt already put in the bucket (HEAD first on a retry)', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-retry',
      triggeredAt: '2026-03-04T05:06:07.000Z',
    });
    const b = backup();
    const { keys } = await b.enqueue({ id: event.id });
    // an earlier attempt sent the video, then the process died before recording it
    await objects().uploadFile(keys.video, join(temp.dir, 'media', event.videoPath!), {
      size: event.videoSize!,
      sha256: event.videoSha256!,
      contentType: 'video/mp4',
    });
    await temp.store.db.run("UPDATE backup_outbox SET attempts = 1 WHERE event_id = ? AND kind = 'video'", [
      event.id,
    ]);
    requests.length = 0;
    await b.drainNow();
    const video = requests.filter((r) => r.key === keys.video).map((r) => r.command);
    assert.deepEqual(video, ['HeadObjectCommand']);
    assert.equal((await temp.store.get(event.id))?.backupState, 'done');
  });

  it('queues nothing for a recording already backed up', async () => {
    const event = await addStoredRecording(temp.store, {
      fileName: 'rec-once',
      triggeredAt: '2026-03-04T05:06:07.000Z',
    });
    const b = backup();
    await b.enqueue({ cameraSerial: 'PF-0001', fileName: 'rec-once' });
    await b.drainNow();
    requests.length = 0;
    const again = await b.enqueue({ id: event.id });
    assert.equal(again.backupState, 'done');
    const stats = await b.drainNow();
    assert.equal(stats.pendingCount, 0);
    assert.equal(requests.filter((r) => r.command !== 'HeadObjectCommand').length, 0);
  });

  it('queues every stored recording never queued when asked to back up all', async () => {
    await addStoredRecording(temp.store, { fileName: 'rec-1', triggeredAt: '2026-03-04T05:06:07.000Z' });
    await addStoredRecording(temp.store, {
      fileName: 'rec-2',
      triggeredAt: '2026-03-05T05:06:07.000Z',
      thumbBytes: 0,
    });
    const b = new S3Backup({
      store: temp.store,
      client,
      s3: { bucket: BUCKET, prefix: PREFIX, sse: 'none', kmsKeyId: undefined },
      options: { backoff: SLOW, backupAllStored: true },
    });
    cleanups.push(() => b.stop());
    await b.drainNow();
    assert.deepEqual(await allKeys(), [
      'site-a/PF-0001/2026/03/04/rec-1.jpg',
      'site-a/PF-0001/2026/03/04/rec-1.json',
      'site-a/PF-0001/2026/03/04/rec-1.mp4',
      'site-a/PF-0001/2026/03/05/rec-2.json',
      'site-a/PF-0001/2026/03/05/rec-2.mp4',
    ]);
  });

  it('rebuilds the index of a fresh store from the manifests, then downloads the media back verified', async () => {
    const a = await addStoredRecording(temp.store, {
      fileName: 'rec-a',
      triggeredAt: '2026-03-01T10:00:00.000Z',
      flagged: true,
      eventName: null,
    });
    const b = await addStoredRecording(temp.store, {
      serial: 'PF-0002',
      fileName: 'rec-b',
      triggeredAt: '2026-03-02T10:00:00.000Z',
    });
    const backupRun = backup();
    await backupRun.drainNow(); // nothing queued yet
    await backupRun.enqueue({ id: a.id });
    await backupRun.enqueue({ id: b.id });
    await backupRun.drainNow();
    await objects().putJson(`${PREFIX}/PF-0002/2026/03/02/junk.json`, { hello: 'world' });

    const fresh = await openTempStore();
    cleanups.push(() => fresh.close());
    const report = await rebuildIndexFromS3(fresh.store, objects(), PREFIX);
    assert.deepEqual(
      {
        manifests: report.manifests,
        inserted: report.inserted,
        existing: report.existing,
        invalid: report.invalid,
      },
      { manifests: 3, inserted: 2, existing: 0, invalid: 1 },
    );
    const remote = await fresh.store.getByFile('PF-0001', 'rec-a');
    assert.ok(remote);
    assert.equal(remote.state, 'stored');
    assert.equal(remote.backupState, 'done');
    assert.equal(remote.videoPath, null);
    assert.ok(remote.retiredAt);
    assert.equal(remote.flagged, true);
    assert.equal(remote.eventName, null);
    assert.equal(remote.triggeredAtUtc, '2026-03-01T10:00:00.000Z');
    assert.equal(remote.videoSha256, a.videoSha256);
    assert.equal((remote.metadata?.archive as { location?: string }).location, 'remote');
    assert.equal((await fresh.store.listCameras()).length, 2);

    // again, with download: nothing new, both recordings come back to the disk
    const second = await rebuildIndexFromS3(fresh.store, objects(), PREFIX, { download: true });
    assert.equal(second.inserted, 0);
    assert.equal(second.existing, 2);
    assert.equal(second.downloaded, 2);
    const local = await fresh.store.getByFile('PF-0002', 'rec-b');
    assert.ok(local?.videoPath);
    assert.equal(local.retiredAt, null);
    assert.equal(local.videoSize, b.videoSize);
    assert.equal(sha256(await readFile(join(fresh.dir, 'media', local.videoPath))), b.videoSha256);
    assert.equal(sha256(await readFile(join(fresh.dir, 'media', local.thumbPath!))), b.thumbSha256);
    assert.equal((local.metadata?.archive as { location?: string }).location, 'local');
    const audit = await fresh.store.listAudit();
    assert.ok(audit.some((entry) => entry.action === 'rebuild-index'));
  });

  it('refuses a downloaded object that does not match its manifest and leaves the row remote', async () => {
    const a = await addStoredRecording(temp.store, {
      fileName: 'rec-a',
      triggeredAt: '2026-03-01T10:00:00.000Z',
    });
    const backupRun = backup();
    const { keys } = await backupRun.enqueue({ id: a.id });
    await backupRun.drainNow();
    // the object is replaced in the bucket by other bytes of the same size
    const other = join(temp.dir, 'other.bin');
    await writeFile(other, Buffer.alloc(a.videoSize!, 7));
    await objects().uploadFile(keys.video, other, {
      size: a.videoSize!,
      sha256: a.videoSha256!,
      contentType: 'video/mp4',
    });

    const fresh = await openTempStore();
    cleanups.push(() => fresh.close());
    const report = await rebuildIndexFromS3(fresh.store, objects(), PREFIX, { download: true });
    assert.equal(report.inserted, 1);
    assert.equal(report.downloaded, 0);
    assert.equal(report.failures.length, 1);
    const row = await fresh.store.getByFile('PF-0001', 'rec-a');
    assert.equal(row?.videoPath, null);
    assert.ok(row?.retiredAt);
  });
});
