import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, symlink, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import archiveNode from '../../nodes/pfcam-archive/pfcam-archive';
import type { StoredRecordingMessage } from '../../lib/archive/messages';
import type { CameraEvent } from '../../lib/camera/types';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';
import { freePort } from '../helpers/node-red-process';
import { waitUntil } from '../helpers/wait-for';

type TestNode = ReturnType<typeof helper.getNode>;

const COMMON = '@pfcam/node-red-pfcam/pfcam-camera:common.';

function collect<T>(node: TestNode): T[] {
  const seen: T[] = [];
  node.on('input', (msg: T) => seen.push(msg));
  return seen;
}

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function lastStatus(node: TestNode): { fill?: string; shape?: string; text?: string } | undefined {
  const calls = (node.status as unknown as { args: { fill?: string; text?: string }[][] }).args;
  return calls.at(-1)?.[0];
}

/** Makes a folder refuse new entries: immutable for root (who ignores modes), read-only for anyone else. */
function lockFolder(path: string): Promise<void> {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['+i', path]);
    return Promise.resolve();
  }
  return chmod(path, 0o555);
}

function unlockFolder(path: string): Promise<void> {
  if (process.getuid?.() === 0) {
    execFileSync('chattr', ['-i', path]);
    return Promise.resolve();
  }
  return chmod(path, 0o755);
}

