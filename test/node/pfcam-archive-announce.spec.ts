/**
 * The hand-over of a stored recording to the alert path is durable: a recording the archive stored but whose
 * announcement never got through (the process stopped or crashed right after the row was marked stored) is
 * announced at the next start, and its alert is delivered exactly once.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import archiveNode from '../../nodes/pfcam-archive/pfcam-archive';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import notifyNode from '../../nodes/pfcam-notify/pfcam-notify';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import { Archiver } from '../../lib/archive/fetcher';
import { parseArchiveOptions } from '../../lib/archive/options';
import { CameraClient } from '../../lib/camera/camera-client';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';
import { waitFor } from '../helpers/wait-for';

type TestNode = ReturnType<typeof helper.getNode>;

interface ToastMsg {
  notification: { kind: string; id?: string };
  topic: string;
}
interface ReportMsg {
  payload: { notificationId: string; outcome: string };
}

/** The next message of `node` that satisfies `match`. */
function nextWhere<T>(node: TestNode, what: string, match: (msg: T) => boolean): Promise<T> {
  return waitFor<T>(
    what,
    (resolve) => {
      const onInput = (msg: T): void => {
        if (match(msg)) resolve(msg);
      };
      node.on('input', onInput);
      return () => node.off('input', onInput);
    },
    15_000,
  );
}

describe('pfcam-archive: announcements survive a stop or crash', function () {
  this.timeout(30_000);
  let dir: string;
  let sim: SimulatedCamera;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-archive-announce-'));
    sim = await startCamera({ seed: 61, recordings: 1, videoBytes: 20_000 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'db.sqlite');
  const mediaDir = (): string => join(dir, 'media');

  function flow(): FlowNode[] {
    return [
      { id: 'f1', type: 'tab' },
      { id: 'cam', type: 'pfcam-camera', url: sim.url, probeInterval: 1, timeout: 5 },
      { id: 'store', type: 'pfcam-store', databaseFile: databaseFile(), mediaDir: mediaDir() },
      {
        id: 'archive',
        type: 'pfcam-archive',
        z: 'f1',
        store: 'store',
        retryInterval: 3600,
        recoverOnStart: true,
        wires: [['n']],
      },
      {
        id: 'n',
        type: 'pfcam-notify',
        z: 'f1',
        store: 'store',
        site: 'Plant A',
        timeZone: 'UTC',
        cooldown: 0,
        retryDelay: 0.05,
        wires: [['toast'], ['report']],
      },
      { id: 'toast', type: 'helper', z: 'f1' },
      { id: 'report', type: 'helper', z: 'f1' },
    ];
  }

  it('announces at start a recording stored just before a stop, and alerts on it exactly once', async () => {
    const recording = sim.control.recordings()[0]!;
    const notificationId = `recording:${sim.serialNumber}:${recording.fileName}`;

    // The archive stores the recording, and the process ends before the announcement reached the flow.
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    const client = new CameraClient({ baseUrl: sim.url });
    try {
      const { event } = await store.recordDiscovered(sim.serialNumber, recording);
      const archiver = new Archiver({
        store,
        options: parseArchiveOptions({ recoverOnStart: false }),
        resolveCamera: () => Promise.resolve(client),
      });
      const { payload } = await archiver.archive({ eventId: event.id });
      assert.equal(payload.fetched, true);
      await archiver.close(); // stopped before passing it on
      assert.equal((await store.get(event.id))?.state, 'stored');
    } finally {
      await client.close();
      await store.close();
    }

    // Next start: the recording reaches the alert path.
    await helper.load([cameraNode, storeNode, archiveNode, notifyNode], flow());
    const toast = await nextWhere<ToastMsg>(
      helper.getNode('toast'),
      'the toast of the stored recording',
      (m) => m.notification.kind === 'recording',
    );
    assert.match(toast.topic, /recording/i);
    await helper.unload();

    // A start again within the settle time (the hand-over is not recorded yet): it is announced again, and
    // the alert path drops the repeat.
    await helper.load([cameraNode, storeNode, archiveNode, notifyNode], flow());
    const toasts: ToastMsg[] = [];
    helper.getNode('toast').on('input', (m: ToastMsg) => toasts.push(m));
    await nextWhere<ReportMsg>(
      helper.getNode('report'),
      'the report of the repeated announcement',
      (m) => m.payload.notificationId === notificationId && m.payload.outcome === 'duplicate',
    );
    await helper.unload();
    assert.deepEqual(toasts, []);

    const check = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    try {
      const rows = await check.db.all<{ channel: string }>(
        'SELECT channel FROM notify_outbox WHERE notification_id = ?',
        [notificationId],
      );
      assert.deepEqual(
        rows.map((r) => r.channel),
        ['dashboard'],
        'one delivery of the alert',
      );
    } finally {
      await check.close();
    }
  });

  it('records the hand-over once settled: a later start announces nothing again', async () => {
    const recording = sim.control.recordings()[0]!;
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    const client = new CameraClient({ baseUrl: sim.url });
    const archivers: Archiver[] = [];
    const archiver = (): Archiver => {
      const a = new Archiver({
        store,
        options: parseArchiveOptions({ recoverOnStart: true, retryInterval: 3600 }),
        resolveCamera: () => Promise.resolve(client),
        announceSettleMs: 10,
      });
      archivers.push(a);
      return a;
    };
    try {
      const { event } = await store.recordDiscovered(sim.serialNumber, recording);
      const first = archiver();
      const announced = waitFor<number[]>('the hand-over recorded', (resolve) => {
        first.on('announced', resolve);
        return () => first.off('announced', resolve);
      });
      const stored = waitFor<number>('the recording passed on', (resolve) => {
        const onStored = (p: { id: number }): void => resolve(p.id);
        first.on('stored', onStored);
        return () => first.off('stored', onStored);
      });
      first.start();
      assert.equal(await stored, event.id);
      assert.deepEqual(await announced, [event.id]);
      await first.close();
      assert.deepEqual(await store.listAnnouncePending(), []);

      const second = archiver();
      const passedOn: unknown[] = [];
      second.on('stored', (p) => passedOn.push(p));
      const scanned = waitFor<void>('the first scan', (resolve) => {
        const onScanned = (): void => resolve();
        second.on('scanned', onScanned);
        return () => second.off('scanned', onScanned);
      });
      second.start();
      await scanned;
      assert.deepEqual(passedOn, []);
    } finally {
      for (const a of archivers) await a.close();
      await client.close();
      await store.close();
    }
  });
});
