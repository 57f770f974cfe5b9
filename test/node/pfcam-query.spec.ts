import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import queryNode, { type ExportFileResult, type StatsPayload } from '../../nodes/pfcam-query/pfcam-query';
import storeNode from '../../nodes/pfcam-store/pfcam-store';
import type { StoreHandle } from '../../nodes/pfcam-store/store-handle';
import type { QueryPage } from '../../lib/store/query';
import { helper, nextMessage, type FlowNode } from '../helpers/node-red';

interface OutMsg {
  _msgid: string;
  payload: unknown;
  topic?: string;
  keep?: string;
  filename?: string;
  contentType?: string;
}
interface CaughtMsg {
  error: { message: string; source: { id: string } };
}

const COMMON = '@pfcam/node-red-pfcam/pfcam-camera:common.';

describe('pfcam-query node', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pfcam-query-node-'));
  });

  afterEach(async () => {
    await helper.unload();
    await rm(dir, { recursive: true, force: true });
  });

  function flow(query: Partial<FlowNode> = {}): FlowNode[] {
    return [
      {
        id: 'store',
        type: 'pfcam-store',
        databaseFile: join(dir, 'db.sqlite'),
        mediaDir: join(dir, 'media'),
      },
      { id: 'q', type: 'pfcam-query', store: 'store', query: '{"limit":50}', wires: [['out']], ...query },
      { id: 'out', type: 'helper' },
      { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
  }

  /** Loads the flow and seeds recordings: SN-A x3 (stored, one named "=evil()"), SN-B x2 (new). */
  async function load(query: Partial<FlowNode> = {}) {
    await helper.load([storeNode, queryNode], flow(query));
    const store = await (helper.getNode('store') as unknown as StoreHandle).ready();
    const base = Date.parse('2024-05-01T22:00:00Z');
    const seed: [string, string, string | null, number][] = [
      ['SN-A', 'a0', 'door', 0],
      ['SN-A', 'a1', '=evil()', 1],
      ['SN-A', 'a2', null, 2],
      ['SN-B', 'b0', 'door', 3],
      ['SN-B', 'b1', null, 4],
    ];
    for (const [serial, fileName, eventName, hour] of seed) {
      const { event } = await store.recordDiscovered(serial, {
        fileName,
        eventName,
        triggeredAt: new Date(base + hour * 3600_000).toISOString(),
        vidExt: '.mp4',
        thmbExt: '.jpg',
        playbackTime: 10,
        age: 0,
        dir: 'named',
      });
      if (serial === 'SN-A') {
        await store.fetchMedia(event.id, async (t) => ({
          video: await store.media.writeAtomic(t.videoPath, `video ${fileName}`),
          thumbnail: await store.media.writeAtomic(t.thumbPath, `thumb ${fileName}`),
        }));
      }
    }
    return store;
  }

  async function send(msg: Record<string, unknown>): Promise<OutMsg> {
    const out = nextMessage<OutMsg>(helper.getNode('out'));
    helper.getNode('q').receive(msg);
    return out;
  }

  async function sendForError(msg: Record<string, unknown>): Promise<CaughtMsg> {
    const caught = nextMessage<CaughtMsg>(helper.getNode('caught'));
    helper.getNode('q').receive(msg);
    return caught;
  }

  it('answers msg.query with a page of recordings, keeping the other msg properties', async () => {
    await load();
    const msg = await send({ query: { cameras: ['SN-A'], name: 'door' }, topic: 't', keep: 'me' });
    const page = msg.payload as QueryPage;
    assert.deepEqual(
      page.events.map((e) => e.fileName),
      ['a0'],
    );
    assert.equal(msg.topic, 't');
    assert.equal(msg.keep, 'me');
    const all = (await send({ query: { order: 'asc', limit: 2, count: true } })).payload as QueryPage;
    assert.deepEqual(
      all.events.map((e) => e.fileName),
      ['a0', 'a1'],
    );
    assert.equal(all.total, 5);
    const next = (await send({ query: { order: 'asc', limit: 2, cursor: all.nextCursor } }))
      .payload as QueryPage;
    assert.deepEqual(
      next.events.map((e) => e.fileName),
      ['a2', 'b0'],
    );
  });

  it('counts per local day when msg asks for time statistics in a zone', async () => {
    await load({ operation: 'stats' });
    const utc = (await send({})).payload as StatsPayload;
    assert.equal(utc.kind, 'time');
    assert.deepEqual(utc.kind === 'time' && utc.buckets.map((b) => [b.bucket, b.count]), [
      ['2024-05-01', 2],
      ['2024-05-02', 3],
    ]);
    const zurich = (await send({ timeZone: 'Europe/Zurich' })).payload as StatsPayload;
    assert.deepEqual(zurich.kind === 'time' && zurich.buckets.map((b) => [b.bucket, b.count]), [
      ['2024-05-02', 5],
    ]);
    const storage = (await send({ stats: 'storage' })).payload as StatsPayload;
    assert.equal(storage.kind, 'storage');
    assert.ok(storage.kind === 'storage' && storage.totalBytes > 0 && storage.disk.totalBytes > 0);
    const cams = (await send({ stats: 'cameras' })).payload as StatsPayload;
    assert.deepEqual(cams.kind === 'cameras' && cams.cameras.map((c) => [c.serialNumber, c.events]), [
      ['SN-A', 3],
      ['SN-B', 2],
    ]);
  });

  it('exports CSV as a payload Buffer with a content type, formulas defused', async () => {
    await load({ operation: 'export', format: 'csv' });
    const msg = await send({ query: { cameras: ['SN-A'] } });
    assert.ok(Buffer.isBuffer(msg.payload));
    assert.equal(msg.contentType, 'text/csv; charset=utf-8');
    assert.match(msg.filename ?? '', /^pfcam-events-.*\.csv$/);
    const text = msg.payload.toString('utf8');
    assert.equal(text.split('\r\n').length, 5);
    assert.ok(text.includes(",'=evil(),"));
    const json = await send({ format: 'json' });
    assert.equal((JSON.parse((json.payload as Buffer).toString('utf8')) as unknown[]).length, 5);
  });

  it('refuses a payload export over its limit, through done(err) with the key', async () => {
    await load({ operation: 'export', format: 'zip', maxPayloadMB: 0.0001 });
    const caught = await sendForError({});
    assert.match(caught.error.message, /payload limit/);
    const status = (helper.getNode('q').status as unknown as { args: { text?: string }[][] }).args.at(
      -1,
    )?.[0];
    assert.equal(status?.text, `${COMMON}errors.exportTooLarge`);
  });

  it('writes a file export inside its folder and refuses a file name that leaves it', async () => {
    const exportDir = join(dir, 'exports');
    await load({ operation: 'export', format: 'zip', target: 'file', exportDir });
    const msg = await send({ filename: 'week.zip' });
    const result = msg.payload as ExportFileResult;
    assert.equal(result.file, join(exportDir, 'week.zip'));
    assert.equal(result.count, 3);
    assert.equal((await readFile(result.file)).subarray(0, 2).toString(), 'PK');
    assert.equal(msg.filename, result.file);

    const caught = await sendForError({ filename: '../../escape.zip' });
    assert.match(caught.error.message, /not a plain file name/);
    assert.deepEqual(await readdir(exportDir), ['week.zip']);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      ['db.sqlite', 'db.sqlite-shm', 'db.sqlite-wal', 'exports', 'media'].sort(),
    );
  });

  it('reports a bad msg.query through done(err) with a red status naming the key', async () => {
    await load();
    const caught = await sendForError({ query: { limit: 'all' } });
    assert.match(caught.error.message, /query\.limit/);
    const status = (
      helper.getNode('q').status as unknown as { args: { fill?: string; text?: string }[][] }
    ).args.at(-1)?.[0];
    assert.deepEqual(status, { fill: 'red', shape: 'ring', text: `${COMMON}errors.badQuery` });
    const unknown = await sendForError({ query: { drop: 'table' } });
    assert.match(unknown.error.message, /query\.drop is not a known query property/);
  });

  it('shows a red status and fails messages when no store is configured', async () => {
    await helper.load(
      [storeNode, queryNode],
      [
        { id: 'q', type: 'pfcam-query', store: '', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
    );
    const status = (helper.getNode('q').status as unknown as { args: { text?: string }[][] }).args.at(
      -1,
    )?.[0];
    assert.equal(status?.text, `${COMMON}errors.noStore`);
    const caught = await sendForError({});
    assert.match(caught.error.message, /no pfcam-store/);
  });
});