async function filesUnder(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe('pfcam-archive node', function () {
  let dir: string;
  let sim: SimulatedCamera;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-archive-node-'));
    sim = await startCamera({ seed: 21, recordings: 2, videoBytes: 300_000 });
  });

  afterEach(async () => {
    await helper.unload();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const databaseFile = (): string => join(dir, 'db.sqlite');
  const mediaDir = (): string => join(dir, 'media');

  function flow(archive: Partial<FlowNode> = {}, store: Partial<FlowNode> = {}): FlowNode[] {
    return [
      { id: 'flow', type: 'tab' },
      { id: 'cam', type: 'pfcam-camera', url: sim.url, probeInterval: 1, timeout: 5 },
      { id: 'store', type: 'pfcam-store', databaseFile: databaseFile(), mediaDir: mediaDir(), ...store },
      {
        id: 'archive',
        type: 'pfcam-archive',
        z: 'flow',
        store: 'store',
        retryInterval: 3600,
        recoverOnStart: false,
        wires: [['out']],
        ...archive,
      },
      { id: 'out', type: 'helper', z: 'flow' },
      { id: 'on-error', type: 'catch', z: 'flow', scope: ['archive'], uncaught: false, wires: [['errors']] },
      { id: 'errors', type: 'helper', z: 'flow' },
    ];
  }

  /** Records the simulator's recordings in the store (as pfcam-watch would) and returns their row ids. */
  async function discover(recordings: CameraEvent[] = sim.control.recordings()): Promise<number[]> {
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    try {
      const ids: number[] = [];
      for (const r of recordings) ids.push((await store.recordDiscovered(sim.serialNumber, r)).event.id);
      return ids;
    } finally {
      await store.close();
    }
  }

  async function withStore<T>(work: (store: EventStore) => Promise<T>): Promise<T> {
    const store = await EventStore.open({ databaseFile: databaseFile(), mediaDir: mediaDir() });
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }

  function videoRequests(fileName: string): number {
    return sim.control.requests().filter((r) => r.method === 'GET' && r.path === `/api/events/${fileName}`)
      .length;
  }

  it('downloads, verifies and indexes a recording, and passes the input message on as pfcam/recording', async () => {
    const [id] = await discover();
    const recording = sim.control.recordings()[0]!;
    await helper.load([cameraNode, storeNode, archiveNode], flow());
    const seen = collect<StoredRecordingMessage & { custom?: string }>(helper.getNode('out'));
    helper.getNode('archive').receive({ payload: { eventId: id }, custom: 'kept' });
    await until(() => seen.length === 1);
    const msg = seen[0]!;
    assert.equal(msg.topic, 'pfcam/recording');
    assert.equal(msg.custom, 'kept');
    const expected = sim.control.media(recording.fileName, 'video');
    assert.equal(msg.payload.sha256, expected.sha256);
    assert.equal(msg.payload.videoSize, expected.size);
    assert.equal(msg.payload.thumbSha256, sim.control.media(recording.fileName, 'thumbnail').sha256);
    assert.equal(msg.payload.cameraSerial, sim.serialNumber);
    assert.equal(msg.payload.fetched, true);
    assert.ok(!msg.payload.videoPath.startsWith('/'), 'paths are relative to the media folder');
    const row = await withStore((store) => store.get(id!));
    assert.equal(row?.state, 'stored');
    assert.equal(row?.videoSha256, expected.sha256);
  });

  it('passes an already stored recording on without downloading it again', async () => {
    const [id] = await discover();
    const fileName = sim.control.recordings()[0]!.fileName;
    await helper.load([cameraNode, storeNode, archiveNode], flow());
    const seen = collect<StoredRecordingMessage>(helper.getNode('out'));
    helper.getNode('archive').receive({ payload: { eventId: id } });
    await until(() => seen.length === 1);
    const requests = videoRequests(fileName);
    helper.getNode('archive').receive({ payload: { cameraSerial: sim.serialNumber, fileName } });
    await until(() => seen.length === 2);
    assert.equal(seen[1]!.payload.fetched, false);
    assert.equal(seen[1]!.payload.sha256, seen[0]!.payload.sha256);
    assert.equal(videoRequests(fileName), requests);
  });

  it('fetches at start, as new messages, what a previous run left pending', async () => {
    const ids = await discover();
    await helper.load([cameraNode, storeNode, archiveNode], flow({ recoverOnStart: true }));
    const seen = collect<StoredRecordingMessage>(helper.getNode('out'));
    await until(() => seen.length === 2);
    assert.deepEqual(seen.map((m) => m.payload.id).sort(), [...ids].sort());
  });

  it("fetches a reachable camera's recordings even when more than a scan's worth of older ones wait for a dead camera", async () => {
    await withStore(async (store) => {
      // Seeding only: 10,001 pending recordings of a camera that is never reached, older than the live ones.
      const cameraId = await store.upsertCamera('PF-DEAD');
      await store.db.run(
        `INSERT INTO events (camera_id, file_name, triggered_at, triggered_at_utc, vid_ext, thmb_ext)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         SELECT ?, 'dead-' || i, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z', '.mp4', '.jpg' FROM n`,
        [cameraId],
      );
    });
    await discover();
    const deadPort = await freePort(); // nothing listens there
    const nodes = flow({ recoverOnStart: true, retryInterval: 0.5 });
    nodes.push({
      id: 'dead',
      type: 'pfcam-camera',
      url: `http://127.0.0.1:${deadPort}`,
      probeInterval: 30,
      timeout: 2,
    });
    await helper.load([cameraNode, storeNode, archiveNode], nodes);
    const out = helper.getNode('out');
    const seen = collect<StoredRecordingMessage>(out);
    await waitUntil('both live recordings stored', out, 'input', () => seen.length === 2, 15_000);
    assert.deepEqual(
      seen.map((m) => m.payload.cameraSerial),
      [sim.serialNumber, sim.serialNumber],
    );
  });

  it('refuses a payload that names no recording through its failure path', async () => {
    await helper.load([cameraNode, storeNode, archiveNode], flow());
    const errors = collect<{ error: { message: string } }>(helper.getNode('errors'));
    helper.getNode('archive').receive({ payload: 'not a recording' });
    await until(() => errors.length === 1);
    assert.match(errors[0]!.error.message, /pfcam-archive\.errors\.badRequest/);
    assert.deepEqual(lastStatus(helper.getNode('archive')), {
      fill: 'red',
      shape: 'ring',
      text: `${COMMON}errors.badInput`,
    });
  });

  it('marks a recording the camera no longer has as gone and reports it', async () => {
    const [id] = await discover();
    sim.control.removeRecording(sim.control.recordings()[0]!.fileName);
    await helper.load([cameraNode, storeNode, archiveNode], flow());
    const errors = collect<{ error: { message: string } }>(helper.getNode('errors'));
    helper.getNode('archive').receive({ payload: { eventId: id } });
    await until(() => errors.length === 1);
    assert.equal(lastStatus(helper.getNode('archive'))?.text, `${COMMON}errors.recordingGone`);
    assert.equal((await withStore((store) => store.get(id!)))?.state, 'gone');
  });

  it('reports a full disk, leaves no stored row and no file, and stores the recording once there is room', async () => {
    const [id] = await discover();
    const row = await withStore((store) => store.get(id!));
    const paths = await withStore((store) => Promise.resolve(store.pathsFor(row!)));
    const part = join(mediaDir(), paths.videoPath + '.part');
    await mkdir(dirname(part), { recursive: true });
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    await symlink('/dev/full', part);
    await helper.load([cameraNode, storeNode, archiveNode], flow({}, { recoverOnStart: false }));
    const seen = collect<StoredRecordingMessage>(helper.getNode('out'));
    const errors = collect<{ error: { message: string } }>(helper.getNode('errors'));
    helper.getNode('archive').receive({ payload: { eventId: id } });
    await until(() => errors.length === 1);
    assert.equal(lastStatus(helper.getNode('archive'))?.text, `${COMMON}errors.diskFull`);
    const failed = await withStore((store) => store.get(id!));
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.videoSha256, null);
    assert.deepEqual(
      (await filesUnder(mediaDir())).filter((f) => !f.endsWith('.part')),
      [],
    );
    await rm(part, { force: true });
    helper.getNode('archive').receive({ payload: { eventId: id } });
    await until(() => seen.length === 1);
    assert.equal(seen[0]!.payload.sha256, sim.control.media(row!.fileName, 'video').sha256);
  });

  it('reports a media folder it may not write to, and leaves the row failed', async () => {
    const [id] = await discover();
    const cameraDir = join(mediaDir(), sim.serialNumber);
    await mkdir(cameraDir, { recursive: true });
    await lockFolder(cameraDir);
    try {
      await helper.load([cameraNode, storeNode, archiveNode], flow());
      const errors = collect<{ error: { message: string } }>(helper.getNode('errors'));
      helper.getNode('archive').receive({ payload: { eventId: id } });
      await until(() => errors.length === 1);
      assert.equal(lastStatus(helper.getNode('archive'))?.text, `${COMMON}errors.permission`);
      const row = await withStore((store) => store.get(id!));
      assert.equal(row?.state, 'failed');
      assert.match(row?.lastError ?? '', /^errors\.permission/);
    } finally {
      await unlockFolder(cameraDir);
    }
  });

  it('resumes interrupted downloads with Range and still stores the exact bytes', async () => {
    sim.control.setFaults({ truncateRate: 0.6 });
    const ids = await discover();
    await helper.load([cameraNode, storeNode, archiveNode], flow({ fetchThumbnail: false }));
    const seen = collect<StoredRecordingMessage>(helper.getNode('out'));
    for (const id of ids) helper.getNode('archive').receive({ payload: { eventId: id } });
    await until(() => seen.length === 2, 15_000);
    for (const msg of seen) {
      assert.equal(msg.payload.sha256, sim.control.media(msg.payload.fileName, 'video').sha256);
    }
    assert.ok(
      sim.control.requests().some((r) => typeof r.headers.range === 'string'),
      'at least one transfer resumed with a Range request',
    );
  });
  it('leaves no abort listener behind per camera lookup, however many lookups run', async () => {
    // Every 'abort' listener added to a signal during the test is traced, so that the signals that outlive a
    // lookup (the queue's, the node's) can be counted afterwards.
    const signals = new Set<AbortSignal>();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored as is in finally
    const add = AbortSignal.prototype.addEventListener;
    AbortSignal.prototype.addEventListener = function (
      this: AbortSignal,
      ...args: Parameters<typeof add>
    ): void {
      if (args[0] === 'abort') signals.add(this);
      add.apply(this, args);
    };
    try {
      // Recordings of a camera no flow node has: every fetch looks the serial up and waits on the probe of the
      // flow's only camera, whose serial number is unknown (its URL is refused, so its probe fails at once).
      const ids: number[] = [];
      await withStore(async (store) => {
        for (let i = 0; i < 25; i++) {
          const event = { ...sim.control.recordings()[0]!, fileName: `lookup-${i}` };
          ids.push((await store.recordDiscovered('PFC-NOT-HERE', event)).event.id);
        }
      });
      const nodes = flow().map((n) => (n.id === 'cam' ? { ...n, url: 'ftp://nowhere' } : n));
      await helper.load([cameraNode, storeNode, archiveNode], nodes);
      const errors = collect<{ error: { message: string } }>(helper.getNode('errors'));
      for (const id of ids) {
        helper.getNode('archive').receive({ payload: { eventId: id } });
        const before = errors.length;
        await until(() => errors.length > before);
      }
      assert.ok(
        errors.every((e) => /no pfcam-camera node .* PFC-NOT-HERE/.test(e.error.message)),
        'each lookup found no camera',
      );
      const left = [...signals].filter((s) => !s.aborted).map((s) => getEventListeners(s, 'abort').length);
      assert.ok(Math.max(0, ...left) <= 2, `abort listeners left on one signal: ${Math.max(0, ...left)}`);
    } finally {
      AbortSignal.prototype.addEventListener = add;
    }
  });
});
