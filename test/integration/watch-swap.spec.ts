/**
 * A camera unit swapped behind the same address (a replaced device keeps the site's URL): the watcher files the
 * new unit's recordings under the new unit's serial number, never under the old one's.
 */
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewRecordingPayload } from '../../lib/archive/messages';
import { parseWatchOptions } from '../../lib/archive/options';
import { CameraWatcher } from '../../lib/archive/watcher';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { waitFor, waitUntil } from '../helpers/wait-for';
import { FAST } from './client-fixtures';
import { CameraClient } from '../../lib/camera/camera-client';

/**
 * A TCP relay on 127.0.0.1 standing for the site's address: forwards to one camera's port, can be pointed at
 * another, drop every connection, and hold new connections (emitting `held` with each one's first bytes) until
 * released.
 */
class Relay extends EventEmitter {
  private readonly sockets = new Set<Socket>();
  private held: { client: Socket; first: Buffer }[] = [];
  private holding = false;

  private constructor(
    private readonly server: Server,
    private targetPort: number,
  ) {
    super();
  }

  static async start(targetPort: number): Promise<Relay> {
    const server = createServer();
    const relay = new Relay(server, targetPort);
    server.on('connection', (client) => relay.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return relay;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** New connections go to `port`; every open one is dropped; new ones wait for `release()`. */
  swapTo(port: number): void {
    this.targetPort = port;
    this.holding = true;
    for (const s of this.sockets) s.destroy();
  }

  release(): void {
    this.holding = false;
    for (const { client, first } of this.held.splice(0)) this.forward(client, first);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const { client } of this.held.splice(0)) client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    client.once('data', (first: Buffer) => {
      client.pause();
      if (this.holding) {
        this.held.push({ client, first });
        this.emit('held', first.toString('latin1'));
      } else this.forward(client, first);
    });
  }

  private forward(client: Socket, first: Buffer): void {
    if (client.destroyed) return;
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.write(first);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}

describe('watcher: a camera swapped behind the same address', function () {
  this.timeout(20_000);
  let dir: string;
  const cameras: SimulatedCamera[] = [];
  let relay: Relay | undefined;
  let client: CameraClient | undefined;
  let store: EventStore | undefined;
  let watcher: CameraWatcher | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-watch-swap-'));
  });

  afterEach(async () => {
    await watcher?.stop();
    watcher = undefined;
    await client?.close();
    client = undefined;
    await relay?.stop();
    relay = undefined;
    for (const c of cameras.splice(0)) await c.stop();
    await store?.close();
    store = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('identifies the new unit after the feed reconnects and files its recordings under its own serial number', async () => {
    const first = await startCamera({ seed: 41, recordings: 2 });
    const second = await startCamera({ seed: 42, recordings: 2 });
    cameras.push(first, second);
    assert.notEqual(first.serialNumber, second.serialNumber);
    // The new unit also has a recording named like one of the old unit's: it is a different recording.
    const shared = first.control.recordings()[0]!.fileName;
    second.control.addRecording({ fileName: shared });
    relay = await Relay.start(first.port);
    client = new CameraClient({ baseUrl: relay.url, ...FAST });
    store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media') });
    watcher = new CameraWatcher({
      client,
      store,
      options: parseWatchOptions({ useSse: true, reconcileInterval: 1 }),
    });
    const announced: NewRecordingPayload[] = [];
    watcher.on('recording', (r) => announced.push(r));

    const w = watcher;
    const r = relay;

    // Once the first unit is listed and live, it is swapped between two reconciliations (nothing in flight):
    // the feed drops at once, the next reconciliation comes by the clock.
    watcher.start();
    await waitUntil('the first unit listed and live', w, 'status', () =>
      announced.length === 2 && w.status.state === 'live' ? true : undefined,
    );
    const held = waitFor<void>('a request of the next reconciliation reaching the new unit', (resolve) => {
      const onHeld = (head: string): void => {
        if (!head.includes('text/event-stream')) resolve();
      };
      r.on('held', onHeld);
      return () => r.off('held', onHeld);
    });
    await waitFor<void>('the next reconciliation to end', (resolve) => {
      const onReconciled = (): void => {
        r.swapTo(second.port);
        resolve();
      };
      w.on('reconciled', onReconciled);
      return () => w.off('reconciled', onReconciled);
    });
    await held;
    relay.release();

    const secondNames = second.control.recordings().map((e) => e.fileName);
    await waitUntil(
      "the second unit's recordings announced",
      w,
      'reconciled',
      () => secondNames.every((name) => announced.some((a) => a.fileName === name)) || undefined,
    );
    const afterSwap = announced.slice(2);
    assert.deepEqual(
      afterSwap.map((a) => a.cameraSerial),
      afterSwap.map(() => second.serialNumber),
      'every recording after the swap is filed under the new serial number',
    );
    for (const name of secondNames) {
      assert.ok(await store.getByFile(second.serialNumber, name), `${name} under the new unit`);
      if (name === shared) continue;
      assert.equal(
        await store.getByFile(first.serialNumber, name),
        undefined,
        `${name} not under the old unit`,
      );
    }
    assert.equal(w.serialNumber, second.serialNumber);
  });

  it('polling with no feed, re-identifies before filing new entries: a unit swapped between two polls gets its own serial number', async () => {
    const first = await startCamera({ seed: 43, recordings: 2 });
    const second = await startCamera({ seed: 44, recordings: 2 });
    cameras.push(first, second);
    relay = await Relay.start(first.port);
    client = new CameraClient({ baseUrl: relay.url, ...FAST });
    store = await EventStore.open({ databaseFile: join(dir, 'db.sqlite'), mediaDir: join(dir, 'media') });
    watcher = new CameraWatcher({
      client,
      store,
      options: parseWatchOptions({ useSse: false, reconcileInterval: 1 }),
    });
    const announced: NewRecordingPayload[] = [];
    watcher.on('recording', (r) => announced.push(r));
    const w = watcher;
    const r = relay;

    watcher.start();
    await waitUntil('the first unit listed', w, 'reconciled', () => announced.length === 2 || undefined);
    // Swapped right after a reconciliation: the next poll is the first request the new unit sees, and no
    // request fails on the way (a keep-alive connection dropped is simply opened again).
    await waitFor<void>('the next reconciliation to end', (resolve) => {
      const onReconciled = (): void => {
        r.swapTo(second.port);
        r.release();
        resolve();
      };
      w.on('reconciled', onReconciled);
      return () => w.off('reconciled', onReconciled);
    });
    const secondNames = second.control.recordings().map((e) => e.fileName);
    await waitUntil(
      "the second unit's recordings announced",
      w,
      'reconciled',
      () => secondNames.every((name) => announced.some((a) => a.fileName === name)) || undefined,
    );
    const afterSwap = announced.slice(2);
    assert.deepEqual(
      afterSwap.map((a) => a.cameraSerial),
      afterSwap.map(() => second.serialNumber),
      'every recording after the swap is filed under the new serial number',
    );
    for (const name of secondNames) {
      assert.equal(
        await store.getByFile(first.serialNumber, name),
        undefined,
        `${name} not under the old unit`,
      );
    }
    assert.equal(w.serialNumber, second.serialNumber);
  });
});
