import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraApi, ListEventsOptions, RecordingFeedHandlers } from '../../lib/camera/camera-api';
import type { CameraEvent, SystemInfo } from '../../lib/camera/types';
import type { NewRecordingPayload } from '../../lib/archive/messages';
import { parseWatchOptions } from '../../lib/archive/options';
import { CameraWatcher } from '../../lib/archive/watcher';
import { Metrics } from '../../lib/metrics/metrics';
import { EventStore } from '../../lib/store/event-store';

/** A camera as the watcher sees it through CameraApi: a list, an SSE feed the test drives, system info. */
class FakeCamera {
  events: CameraEvent[] = [];
  listCalls = 0;
  listError: Error | undefined;
  feeds: RecordingFeedHandlers[] = [];
  private n = 0;

  constructor(
    public serialNumber: string,
    private readonly sse: 'on' | 'unsupported' = 'on',
  ) {}

  add(fileName = `rec-${++this.n}`): CameraEvent {
    const event: CameraEvent = {
      fileName,
      eventName: null,
      triggeredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.n)).toISOString(),
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: 10,
      age: 0,
      dir: 'unnamed',
    };
    this.events.unshift(event);
    return event;
  }

  /** Pushes a recording on the live feed (it is in the list too). */
  push(fileName?: string): CameraEvent {
    const event = this.add(fileName);
    for (const feed of this.feeds) feed.onRecording(event);
    return event;
  }

  get client(): CameraApi {
    const api: Partial<CameraApi> = {
      baseUrl: `http://camera-${this.serialNumber}`,
      getSystemInfo: () =>
        Promise.resolve({ serialNumber: this.serialNumber, name: 'Gate', timezone: 'UTC' } as SystemInfo),
      listEvents: (_options?: ListEventsOptions) => {
        this.listCalls++;
        return this.listError ? Promise.reject(this.listError) : Promise.resolve([...this.events]);
      },
      subscribeRecordings: (handlers) => {
        let connected = false;
        if (this.sse === 'unsupported') {
          setImmediate(() => handlers.onUnsupported?.());
        } else {
          this.feeds.push(handlers);
          setImmediate(() => {
            connected = true;
            handlers.onOpen?.();
          });
        }
        return {
          get connected() {
            return connected;
          },
          close: () => {
            this.feeds = this.feeds.filter((f) => f !== handlers);
          },
        };
      },
    };
    return api as CameraApi;
  }
}

