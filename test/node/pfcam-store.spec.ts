import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import { isStoreHandle, type StoreHandle } from '../../nodes/pfcam-store/store-handle';
import { EventStore } from '../../lib/store/event-store';
import { helper, type FlowNode } from '../helpers/node-red';

/** A node that uses the store the way every pfcam node does. */
function storeUserNode(RED: NodeAPI): void {
  function TestStoreUser(this: Node, def: NodeDef & { store: string }): void {
    RED.nodes.createNode(this, def);
    const handle = RED.nodes.getNode(def.store);
    if (isStoreHandle(handle)) {
      handle.register(this);
      this.on('close', () => handle.deregister(this));
    }
  }
  RED.nodes.registerType('test-store-user', TestStoreUser);
}

type TestNode = ReturnType<typeof helper.getNode>;

/** Resolves with the next status a node shows that matches, or fails after the timeout. */
function nextStatus(
  node: TestNode,
  match: (s: { fill?: string; text?: string }) => boolean,
  timeoutMs = 5000,
) {
  const spy = node.status as unknown as { args: { fill?: string; text?: string }[][] };
  const seen = spy.args.map((a) => a[0]!).find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise<{ fill?: string; text?: string }>((resolve, reject) => {
    const original = node.status;
    const timer = setTimeout(() => reject(new Error('status not shown in time')), timeoutMs);
    node.status = Object.assign((s: { fill?: string; text?: string }) => {
      original.call(node, s);
      if (match(s)) {
        clearTimeout(timer);
        node.status = original;
        resolve(s);
      }
    }, original);
  });
}

describe('pfcam-store config node', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-store-node-'));
  });

  afterEach(async () => {
    await helper.unload();
    helper.settings({});
    await rm(dir, { recursive: true, force: true });
  });

  function flow(store: Partial<FlowNode> = {}): FlowNode[] {
    return [
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(dir, 'db', 'a.sqlite'),
        mediaDir: join(dir, 'media'),
        ...store,
      },
      { id: 'u1', type: 'test-store-user', store: 'store', wires: [] },
      { id: 'u2', type: 'test-store-user', store: 'store', wires: [] },
    ];
  }

  it('opens one store at the configured paths and shares it with every user', async () => {
    await helper.load([storeNode, storeUserNode], flow());
    const handle = helper.getNode('store') as unknown as StoreHandle;
    assert.ok(isStoreHandle(handle));
    assert.equal(handle.databaseFile, join(dir, 'db', 'a.sqlite'));
    assert.equal(handle.mediaDir, join(dir, 'media'));
    const [a, b] = await Promise.all([handle.ready(), handle.ready()]);
    assert.equal(a, b);
    assert.equal(await handle.database(), a.db);
    const { isNew } = await a.recordDiscovered('SN1', {
      fileName: 'r1',
      eventName: null,
      triggeredAt: '2024-05-01T00:00:00Z',
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: 5,
      age: 1,
      dir: 'unnamed',
    });
    assert.equal(isNew, true);
    assert.ok((await stat(join(dir, 'db', 'a.sqlite'))).isFile());
    assert.ok((await stat(join(dir, 'media'))).isDirectory());
  });

  it('closes the store when the flow stops, and the recording stays known after a redeploy', async () => {
    await helper.load([storeNode, storeUserNode], flow());
    const first = await (helper.getNode('store') as unknown as StoreHandle).ready();
    const event = {
      fileName: 'r1',
      eventName: null,
      triggeredAt: '2024-05-01T00:00:00Z',
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: 5,
      age: 1,
      dir: 'unnamed',
    };
    assert.equal((await first.recordDiscovered('SN1', event)).isNew, true);
    await helper.unload();
    assert.equal(first.isOpen, false);

    await helper.load([storeNode, storeUserNode], flow());
    const second = await (helper.getNode('store') as unknown as StoreHandle).ready();
    assert.notEqual(second, first);
    assert.equal((await second.recordDiscovered('SN1', event)).isNew, false);
  });

  it('defaults to pfcam.dataDir from the settings when no path is given', async () => {
    helper.settings({ pfcam: { dataDir: join(dir, 'data') } });
    await helper.load([storeNode, storeUserNode], flow({ databaseFile: '', mediaDir: '' }));
    const handle = helper.getNode('store') as unknown as StoreHandle;
    assert.equal(handle.databaseFile, join(dir, 'data', 'pfcam.sqlite'));
    assert.equal(handle.mediaDir, join(dir, 'data', 'media'));
    await handle.ready();
    assert.ok((await stat(join(dir, 'data', 'pfcam.sqlite'))).isFile());
  });

  it('sweeps temp files a crash left when it starts', async () => {
    const orphan = join(dir, 'media', 'SN1', '2024', '05', '01', 'x.mp4.part');
    await mkdir(join(orphan, '..'), { recursive: true });
    await writeFile(orphan, 'half');
    await helper.load([storeNode, storeUserNode], flow());
    await (helper.getNode('store') as unknown as StoreHandle).ready();
    await assert.rejects(stat(orphan), { code: 'ENOENT' });
  });

  it('queues a stored recording whose video went missing to be fetched again, checking alongside the start', async () => {
    const seeded = await EventStore.open({
      databaseFile: join(dir, 'db', 'a.sqlite'),
      mediaDir: join(dir, 'media'),
    });
    const { event } = await seeded.recordDiscovered('SN1', {
      fileName: 'lost',
      eventName: null,
      triggeredAt: '2024-05-01T00:00:00Z',
      vidExt: '.mp4',
      thmbExt: '.jpg',
      playbackTime: 5,
      age: 1,
      dir: 'unnamed',
    });
    const stored = await seeded.fetchMedia(event.id, async (t) => ({
      video: await seeded.media.writeAtomic(t.videoPath, 'v'),
    }));
    await rm(seeded.media.resolve(stored!.videoPath!));
    await seeded.close();

    await helper.load([storeNode, storeUserNode], flow());
    const storeTestNode = helper.getNode('store');
    const warned = new Promise<{ args: unknown[] }>((resolve) => storeTestNode.once('call:warn', resolve));
    const store = await (storeTestNode as unknown as StoreHandle).ready();
    assert.equal((await warned).args[0], 'pfcam-store.log.missingFiles');
    assert.equal((await store.get(event.id))?.state, 'new');
  });

  it('shows a red status on its users when the store cannot be opened', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    await helper.load([storeNode, storeUserNode], flow({ mediaDir: join(file, 'media') }));
    const handle = helper.getNode('store') as unknown as StoreHandle;
    await assert.rejects(handle.ready(), { key: 'errors.mediaFolder' });
    const shown = await nextStatus(helper.getNode('u1'), (s) => s.fill === 'red');
    assert.equal(shown.text, '@pfcam/node-red-pfcam/pfcam-camera:common.errors.storeUnavailable');
  });

  it('refuses a database inside the media folder', async () => {
    await helper.load([storeNode, storeUserNode], flow({ databaseFile: join(dir, 'media', 'x.sqlite') }));
    await assert.rejects((helper.getNode('store') as unknown as StoreHandle).ready(), {
      key: 'errors.badOption',
    });
  });

  it('the database file stays usable by the library after the node closed it', async () => {
    await helper.load([storeNode, storeUserNode], flow());
    await (helper.getNode('store') as unknown as StoreHandle).ready();
    await helper.unload();
    const store = await EventStore.open({
      databaseFile: join(dir, 'db', 'a.sqlite'),
      mediaDir: join(dir, 'media'),
    });
    try {
      assert.equal((await store.stats()).events, 0);
    } finally {
      await store.close();
    }
  });
});
