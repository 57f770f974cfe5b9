import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cameraNode from '../../nodes/pfcam-camera/pfcam-camera';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import watchNode from '../../nodes/pfcam-watch/pfcam-watch';
import type { NewRecordingMessage } from '../../lib/archive/messages';
import { EventStore } from '../../lib/store/event-store';
import { startCamera, type SimulatedCamera } from '../../simulator';
import { helper, type FlowNode } from '../helpers/node-red';

type TestNode = ReturnType<typeof helper.getNode>;

/** Collects the messages a helper node receives. */
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

/** The last status a node showed. */
function lastStatus(node: TestNode): { fill?: string; shape?: string; text?: string } | undefined {
  const calls = (node.status as unknown as { args: { fill?: string; text?: string }[][] }).args;
  return calls.at(-1)?.[0];
}

describe('pfcam-watch node', function () {
  let dir: string;
  const sims: SimulatedCamera[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-watch-node-'));
  });

  afterEach(async () => {
    await helper.unload();
    for (const sim of sims.splice(0)) await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function camera(options: Parameters<typeof startCamera>[0] = {}): Promise<SimulatedCamera> {
    const sim = await startCamera({ seed: 11 + sims.length, ...options });
    sims.push(sim);
    return sim;
  }

  function flow(cams: SimulatedCamera[], watch: Partial<FlowNode> = {}): FlowNode[] {
    const nodes: FlowNode[] = [
      { id: 'flow', type: 'tab' },
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(dir, 'db.sqlite'),
        mediaDir: join(dir, 'media'),
      },
      { id: 'out', type: 'helper', z: 'flow' },
      { id: 'done', type: 'complete', z: 'flow', scope: [], wires: [['completed']] },
      { id: 'completed', type: 'helper', z: 'flow' },
    ];
    cams.forEach((sim, i) => {
      nodes.push({ id: `cam${i}`, type: 'pfcam-camera', url: sim.url, probeInterval: 1, timeout: 5 });
      nodes.push({
        id: `watch${i}`,
        type: 'pfcam-watch',
        z: 'flow',
        camera: `cam${i}`,
        store: 'store',
        useSse: true,
        reconcileInterval: 30,
        wires: [['out']],
        ...watch,
      });
    });
    (nodes[3] as unknown as { scope: string[] }).scope = cams.map((_c, i) => `watch${i}`);
    return nodes;
  }

  /** Sends a message to a watch node (a reconciliation) and waits until it completed. */
  async function reconcile(id: string): Promise<void> {
    const completed = helper.getNode('completed');
    const done = new Promise<void>((resolve) => completed.once('input', () => resolve()));
    helper.getNode(id).receive({});
    await done;
  }

  it('sends one pfcam/new-recording per recording on the camera, with the store row id', async () => {
    const sim = await camera({ recordings: 3 });
    await helper.load([cameraNode, storeNode, watchNode], flow([sim]));
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    await until(() => seen.length === 3);
    await reconcile('watch0');
    assert.equal(seen.length, 3);
    const names = sim.control
      .recordings()
      .map((r) => r.fileName)
      .reverse();
    assert.deepEqual(
      seen.map((m) => m.payload.fileName),
      names,
    );
    const first = seen[0]!;
    assert.equal(first.topic, 'pfcam/new-recording');
    assert.deepEqual(Object.keys(first.payload).sort(), [
      'cameraName',
      'cameraSerial',
      'dir',
      'eventId',
      'eventName',
      'fileName',
      'playbackTime',
      'source',
      'thmbExt',
      'triggeredAt',
      'triggeredAtUtc',
      'vidExt',
    ]);
    assert.equal(first.payload.cameraSerial, sim.serialNumber);
    const store = await EventStore.open({
      databaseFile: join(dir, 'db.sqlite'),
      mediaDir: join(dir, 'media'),
    });
    try {
      const row = await store.getByFile(sim.serialNumber, first.payload.fileName);
      assert.equal(row?.id, first.payload.eventId);
    } finally {
      await store.close();
    }
  });

  it('sends a new recording as soon as the camera announces it on its live feed', async () => {
    const sim = await camera();
    await helper.load([cameraNode, storeNode, watchNode], flow([sim], { reconcileInterval: 3600 }));
    await until(() => lastStatus(helper.getNode('watch0'))?.fill === 'green');
    await reconcile('watch0');
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    const recording = sim.control.addRecording();
    await until(() => seen.length === 1);
    assert.equal(seen[0]!.payload.fileName, recording.fileName);
    assert.equal(seen[0]!.payload.source, 'sse');
  });

  it('does not send a recording again after a redeploy, and sends what was recorded meanwhile', async () => {
    const sim = await camera({ recordings: 2 });
    await helper.load([cameraNode, storeNode, watchNode], flow([sim]));
    let seen = collect<NewRecordingMessage>(helper.getNode('out'));
    await until(() => seen.length === 2);
    await helper.unload();
    const added = sim.control.addRecording();
    await helper.load([cameraNode, storeNode, watchNode], flow([sim]));
    seen = collect<NewRecordingMessage>(helper.getNode('out'));
    await until(() => seen.length === 1);
    await reconcile('watch0');
    assert.deepEqual(
      seen.map((m) => m.payload.fileName),
      [added.fileName],
    );
  });

  it('catches up through its list, on reconnect, what the camera recorded while the feed was down', async () => {
    const sim = await camera();
    await helper.load([cameraNode, storeNode, watchNode], flow([sim], { reconcileInterval: 3600 }));
    const watch = helper.getNode('watch0');
    await until(() => lastStatus(watch)?.fill === 'green');
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    // A restart drops every connection and refuses new ones for a while: the feed is down meanwhile.
    const back = sim.control.restart(1500);
    const added = [sim.control.addRecording(), sim.control.addRecording()];
    await back;
    await until(() => seen.length === 2, 15_000);
    assert.deepEqual(
      seen.map((m) => [m.payload.fileName, m.payload.source]),
      added.map((r) => [r.fileName, 'list']),
    );
  });

  it('keeps every recording when the live feed drops again and again', async () => {
    const sim = await camera({ faults: { sseDropAfterMs: 100 } });
    await helper.load([cameraNode, storeNode, watchNode], flow([sim], { reconcileInterval: 3600 }));
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    const added = [];
    for (let i = 0; i < 5; i++) {
      added.push(sim.control.addRecording());
      await until(() => seen.length === i + 1);
    }
    await reconcile('watch0');
    assert.deepEqual(
      seen.map((m) => m.payload.fileName),
      added.map((r) => r.fileName),
    );
  });

  it('polls the list when the camera has no live feed', async () => {
    const sim = await camera({ sse: false });
    await helper.load([cameraNode, storeNode, watchNode], flow([sim], { reconcileInterval: 0.2 }));
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    await until(() => lastStatus(helper.getNode('watch0'))?.fill === 'yellow');
    const added = sim.control.addRecording();
    await until(() => seen.length === 1);
    assert.equal(seen[0]!.payload.fileName, added.fileName);
    assert.equal(seen[0]!.payload.source, 'list');
    assert.equal(lastStatus(helper.getNode('watch0'))?.text, 'pfcam-watch.status.polling');
  });

  it('keeps two cameras apart: the same file name on both is two recordings', async () => {
    const one = await camera();
    const two = await camera();
    one.control.addRecording({ fileName: 'same-name' });
    two.control.addRecording({ fileName: 'same-name' });
    await helper.load([cameraNode, storeNode, watchNode], flow([one, two]));
    const seen = collect<NewRecordingMessage>(helper.getNode('out'));
    await until(() => seen.length === 2);
    assert.deepEqual(
      seen.map((m) => m.payload.cameraSerial).sort(),
      [one.serialNumber, two.serialNumber].sort(),
    );
    assert.notEqual(seen[0]!.payload.eventId, seen[1]!.payload.eventId);
  });

  it('shows a red status when no camera is configured', async () => {
    await helper.load(
      [cameraNode, storeNode, watchNode],
      [
        {
          id: 'store',
          type: 'pfcam-store',
          databaseFile: join(dir, 'db.sqlite'),
          mediaDir: join(dir, 'media'),
        },
        { id: 'watch', type: 'pfcam-watch', camera: '', store: 'store', wires: [] },
      ],
    );
    assert.deepEqual(lastStatus(helper.getNode('watch')), {
      fill: 'red',
      shape: 'ring',
      text: '@pfcam/node-red-pfcam/pfcam-camera:common.errors.noCamera',
    });
  });

  it('reports a bad interval as a configuration error', async () => {
    const sim = await camera();
    await helper.load([cameraNode, storeNode, watchNode], flow([sim], { reconcileInterval: 'soon' }));
    assert.equal(lastStatus(helper.getNode('watch0'))?.fill, 'red');
    assert.equal(
      lastStatus(helper.getNode('watch0'))?.text,
      '@pfcam/node-red-pfcam/pfcam-camera:common.errors.badOption',
    );
  });

  it('clears its status on close', async () => {
    const sim = await camera();
    await helper.load([cameraNode, storeNode, watchNode], flow([sim]));
    const watch = helper.getNode('watch0');
    await until(() => lastStatus(watch)?.fill === 'green');
    // clearFlows stops the flows without restoring the status spy first (as unload does).
    await helper.clearFlows();
    assert.deepEqual(lastStatus(watch), {});
  });
  it('names a refused recording in its warning', async () => {
    const sim = await camera({ recordings: 1 });
    sim.control.addRecording({ fileName: '../escape' });
    // The test runtime's messages are their keys: the parameters are shown beside them.
    const withParams = (RED: Parameters<typeof watchNode>[0]): void => {
      RED._ = (key: string, params?: unknown) => `${key} ${JSON.stringify(params ?? {})}`;
      watchNode(RED);
    };
    await helper.load([cameraNode, storeNode, withParams], flow([sim]));
    const watch = helper.getNode('watch0');
    const warnings = (): string[] =>
      (watch.warn as unknown as { args: unknown[][] }).args.map((a) => String(a[0]));
    await until(() => warnings().some((w) => w.includes('errors.rejected')));
    const warning = warnings().find((w) => w.includes('errors.rejected'))!;
    assert.ok(warning.includes('"recording":"\\"../escape\\""'), warning);
  });

  it('logs a camera whose list cannot be read, once for the outage, not at every retry', async () => {
    const sim = await camera({ recordings: 1, faults: { malformedJsonRate: 1 } });
    const withParams = (RED: Parameters<typeof watchNode>[0]): void => {
      RED._ = (key: string, params?: unknown) => `${key} ${JSON.stringify(params ?? {})}`;
      watchNode(RED);
    };
    await helper.load([cameraNode, storeNode, withParams], flow([sim], { useSse: false }));
    const watch = helper.getNode('watch0');
    const warnings = (): string[] =>
      (watch.warn as unknown as { args: unknown[][] }).args
        .map((a) => String(a[0]))
        .filter((w) => w.includes('errors.listFailed'));
    await until(() => warnings().length >= 1);
    // more failed reconciliations, still one warning
    for (let i = 0; i < 2; i++) {
      const failed = new Promise<void>((resolve) =>
        helper.getNode('completed').once('input', () => resolve()),
      );
      watch.receive({});
      await Promise.race([failed, new Promise((r) => setTimeout(r, 2000))]);
    }
    assert.equal(warnings().length, 1, warnings().join('\n'));
    assert.match(warnings()[0]!, /"suppressed":0/);
  });
});
