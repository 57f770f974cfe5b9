/**
 * Crashes: Node-RED (a real process, this package installed from dist/) is killed with SIGKILL while it
 * downloads, while it indexes a burst of new recordings, and while it uploads to S3; restarted on the same data,
 * it must end with every recording of every camera exactly once, with the camera's exact bytes, no temp file,
 * no row pointing at a missing file, no file without its row.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCameras, type SimulatedCamera, type SimulatedCameraOptions } from '../../simulator';
import { Database } from '../../lib/store/database';
import { NodeRedProcess } from '../helpers/node-red-process';
import { startFauxS3, type FauxS3 } from './backup-fixtures';
import {
  checkArchive,
  expectedRecordings,
  ingestFlow,
  partFiles,
  waitUntil,
  type IngestFlowOptions,
} from '../../scripts/ingest-harness';

describe('ingest: SIGKILL and restart', function () {
  this.timeout(120_000);
  let dir: string;
  let cameras: SimulatedCamera[] = [];
  let nodeRed: NodeRedProcess | undefined;
  let s3: FauxS3 | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-ingest-crash-'));
  });

  afterEach(async () => {
    await nodeRed?.dispose();
    nodeRed = undefined;
    await Promise.all(cameras.map((c) => c.stop()));
    cameras = [];
    await s3?.stop();
    s3 = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'data', 'pfcam.sqlite');
  const mediaDir = (): string => join(dir, 'data', 'media');

  async function start(options: Partial<IngestFlowOptions> = {}): Promise<NodeRedProcess> {
    nodeRed = await NodeRedProcess.start({
      userDir: join(dir, 'node-red'),
      flows: ingestFlow({ cameras, databaseFile: databaseFile(), mediaDir: mediaDir(), ...options }),
    });
    return nodeRed;
  }

  /** Reads one number from the store's database while Node-RED runs (a second connection, WAL). */
  async function count(sql: string): Promise<number> {
    const db = await Database.open(databaseFile());
    try {
      return (await db.get<{ n: number }>(sql))?.n ?? 0;
    } catch {
      return 0; // the schema is not there yet
    } finally {
      await db.close();
    }
  }

  async function storedCount(): Promise<number> {
    return count("SELECT count(*) AS n FROM events WHERE state = 'stored'");
  }

  function expectedTotal(): number {
    return cameras.reduce((n, c) => n + expectedRecordings(c).accepted.length, 0);
  }

  /** Restarts after the kill, waits until everything is stored, stops cleanly and checks the archive. */
  async function restartAndCheck(extra?: () => Promise<boolean>): Promise<void> {
    await nodeRed!.restart();
    await waitUntil(
      async () => (await storedCount()) >= expectedTotal() && (extra ? await extra() : true),
      60_000,
      'every recording stored after the restart',
    );
    await nodeRed!.stop();
    const check = await checkArchive({
      databaseFile: databaseFile(),
      mediaDir: mediaDir(),
      cameras,
      log: nodeRed!.log,
    });
    assert.deepEqual(check.problems, []);
    assert.equal(check.recordings, expectedTotal());
    assert.equal(check.lost + check.duplicated + check.corrupt, 0);
  }

  async function startCams(count: number, options: SimulatedCameraOptions): Promise<void> {
    cameras = await startCameras(count, { seed: 500, ...options });
  }

  it('loses, duplicates and corrupts nothing when killed during downloads', async () => {
    await startCams(3, { recordings: 4, videoBytes: 400_000, faults: { bandwidthBytesPerSec: 150_000 } });
    await start();
    await waitUntil(async () => (await partFiles(mediaDir())).length >= 2, 30_000, 'downloads in flight');
    await nodeRed!.stop('SIGKILL');
    assert.ok((await storedCount()) < expectedTotal(), 'the kill came before the end of the downloads');
    assert.ok((await partFiles(mediaDir())).length >= 1, 'the kill left partial downloads behind');
    for (const c of cameras) c.control.setFaults({ bandwidthBytesPerSec: 2_000_000 });
    await restartAndCheck();
  });

  it('loses, duplicates and corrupts nothing when killed while indexing a burst of new recordings', async () => {
    await startCams(2, { recordings: 250, videoBytes: 3000 });
    await start();
    await waitUntil(
      async () => (await count('SELECT count(*) AS n FROM events')) > 0,
      30_000,
      'indexing started',
    );
    await nodeRed!.stop('SIGKILL');
    const indexed = await count('SELECT count(*) AS n FROM events');
    assert.ok(indexed < expectedTotal(), `the kill came before the end of the indexing (${indexed} indexed)`);
    await restartAndCheck();
  });

  it('loses, duplicates and corrupts nothing, and backs everything up, when killed during uploads', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    s3 = await startFauxS3('crash-bucket');
    await startCams(2, { recordings: 6, videoBytes: 6 * 1024 * 1024 });
    await start({ s3: { endpoint: s3.endpoint, bucket: 'crash-bucket' } });
    const outbox = (state: string): Promise<number> =>
      count(`SELECT count(*) AS n FROM backup_outbox WHERE state = '${state}'`);
    const total = (): Promise<number> => count('SELECT count(*) AS n FROM backup_outbox');
    await waitUntil(
      async () =>
        (await outbox('inflight')) > 0 ||
        ((await outbox('done')) > 0 && (await outbox('done')) < (await total())),
      60_000,
      'uploads in flight',
      20,
    );
    await nodeRed!.stop('SIGKILL');
    const expectedObjects = expectedTotal() * 3; // video, thumbnail, manifest
    assert.ok((await outbox('done')) < expectedObjects, 'the kill came before the end of the uploads');
    const allBackedUp = async (): Promise<boolean> =>
      (await count("SELECT count(*) AS n FROM events WHERE backup_state = 'done'")) >= expectedTotal();
    await restartAndCheck(allBackedUp);
    // Every object is in the bucket with the size the store recorded.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const db = await Database.open(databaseFile());
    try {
      const objects = await db.all<{ key: string; kind: string; video_size: number; thumb_size: number }>(
        `SELECT o.key, o.kind, e.video_size, e.thumb_size FROM backup_outbox o JOIN events e ON e.id = o.event_id`,
      );
      assert.equal(objects.length, expectedObjects);
      for (const o of objects) {
        const head = await client.send(new HeadObjectCommand({ Bucket: 'crash-bucket', Key: o.key }));
        if (o.kind === 'video') assert.equal(head.ContentLength, o.video_size, o.key);
        if (o.kind === 'thumbnail') assert.equal(head.ContentLength, o.thumb_size, o.key);
      }
    } finally {
      await db.close();
      client.destroy();
    }
  });
});
