/**
 * The `pfcam-store` config node closes its database only after the nodes using it finished their work: Node-RED
 * closes every node of a stop or redeploy at once, and a store closed under a busy archive or backup made their
 * last writes fail ("database is closed").
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import archiveNode from '../../nodes/pfcam-archive/pfcam-archive';
import backupNode from '../../nodes/pfcam-backup/pfcam-backup';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import s3Node from '../../nodes/pfcam-s3/pfcam-s3';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import { isStoreHandle, type StoreHandle } from '../../nodes/pfcam-store/store-handle';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';
import { waitFor } from '../helpers/wait-for';
import { startFauxS3, type FauxS3 } from '../integration/backup-fixtures';

const BUCKET = 'close-archive';

/** A store user that never deregisters (a node whose close hangs or forgets it). */
function stuckUserNode(RED: NodeAPI): void {
  function TestStuckUser(this: Node, def: NodeDef & { store: string }): void {
    RED.nodes.createNode(this, def);
    const handle = RED.nodes.getNode(def.store);
    if (isStoreHandle(handle)) handle.register(this);
  }
  RED.nodes.registerType('test-stuck-user', TestStuckUser);
}

interface LogEntry {
  level?: number;
  type?: string;
  msg?: unknown;
}

/** Every log line Node-RED wrote since the flows were loaded, as text. */
function logLines(): string[] {
  const spy = helper.log() as unknown as { args: LogEntry[][] };
  return spy.args.map(([entry]) => `${entry?.type ?? ''}: ${String(entry?.msg)}`);
}

describe('pfcam-store close', function () {
  this.timeout(30_000);
  let dir: string;
  let sim: SimulatedCamera | undefined;
  let s3: FauxS3 | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-store-close-'));
  });

  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await sim?.stop();
    sim = undefined;
    await s3?.stop();
    s3 = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'db.sqlite');
  const mediaDir = (): string => join(dir, 'media');

  for (const how of ['stop', 'redeploy'] as const) {
    it(`closes the database after a busy archive and backup ended (${how}): no "database is closed", no stored row without its files`, async () => {
      // Slow downloads: several are under way when the flow stops.
      sim = await startCamera({
        seed: 5,
        recordings: 24,
        videoBytes: 120_000,
        faults: { bandwidthBytesPerSec: 600_000 },
      });
      s3 = await startFauxS3(BUCKET);
      const seeded = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
      try {
        for (const r of sim.control.recordings()) await seeded.recordDiscovered(sim.serialNumber, r);
      } finally {
        await seeded.close();
      }
      const flow: FlowNode[] = [
        { id: 'flow', type: 'tab' },
        { id: 'cam', type: 'pfcam-camera', url: sim.url, probeInterval: 1, timeout: 5 },
        { id: 'store', type: 'pfcam-store', databaseFile: databaseFile(), mediaDir: mediaDir() },
        {
          id: 's3',
          type: 'pfcam-s3',
          endpoint: s3.endpoint,
          region: 'us-east-1',
          bucket: BUCKET,
          prefix: 'site',
          forcePathStyle: true,
        },
        {
          id: 'archive',
          type: 'pfcam-archive',
          z: 'flow',
          store: 'store',
          concurrency: 4,
          perCamera: 4,
          retryInterval: 3600,
          recoverOnStart: true,
          wires: [['backup']],
        },
        {
          id: 'backup',
          type: 'pfcam-backup',
          z: 'flow',
          store: 'store',
          s3: 's3',
          backupAll: true,
          wires: [['backed'], []],
        },
        { id: 'backed', type: 'helper', z: 'flow' },
      ];
      await helper.load([cameraNode, storeNode, s3Node, archiveNode, backupNode], flow, {
        s3: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      // Busy: recordings are being downloaded and backed up when the stop comes.
      const backed = helper.getNode('backed');
      await waitFor<void>(
        'two recordings backed up',
        (resolve) => {
          let n = 0;
          const onMessage = (): void => {
            if (++n >= 2) resolve();
          };
          backed.on('input', onMessage);
          return () => backed.off('input', onMessage);
        },
        20_000,
      );
      const handle = helper.getNode('store') as unknown as StoreHandle;
      const events = await handle.ready();

      if (how === 'stop') {
        await helper.clearFlows();
      } else {
        // A changed store restarts it and every node using it; the new store opens the same file.
        const changed = flow.map((n) => (n.id === 'store' ? { ...n, name: 'renamed' } : n));
        await helper.setFlows(changed, 'nodes', { s3: { accessKeyId: 'test', secretAccessKey: 'test' } });
        assert.notEqual(await (helper.getNode('store') as unknown as StoreHandle).ready(), events);
        await helper.clearFlows();
      }

      assert.equal(events.isOpen, false, 'the store is closed once the flows stopped');
      const closedErrors = logLines().filter((line) => /database is closed|store is closed/i.test(line));
      assert.deepEqual(closedErrors, []);
      const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
      try {
        const rows = await store.db.all<{ video_path: string | null; thumb_path: string | null }>(
          "SELECT video_path, thumb_path FROM events WHERE state = 'stored'",
        );
        assert.ok(rows.length >= 2);
        // The downloads the stop aborted ended as failed (their last write landed), none is left `fetching`.
        const states = await store.db.all<{ state: string; n: number }>(
          'SELECT state, count(*) AS n FROM events GROUP BY state ORDER BY state',
        );
        assert.equal(
          states.find((s) => s.state === 'fetching'),
          undefined,
          JSON.stringify(states),
        );
        for (const row of rows) {
          assert.ok(row.video_path, 'a stored row names its video');
          assert.ok((await stat(store.media.resolve(row.video_path))).isFile());
          if (row.thumb_path) assert.ok((await stat(store.media.resolve(row.thumb_path))).isFile());
        }
      } finally {
        await store.close();
      }
    });
  }

  it('waits for its users only up to the configured limit, then closes and says so', async () => {
    helper.settings({ pfcam: { storeCloseTimeout: 300 } });
    await helper.load(
      [storeNode, stuckUserNode],
      [
        { id: 'store', type: 'pfcam-store', databaseFile: databaseFile(), mediaDir: mediaDir() },
        { id: 'stuck', type: 'test-stuck-user', store: 'store' },
      ],
    );
    const events = await (helper.getNode('store') as unknown as StoreHandle).ready();
    await helper.clearFlows();
    assert.equal(events.isOpen, false);
    assert.ok(
      logLines().some((line) => line.startsWith('pfcam-store: pfcam-store.log.closeTimeout')),
      logLines().join('\n'),
    );
  });
});
