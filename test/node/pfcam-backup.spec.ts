import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import backupNode, {
  type BackupRecordingMessage,
  type BackupStatusMessage,
} from '../../nodes/pfcam-backup/pfcam-backup';
import s3Node from '../../nodes/pfcam-s3/pfcam-s3';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import { S3Objects } from '../../lib/backup/s3-objects';
import type { RebuildReport } from '../../lib/backup/rebuild';
import { EventStore, type EventRecord } from '../../lib/store/event-store';
import { helper, nextMessage, type FlowNode } from '../helpers/node-red';
import {
  addStoredRecording,
  messageWhere,
  nextError,
  startFauxS3,
  statusWhen,
  type FauxS3,
} from '../integration/backup-fixtures';

const BUCKET = 'node-archive';

describe('pfcam-backup node', function () {
  this.timeout(20_000);
  let dir: string;
  let s3: FauxS3 | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-backup-node-'));
  });

  afterEach(async () => {
    await helper.unload();
    await s3?.stop();
    s3 = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Stored recordings written by a store opened and closed before the flow starts. */
  async function seed(
    folder: string,
    specs: { fileName: string; triggeredAt: string }[],
  ): Promise<EventRecord[]> {
    const store = await EventStore.open({
      databaseFile: join(folder, 'db.sqlite'),
      mediaDir: join(folder, 'media'),
    });
    try {
      const out: EventRecord[] = [];
      for (const spec of specs) out.push(await addStoredRecording(store, spec));
      return out;
    } finally {
      await store.close();
    }
  }

  function flow(options: {
    folder?: string;
    endpoint: string;
    backup?: Record<string, unknown>;
  }): FlowNode[] {
    const folder = options.folder ?? dir;
    return [
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(folder, 'db.sqlite'),
        mediaDir: join(folder, 'media'),
      },
      {
        id: 's3',
        type: 'pfcam-s3',
        endpoint: options.endpoint,
        region: 'us-east-1',
        bucket: BUCKET,
        prefix: 'site-a',
        forcePathStyle: true,
        sse: 'AES256',
      },
      {
        id: 'backup',
        type: 'pfcam-backup',
        store: 'store',
        s3: 's3',
        backupAll: false,
        retryBaseSeconds: 60,
        retryMaxSeconds: 120,
        failureThreshold: 2,
        wires: [['done'], ['status']],
        ...options.backup,
      },
      { id: 'done', type: 'helper' },
      { id: 'status', type: 'helper' },
    ];
  }

  const credentials = { s3: { accessKeyId: 'test', secretAccessKey: 'test' } };

  it('backs up a recording it receives and sends one message once the recording is fully backed up', async () => {
    s3 = await startFauxS3(BUCKET);
    const [event] = await seed(dir, [{ fileName: 'rec-1', triggeredAt: '2026-05-06T07:08:09.000Z' }]);
    await helper.load([storeNode, s3Node, backupNode], flow({ endpoint: s3.endpoint }), credentials);
    const done = helper.getNode('done');
    const backed = nextMessage<BackupRecordingMessage>(done);
    helper
      .getNode('backup')
      .receive({ topic: 'pfcam/recording', payload: { id: event!.id, fileName: 'rec-1' } });
    const msg = await backed;
    assert.equal(msg.topic, 'pfcam/backup');
    assert.deepEqual(msg.payload, {
      eventId: event!.id,
      cameraSerial: 'PF-0001',
      fileName: 'rec-1',
      keys: ['site-a/PF-0001/2026/05/06/rec-1.mp4', 'site-a/PF-0001/2026/05/06/rec-1.jpg'],
      manifestKey: 'site-a/PF-0001/2026/05/06/rec-1.json',
      bytes: event!.videoSize! + event!.thumbSize!,
    });
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const head = await new S3Objects(client, {
        bucket: BUCKET,
        prefix: 'site-a',
        sse: 'none',
        kmsKeyId: undefined,
      }).head('site-a/PF-0001/2026/05/06/rec-1.mp4');
      assert.equal(head?.sha256, event!.videoSha256);
    } finally {
      client.destroy();
    }
    await statusWhen(
      helper.getNode('backup'),
      (s) => s.fill === 'green' && s.text === 'pfcam-backup.status.idle',
    );
  });

  it('answers status and drain-now on its second output, and turns red after repeated S3 failures', async () => {
    const closed = await startFauxS3(BUCKET);
    const endpoint = closed.endpoint;
    await closed.stop(); // nothing listens there now
    const events = await seed(dir, [
      { fileName: 'rec-1', triggeredAt: '2026-05-06T07:08:09.000Z' },
      { fileName: 'rec-2', triggeredAt: '2026-05-07T07:08:09.000Z' },
    ]);
    await helper.load([storeNode, s3Node, backupNode], flow({ endpoint }), credentials);
    const backup = helper.getNode('backup');
    const status = helper.getNode('status');
    for (const e of events) backup.receive({ payload: { cameraSerial: 'PF-0001', fileName: e.fileName } });

    const red = statusWhen(backup, (x) => x.fill === 'red' && x.text === 'pfcam-backup.status.failing');
    let answer: BackupStatusMessage & { reqId?: number };
    let reqId = 0;
    do {
      reqId += 1;
      const id = reqId;
      const next = messageWhere<BackupStatusMessage & { reqId?: number }>(status, (m) => m.reqId === id);
      backup.receive({ action: 'drain-now', reqId: id });
      answer = await next;
    } while (answer.payload.consecutiveFailures < 2);
    await red;
    assert.equal(answer.topic, 'pfcam/backup-status');
    assert.equal(answer.payload.pendingCount, 6);
    assert.equal(answer.payload.failing, true);
    assert.ok(answer.payload.lastError);

    const reply = nextMessage<BackupStatusMessage>(status);
    backup.receive({ topic: 'status' });
    const stats = await reply;
    assert.equal(stats.topic, 'pfcam/backup-status');
    assert.equal(stats.payload.pendingCount, 6);
  });

  it('rebuilds the index of a new machine from the bucket on a rebuild message', async () => {
    s3 = await startFauxS3(BUCKET);
    const first = join(dir, 'site');
    const [event] = await seed(first, [{ fileName: 'rec-1', triggeredAt: '2026-05-06T07:08:09.000Z' }]);
    await helper.load(
      [storeNode, s3Node, backupNode],
      flow({ folder: first, endpoint: s3.endpoint }),
      credentials,
    );
    const backed = nextMessage(helper.getNode('done'));
    helper.getNode('backup').receive({ payload: { eventId: event!.id } });
    await backed;
    await helper.unload();

    const fresh = join(dir, 'central');
    await helper.load(
      [storeNode, s3Node, backupNode],
      flow({ folder: fresh, endpoint: s3.endpoint }),
      credentials,
    );
    const status = helper.getNode('status');
    const report = (async (): Promise<{ topic: string; payload: RebuildReport }> => {
      for (;;) {
        const m = await nextMessage<{ topic: string; payload: RebuildReport }>(status);
        if (m.topic === 'pfcam/backup-rebuild') return m;
      }
    })();
    helper.getNode('backup').receive({ action: 'rebuild', payload: { download: true } });
    const msg = await report;
    assert.equal(msg.payload.inserted, 1);
    assert.equal(msg.payload.downloaded, 1);
    await helper.unload();
    const store = await EventStore.open({
      databaseFile: join(fresh, 'db.sqlite'),
      mediaDir: join(fresh, 'media'),
    });
    try {
      const row = await store.getByFile('PF-0001', 'rec-1');
      assert.equal(row?.backupState, 'done');
      assert.equal(row?.videoSha256, event!.videoSha256);
      assert.ok(row?.videoPath);
    } finally {
      await store.close();
    }
  });

  it('refuses a message that names no recording, through done(err) with a red status', async () => {
    s3 = await startFauxS3(BUCKET);
    await helper.load([storeNode, s3Node, backupNode], flow({ endpoint: s3.endpoint }), credentials);
    const backup = helper.getNode('backup');
    const error = nextError(backup);
    backup.receive({ payload: { fileName: 'only-a-name' } });
    assert.match(String(await error), /pfcam-backup\.errors\.badRequest/);
    await statusWhen(
      backup,
      (s) => s.fill === 'red' && s.text === '@pfcam/node-red-pfcam/pfcam-camera:common.errors.badInput',
    );
  });

  it('reports an S3 configuration with one key only on the backup node, without starting', async () => {
    await helper.load([storeNode, s3Node, backupNode], flow({ endpoint: 'http://127.0.0.1:9' }), {
      s3: { accessKeyId: 'only-the-id' },
    });
    const backup = helper.getNode('backup');
    await statusWhen(
      backup,
      (s) => s.fill === 'red' && s.text === '@pfcam/node-red-pfcam/pfcam-camera:common.errors.s3Credentials',
    );
  });

  it('declares both S3 keys as password credentials, which Node-RED never sends to the editor', async () => {
    s3 = await startFauxS3(BUCKET);
    await helper.load([storeNode, s3Node, backupNode], flow({ endpoint: s3.endpoint }), credentials);
    const nodes = (helper as unknown as { _redNodes: { getCredentialDefinition(type: string): unknown } })
      ._redNodes;
    assert.deepEqual(nodes.getCredentialDefinition('pfcam-s3'), {
      accessKeyId: { type: 'password' },
      secretAccessKey: { type: 'password' },
    });
  });
});