/** Resolves once `predicate` holds (checked every 10 ms), or fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('archive watcher', () => {
  let dir: string;
  let store: EventStore;
  const watchers: CameraWatcher[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-watcher-'));
    store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media') });
  });

  afterEach(async () => {
    for (const w of watchers.splice(0)) await w.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function watch(camera: FakeCamera, raw: { useSse?: boolean; reconcileInterval?: number } = {}) {
    const watcher = new CameraWatcher({
      client: camera.client,
      store,
      options: parseWatchOptions({ reconcileInterval: 60, ...raw }),
    });
    const seen: NewRecordingPayload[] = [];
    watcher.on('recording', (p) => seen.push(p));
    watchers.push(watcher);
    watcher.start();
    return { watcher, seen };
  }

  it('announces the recordings already on the camera once, oldest first, with their store ids', async () => {
    const camera = new FakeCamera('S-1');
    camera.add('a');
    camera.add('b');
    const { watcher, seen } = watch(camera);
    await until(() => seen.length === 2);
    await watcher.settled();
    assert.deepEqual(
      seen.map((p) => p.fileName),
      ['a', 'b'],
    );
    const row = await store.getByFile('S-1', 'a');
    assert.equal(seen[0]!.eventId, row!.id);
    assert.equal(seen[0]!.cameraSerial, 'S-1');
    assert.equal(seen[0]!.cameraName, 'Gate');
    assert.equal(seen[0]!.triggeredAtUtc, row!.triggeredAtUtc);
  });

  it("measures the discovery latency of each new row from the camera's age of the recording, once", async () => {
    const metrics = new Metrics({ cameras: { list: () => [] }, processMetrics: false });
    const camera = new FakeCamera('S-1');
    camera.add('old').age = 7200;
    camera.add('new').age = 20;
    const watcher = new CameraWatcher({
      client: camera.client,
      store,
      options: parseWatchOptions({ reconcileInterval: 60 }),
      metrics,
    });
    watchers.push(watcher);
    const seen: string[] = [];
    watcher.on('recording', (p) => seen.push(p.fileName));
    watcher.start();
    await until(() => seen.length === 2);
    await watcher.reconcileNow();
    const text = await metrics.scrape();
    assert.match(text, /^pfcam_discovery_latency_seconds_count 2$/m, 'the list seen again adds nothing');
    assert.match(text, /^pfcam_discovery_latency_seconds_bucket\{le="30"\} 1$/m);
    assert.match(text, /^pfcam_discovery_latency_seconds_bucket\{le="3600"\} 1$/m);
    assert.match(text, /^pfcam_discovery_latency_seconds_bucket\{le="14400"\} 2$/m);
  });

  it('announces a recording seen on the feed and again in the list only once', async () => {
    const camera = new FakeCamera('S-1');
    const { watcher, seen } = watch(camera);
    await until(() => camera.feeds.length === 1 && watcher.status.state === 'live');
    // the first reconcile done, so that the recording reaches the watcher by the feed first
    await watcher.settled();
    camera.push('live-1');
    await until(() => seen.length === 1);
    await watcher.reconcileNow();
    await watcher.reconcileNow();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.source, 'sse');
  });

  it('never announces again after a restart, and announces what arrived while it was down', async () => {
    const camera = new FakeCamera('S-1');
    camera.add('a');
    const first = watch(camera);
    await until(() => first.seen.length === 1);
    await first.watcher.stop();
    camera.add('b');
    const second = watch(camera);
    await until(() => second.seen.length === 1);
    await second.watcher.reconcileNow();
    assert.deepEqual(
      second.seen.map((p) => p.fileName),
      ['b'],
    );
  });

  it('keeps cameras apart: the same file name on two cameras is two recordings', async () => {
    const one = new FakeCamera('S-1');
    const two = new FakeCamera('S-2');
    one.add('same');
    two.add('same');
    const a = watch(one);
    const b = watch(two);
    await until(() => a.seen.length === 1 && b.seen.length === 1);
    assert.notEqual(a.seen[0]!.eventId, b.seen[0]!.eventId);
    assert.equal((await store.stats()).events, 2);
  });

  it('catches up through the list what was recorded while the feed was down, on reconnect', async () => {
    const camera = new FakeCamera('S-1');
    const { watcher, seen } = watch(camera);
    await until(() => camera.feeds.length === 1 && watcher.status.state === 'live');
    const feed = camera.feeds[0]!;
    feed.onDisconnect?.(new Error('dropped'));
    assert.equal(watcher.status.state, 'polling');
    camera.add('missed-1');
    camera.add('missed-2');
    const listed = camera.listCalls;
    feed.onOpen?.();
    await until(() => seen.length === 2);
    assert.ok(camera.listCalls > listed, 'a reconnect reconciles with the list');
    assert.deepEqual(
      seen.map((p) => [p.fileName, p.source]),
      [
        ['missed-1', 'list'],
        ['missed-2', 'list'],
      ],
    );
  });

  it('polls the list at its interval when the camera has no feed', async () => {
    const camera = new FakeCamera('S-1', 'unsupported');
    const { watcher, seen } = watch(camera, { reconcileInterval: 0.05 });
    await until(() => watcher.status.state === 'polling');
    camera.add('polled');
    await until(() => seen.length === 1);
    assert.equal(seen[0]!.source, 'list');
  });

  it('reports a failing list as offline, retries, and recovers without losing recordings', async () => {
    const camera = new FakeCamera('S-1');
    camera.listError = new Error('camera unreachable');
    const { watcher, seen } = watch(camera, { useSse: false, reconcileInterval: 0.05 });
    await until(() => watcher.status.state === 'offline');
    assert.equal(watcher.status.lastError, 'camera unreachable');
    camera.add('after');
    camera.listError = undefined;
    await until(() => seen.length === 1);
    assert.equal(watcher.status.state, 'polling');
  });

  it('reports a failing list once per outage and interval, with the failures it did not report', async () => {
    const camera = new FakeCamera('S-1');
    camera.listError = new Error('malformed JSON in the event list');
    const watcher = new CameraWatcher({
      client: camera.client,
      store,
      options: parseWatchOptions({ reconcileInterval: 60, useSse: false }),
      problemIntervalMs: 60_000,
    });
    watchers.push(watcher);
    const problems: { error: string; suppressed: number }[] = [];
    watcher.on('listProblem', (p) => problems.push(p));
    watcher.start();
    await until(() => camera.listCalls >= 1);
    await watcher.settled();
    for (let i = 0; i < 3; i++) await watcher.reconcileNow();
    assert.ok(camera.listCalls >= 4);
    assert.deepEqual(problems, [{ error: 'malformed JSON in the event list', suppressed: 0 }]);
    // a success ends the outage: the next failure is reported at once
    camera.listError = undefined;
    await watcher.reconcileNow();
    camera.listError = new Error('stalled');
    await watcher.reconcileNow();
    assert.deepEqual(
      problems.map((p) => p.error),
      ['malformed JSON in the event list', 'stalled'],
    );
  });

  it('stops announcing and stops listing once stopped', async () => {
    const camera = new FakeCamera('S-1');
    const { watcher, seen } = watch(camera, { useSse: false, reconcileInterval: 0.05 });
    await until(() => camera.listCalls >= 1);
    await watcher.stop();
    const calls = camera.listCalls;
    camera.add('late');
    await watcher.reconcileNow();
    // A second camera on the same interval reconciles three times meanwhile: time passed, the stopped one slept.
    const other = new FakeCamera('S-2');
    watch(other, { useSse: false, reconcileInterval: 0.05 });
    await until(() => other.listCalls >= 3);
    assert.equal(camera.listCalls, calls);
    assert.equal(seen.length, 0);
    assert.equal(watcher.status.state, 'stopped');
  });

  it('spreads the first timed reconciliation of watchers started together over the second half of the interval', async () => {
    // Two cameras started in the same instant: the one started second draws the earlier point of the spread,
    // so it lists again first (with one fixed period for every watcher, they would list in their start order,
    // together, for as long as they run).
    const late = new FakeCamera('S-LATE');
    const early = new FakeCamera('S-EARLY');
    const order: string[] = [];
    for (const [camera, random] of [
      [late, () => 0.99],
      [early, () => 0],
    ] as const) {
      const watcher = new CameraWatcher({
        client: camera.client,
        store,
        options: parseWatchOptions({ useSse: false, reconcileInterval: 0.6 }),
        random,
      });
      watcher.on('reconciled', () => {
        if (camera.listCalls === 2) order.push(camera.serialNumber);
      });
      watchers.push(watcher);
      watcher.start();
    }
    await until(() => order.length === 2);
    assert.deepEqual(order, ['S-EARLY', 'S-LATE']);
  });
});
