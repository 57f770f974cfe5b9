import { strict as assert } from 'node:assert';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import { isCameraConfigNode } from '../../nodes/pfcam-camera/camera-node';
import retentionNode, { type RetentionReportMessage } from '../../nodes/pfcam-retention/pfcam-retention';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import { EventStore, type EventRecord } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper, nextMessage, type FlowNode } from '../helpers/node-red';
import { freePort } from '../helpers/node-red-process';
import {
  addStoredRecording,
  daysAgo,
  nextError,
  statusWhen,
  type RecordingSpec,
} from '../integration/backup-fixtures';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('pfcam-retention node', function () {
  this.timeout(20_000);
  let dir: string;
  let sim: SimulatedCamera | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-retention-node-'));
  });

  afterEach(async () => {
    await helper.unload();
    await sim?.stop();
    sim = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'db.sqlite');
  const mediaDir = (): string => join(dir, 'media');

  async function seed(specs: (RecordingSpec & { backedUp?: boolean })[]): Promise<EventRecord[]> {
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    try {
      const out: EventRecord[] = [];
      for (const spec of specs) {
        const event = await addStoredRecording(store, spec);
        if (spec.backedUp)
          await store.db.run("UPDATE events SET backup_state = 'done' WHERE id = ?", [event.id]);
        out.push(event);
      }
      return out;
    } finally {
      await store.close();
    }
  }

  function flow(retention: Record<string, unknown>, extra: FlowNode[] = []): FlowNode[] {
    return [
      { id: 'store', type: 'pfcam-store', databaseFile: databaseFile(), mediaDir: mediaDir() },
      {
        id: 'retention',
        type: 'pfcam-retention',
        store: 'store',
        intervalMinutes: 0,
        wires: [['out']],
        ...retention,
      },
      { id: 'out', type: 'helper' },
      ...extra,
    ];
  }

  const videoFile = (e: EventRecord): string => join(mediaDir(), e.videoPath!);

  it('removes recordings past the age limit on input and answers with the report', async () => {
    const [old, young] = await seed([
      { fileName: 'old', triggeredAt: daysAgo(45) },
      { fileName: 'young', triggeredAt: daysAgo(1) },
    ]);
    await helper.load([storeNode, retentionNode], flow({ maxAgeDays: 30 }));
    const out = helper.getNode('out');
    const reply = nextMessage<RetentionReportMessage & { tag?: string }>(out);
    helper.getNode('retention').receive({ tag: 'mine', payload: 'run' });
    const msg = await reply;
    assert.equal(msg.tag, 'mine');
    assert.equal(msg.topic, 'pfcam/retention');
    assert.equal(msg.payload.removed, 1);
    assert.equal(msg.payload.freedBytes, old!.videoSize! + old!.thumbSize!);
    assert.deepEqual(msg.payload.removedByReason, { age: 1, size: 0, disk: 0 });
    assert.equal(msg.payload.deletedOnCamera, 0);
    assert.equal(await exists(videoFile(old!)), false);
    assert.equal(await exists(videoFile(young!)), true);
    await statusWhen(
      helper.getNode('retention'),
      (s) => s.fill === 'green' && s.text === 'pfcam-retention.status.done',
    );
  });

  it('only reports in a dry run asked for by the message, with the limits it carries', async () => {
    const [a, b] = await seed([
      { fileName: 'a', triggeredAt: daysAgo(5), flagged: true },
      { fileName: 'b', triggeredAt: daysAgo(4) },
    ]);
    await helper.load([storeNode, retentionNode], flow({ maxAgeDays: 30 }));
    const reply = nextMessage<RetentionReportMessage>(helper.getNode('out'));
    helper.getNode('retention').receive({ payload: { dryRun: true, maxAgeDays: 2 } });
    const msg = await reply;
    assert.equal(msg.payload.dryRun, true);
    assert.equal(msg.payload.removed, 1);
    assert.deepEqual(msg.payload.kept, { flagged: 1, notBackedUp: 0 });
    assert.equal(await exists(videoFile(a!)), true);
    assert.equal(await exists(videoFile(b!)), true);
    await statusWhen(helper.getNode('retention'), (s) => s.text === 'pfcam-retention.status.dryRun');
  });

  it('refuses an unknown override through done(err), naming it, and removes nothing', async () => {
    const [old] = await seed([{ fileName: 'old', triggeredAt: daysAgo(45) }]);
    await helper.load([storeNode, retentionNode], flow({ maxAgeDays: 30 }));
    const retention = helper.getNode('retention');
    const error = nextError(retention);
    retention.receive({ payload: { maxAge: 1 } });
    assert.match(String(await error), /maxAge/);
    await statusWhen(
      retention,
      (s) =>
        s.fill === 'red' && s.text === '@pfcam/node-red-pfcam/pfcam-camera:common.errors.retentionOverride',
    );
    assert.equal(await exists(videoFile(old!)), true);
  });

  it('runs after deploy and then on its interval, sending a report each time', async () => {
    await seed([{ fileName: 'old', triggeredAt: daysAgo(45) }]);
    // 0.002 minutes: 120 ms
    await helper.load([storeNode, retentionNode], flow({ maxAgeDays: 30, intervalMinutes: 0.002 }));
    const out = helper.getNode('out');
    const first = await nextMessage<RetentionReportMessage>(out);
    assert.equal(first.payload.removed, 1);
    const second = await nextMessage<RetentionReportMessage>(out);
    assert.equal(second.payload.removed, 0);
  });

  it('deletes durable recordings on the camera found by its serial number, a recording already gone counting as done', async () => {
    sim = await startCamera({ seed: 31, recordings: 3, videoBytes: 10_000 });
    const onCamera = sim.control.recordings();
    const serial = sim.serialNumber;
    await seed(
      onCamera.map((r, i) => ({
        serial,
        fileName: r.fileName,
        triggeredAt: daysAgo(3 - i),
        backedUp: i < 2, // the third is not backed up yet
      })),
    );
    sim.control.removeRecording(onCamera[0]!.fileName); // the camera recycled it already

    await helper.load(
      [storeNode, cameraNode, retentionNode],
      flow({ deleteOnCamera: true, requireBackup: true }, [
        { id: 'cam', type: 'pfcam-camera', url: sim.url, probeInterval: 30, timeout: 5 },
      ]),
    );
    const cam: unknown = helper.getNode('cam');
    assert.ok(isCameraConfigNode(cam));
    if (cam.serialNumber === undefined) {
      await new Promise<void>((resolve) => {
        const listener = (): void => {
          if (cam.serialNumber === undefined) return;
          cam.health.off('change', listener);
          resolve();
        };
        cam.health.on('change', listener);
      });
    }

    const reply = nextMessage<RetentionReportMessage>(helper.getNode('out'));
    helper.getNode('retention').receive({ payload: {} });
    const msg = await reply;
    assert.equal(msg.payload.deletedOnCamera, 2);
    assert.equal(msg.payload.alreadyGoneOnCamera, 1);
    assert.equal(msg.payload.removed, 0);
    const left = sim.control.recordings().map((r) => r.fileName);
    assert.deepEqual(left, [onCamera[2]!.fileName]);
    assert.equal(
      sim.control.requests().filter((r) => r.method === 'DELETE').length,
      2,
      'one DELETE per durable recording',
    );

    // a second run sends nothing more to the camera
    sim.control.clearRequests();
    const again = nextMessage<RetentionReportMessage>(helper.getNode('out'));
    helper.getNode('retention').receive({ payload: {} });
    assert.equal((await again).payload.deletedOnCamera, 0);
    assert.equal(sim.control.requests().filter((r) => r.method === 'DELETE').length, 0);
  });

  it('deletes on a reachable camera even when more than a batch of older recordings wait for a dead one', async () => {
    sim = await startCamera({ seed: 32, recordings: 3, videoBytes: 10_000 });
    const onCamera = sim.control.recordings();
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    try {
      // Seeding only: no fsync per row.
      await store.db.exec('PRAGMA synchronous = OFF');
      // 600 older recordings of a camera that is never reached (more than one batch of 500).
      for (let i = 0; i < 600; i++) {
        await addStoredRecording(store, {
          serial: 'PF-DEAD',
          fileName: `dead-${i}`,
          triggeredAt: daysAgo(30),
          videoBytes: 16,
          thumbBytes: 0,
        });
      }
      for (const [i, r] of onCamera.entries()) {
        await addStoredRecording(store, {
          serial: sim.serialNumber,
          fileName: r.fileName,
          triggeredAt: daysAgo(3 - i),
        });
      }
    } finally {
      await store.close();
    }

    const deadPort = await freePort(); // nothing listens there
    await helper.load(
      [storeNode, cameraNode, retentionNode],
      flow({ deleteOnCamera: true, requireBackup: false }, [
        {
          id: 'dead',
          type: 'pfcam-camera',
          url: `http://127.0.0.1:${deadPort}`,
          probeInterval: 30,
          timeout: 2,
        },
        { id: 'cam', type: 'pfcam-camera', url: sim.url, probeInterval: 30, timeout: 5 },
      ]),
    );
    const cam: unknown = helper.getNode('cam');
    assert.ok(isCameraConfigNode(cam));
    if (cam.serialNumber === undefined) {
      await new Promise<void>((resolve) => {
        const listener = (): void => {
          if (cam.serialNumber === undefined) return;
          cam.health.off('change', listener);
          resolve();
        };
        cam.health.on('change', listener);
      });
    }

    const reply = nextMessage<RetentionReportMessage>(helper.getNode('out'));
    helper.getNode('retention').receive({ payload: {} });
    const msg = await reply;
    assert.equal(msg.payload.deletedOnCamera, 3);
    assert.equal(msg.payload.cameraUnavailable, 600);
    assert.deepEqual(sim.control.recordings(), []);
  });
});
