/**
 * The watcher against a camera listing thousands of recordings: a real simulator over HTTP, the camera client,
 * a real SQLite store in a temp dir. Cost is proved by counting work (transactions, queue steps), never by time.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FetchQueue } from '../../lib/archive/fetch-queue';
import type { NewRecordingPayload } from '../../lib/archive/messages';
import { parseWatchOptions } from '../../lib/archive/options';
import { CameraWatcher } from '../../lib/archive/watcher';
import { DISCOVER_BATCH, EventStore } from '../../lib/store/event-store';
import { Rig, waitFor } from './client-fixtures';

/** Counts the transactions a store opens (its real database, only counted). */
function countTransactions(store: EventStore): { readonly count: number } {
  const db = store.db;
  const original = db.transaction.bind(db);
  const counter = { count: 0 };
  db.transaction = (work) => {
    counter.count++;
    return original(work);
  };
  return counter;
}

describe('watching a camera with a huge list', function () {
  this.timeout(60_000);
  const rig = new Rig();
  let dir: string;
  let store: EventStore;
  const watchers: CameraWatcher[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-large-list-'));
    store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media') });
  });

  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((w) => w.stop()));
    await rig.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function watcher(client: ReturnType<Rig['client']>, extra: { knownLimit?: number } = {}): CameraWatcher {
    const w = new CameraWatcher({
      client,
      store,
      options: parseWatchOptions({ useSse: false, reconcileInterval: 3600 }),
      ...extra,
    });
    watchers.push(w);
    return w;
  }

  function reconciled(w: CameraWatcher): Promise<{ ok: boolean; listed: number; announced: number }> {
    return waitFor(
      'a reconciliation',
      (resolve) => {
        w.on('reconciled', resolve);
        return () => w.off('reconciled', resolve);
      },
      30_000,
    );
  }

  it('records a list of thousands in batched transactions, a number linear in the list, each once', async () => {
    const listed = 3 * DISCOVER_BATCH + 7;
    const camera = await rig.camera({ recordings: listed });
    const transactions = countTransactions(store);
    const w = watcher(rig.client(camera));
    const seen: NewRecordingPayload[] = [];
    w.on('recording', (r) => seen.push(r));
    const first = reconciled(w);
    w.start();
    const result = await first;
    assert.equal(result.ok, true);
    assert.equal(result.listed, listed);
    assert.equal(seen.length, listed, 'every recording announced');
    assert.equal(new Set(seen.map((r) => r.fileName)).size, listed, 'each once');
    // One camera upsert, then one transaction per batch: not one per recording.
    assert.ok(
      transactions.count <= Math.ceil(listed / DISCOVER_BATCH) + 2,
      `${transactions.count} transactions for ${listed} recordings`,
    );
    const rows = await store.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM events');
    assert.equal(rows?.n, listed);
  });

  it('queues tens of thousands of downloads of one camera with work linear in their number', () => {
    const queue = new FetchQueue<void>({ overall: 4, perKey: 2 });
    const never = (): Promise<void> => new Promise<void>(() => undefined);
    const jobs = 20_000;
    for (let i = 0; i < jobs; i++) queue.push(String(i), 'one-camera', never).catch(() => undefined);
    assert.equal(queue.active, 2);
    assert.equal(queue.size, jobs);
    // A walk over the waiting jobs per push would be about jobs^2 / 2 steps.
    assert.ok(queue.counters.inspected <= 2 * jobs, `${queue.counters.inspected} steps for ${jobs} jobs`);
    void queue.close(0);
  });
  it('remembers at most its limit of file names, the store staying the truth for the others', async () => {
    const camera = await rig.camera({ recordings: 1200 });
    const w = watcher(rig.client(camera), { knownLimit: 300 });
    const seen: NewRecordingPayload[] = [];
    w.on('recording', (r) => seen.push(r));
    const first = reconciled(w);
    w.start();
    assert.equal((await first).announced, 1200);
    assert.equal(w.knownCount, 300);
    // A new recording: only it is announced, the 900 let go are found in the store.
    const added = camera.control.addRecording({});
    await w.reconcileNow();
    assert.equal(w.knownCount, 300);
    assert.deepEqual(
      seen.slice(1200).map((r) => r.fileName),
      [added.fileName],
    );
  });
  it('does no parsing and no store work when the list did not change between polls', async () => {
    const camera = await rig.camera({ recordings: 50 });
    const calls = { recordDiscovered: 0, recordDiscoveredMany: 0 };
    for (const name of ['recordDiscovered', 'recordDiscoveredMany'] as const) {
      const original = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls[name]++;
        return original(...args);
      };
    }
    // A list longer than what the watcher remembers: only the skip saves the store lookups.
    const w = watcher(rig.client(camera), { knownLimit: 20 });
    const results: { announced: number; unchanged?: boolean }[] = [];
    w.on('reconciled', (r) => results.push(r));
    const first = reconciled(w);
    w.start();
    assert.equal((await first).announced, 50);
    const afterFirst = { ...calls };
    for (let i = 0; i < 3; i++) await w.reconcileNow();
    assert.deepEqual(calls, afterFirst, 'no store call for an unchanged list');
    assert.deepEqual(
      results.slice(1).map((r) => r.unchanged),
      [true, true, true],
    );
    const added = camera.control.addRecording({});
    const seen: NewRecordingPayload[] = [];
    w.on('recording', (r) => seen.push(r));
    await w.reconcileNow();
    assert.equal(calls.recordDiscoveredMany, afterFirst.recordDiscoveredMany + 1);
    assert.deepEqual(
      seen.map((r) => r.fileName),
      [added.fileName],
    );
  });
});
