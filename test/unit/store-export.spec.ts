import { strict as assert } from 'node:assert';
import { readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { csvCell, csvRow, exportEvents, exportToFile, exportZip, CSV_COLUMNS } from '../../lib/store/export';
import { validateQuery } from '../../lib/store/query';
import { cameraEvent, openFixture, type StoreFixture } from './store-fixtures';

/** Reads a ZIP's entries (stored or deflated) through its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let i = 0; i < entries; i++) {
    assert.equal(zip.readUInt32LE(p), 0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(dataStart, dataStart + compressed);
    out.set(name, method === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** A writable that takes its time, and records how much was ever waiting in its buffer. */
class SlowSink extends Writable {
  readonly parts: Buffer[] = [];
  maxBuffered = 0;
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.maxBuffered = Math.max(this.maxBuffered, this.writableLength);
    this.parts.push(chunk);
    setImmediate(cb);
  }
  text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }
}

async function collect(run: (out: Writable) => Promise<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  await run(out);
  return Buffer.concat(parts);
}

describe('exports', () => {
  let f: StoreFixture;

  beforeEach(async () => {
    f = await openFixture();
  });

  afterEach(async () => {
    await f.cleanup();
  });

  async function stored(serial: string, fileName: string, eventName: string | null, video: string) {
    const { event } = await f.store.recordDiscovered(serial, cameraEvent(fileName, { eventName }));
    const row = await f.store.fetchMedia(event.id, async (t) => ({
      video: await f.store.media.writeAtomic(t.videoPath, video),
      thumbnail: await f.store.media.writeAtomic(t.thumbPath, `thumb:${video}`),
    }));
    return row!;
  }

  describe('CSV', () => {
    it('quotes cells as RFC 4180 says', () => {
      assert.equal(csvCell('plain'), 'plain');
      assert.equal(csvCell('a,b'), '"a,b"');
      assert.equal(csvCell('say "hi"'), '"say ""hi"""');
      assert.equal(csvCell('two\nlines'), '"two\nlines"');
      assert.equal(csvCell(null), '');
      assert.equal(csvCell(-5), '-5');
      assert.equal(csvRow(['a', 1, true]), 'a,1,true\r\n');
    });

    it('defuses cells that a spreadsheet would run as a formula', () => {
      assert.equal(csvCell('=HYPERLINK("http://evil","x")'), `"'=HYPERLINK(""http://evil"",""x"")"`);
      assert.equal(csvCell('+1+1'), "'+1+1");
      assert.equal(csvCell('-2+3'), "'-2+3");
      assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
      assert.equal(csvCell('\t=1'), "'\t=1");
    });

    it('exports a hostile event name defused, with a header and one row per recording', async () => {
      await stored('SN1', 'a', '=cmd|" /C calc"!A0', 'v');
      await stored('SN1', 'b', 'door, back', 'v');
      const text = (
        await collect((out) => exportEvents(f.store.db, validateQuery({ order: 'asc' }), 'csv', out))
      ).toString('utf8');
      const lines = text.replace(/^\ufeff/, '').split('\r\n');
      assert.equal(lines[0], CSV_COLUMNS.join(','));
      assert.equal(lines.length, 4);
      assert.ok(lines[1]!.includes(`"'=cmd|"" /C calc""!A0"`), lines[1]);
      assert.ok(lines[2]!.includes('"door, back"'));
      assert.equal(lines[3], '');
    });
  });

  it('exports JSON that parses back to the query result (all pages, limit ignored)', async () => {
    for (let i = 0; i < 7; i++)
      await f.store.recordDiscovered('SN1', cameraEvent(`r${i}`, { eventName: `n${i}` }));
    const text = (
      await collect((out) => exportEvents(f.store.db, validateQuery({ limit: 2, order: 'asc' }), 'json', out))
    ).toString('utf8');
    const parsed = JSON.parse(text) as { fileName: string }[];
    assert.deepEqual(
      parsed.map((e) => e.fileName),
      ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6'],
    );
    const empty = (
      await collect((out) => exportEvents(f.store.db, validateQuery({ cameras: ['none'] }), 'json', out))
    ).toString('utf8');
    assert.deepEqual(JSON.parse(empty), []);
  });

  it('streams a large export page by page, waiting for a slow output instead of buffering the table', async () => {
    const cameraId = await f.store.upsertCamera('SN1');
    await f.store.db.run(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2999)
       INSERT INTO events (camera_id, file_name, event_name, triggered_at, triggered_at_utc, vid_ext, thmb_ext)
       SELECT ?, 'rec-' || i, 'event number ' || i || ' with some text', 'raw',
              strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i, 'unixepoch'), '.mp4', '.jpg' FROM n`,
      [cameraId],
    );
    const sink = new SlowSink();
    const rows = await exportEvents(f.store.db, validateQuery({}), 'csv', sink);
    await new Promise<void>((resolve) => sink.end(resolve));
    assert.equal(rows, 3000);
    const total = Buffer.byteLength(sink.text());
    assert.equal(sink.text().split('\r\n').length, 3002);
    assert.ok(
      sink.maxBuffered < total / 3,
      `at most ${sink.maxBuffered} of ${total} bytes waited in the output`,
    );
  });

  it('zips the selected media and a manifest, never a file outside the media folder', async () => {
    const a = await stored('SN1', 'a', 'door', 'video-a');
    const b = await stored('SN2', 'b', 'gate', 'video-b');
    await f.store.recordDiscovered('SN1', cameraEvent('not-yet'));
    // a stored row whose video was replaced by a link to a file outside the media folder
    const c = await stored('SN1', 'c', 'door', 'video-c');
    const cAbs = f.store.media.resolve(c.videoPath!);
    await writeFile(join(f.dir, 'secret.txt'), 'secret');
    await (await import('node:fs/promises')).rm(cAbs);
    await symlink(join(f.dir, 'secret.txt'), cAbs);

    const zip = await collect((out) =>
      exportZip(f.store.db, f.store.media, validateQuery({ order: 'asc' }), out),
    );
    const files = unzip(zip);
    assert.deepEqual(
      [...files.keys()].sort(),
      [
        `media/${a.thumbPath}`,
        `media/${a.videoPath}`,
        `media/${b.thumbPath}`,
        `media/${b.videoPath}`,
        `media/${c.thumbPath}`,
        'manifest.json',
      ].sort(),
    );
    assert.equal(files.get(`media/${a.videoPath}`)?.toString(), 'video-a');
    assert.ok(![...files.values()].some((v) => v.toString() === 'secret'));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as {
      events: { fileName: string; files: { sha256: string }[] }[];
      skipped: { fileName: string }[];
    };
    assert.deepEqual(
      manifest.events.map((e) => e.fileName),
      ['a', 'b', 'c'],
    );
    assert.equal(manifest.events[0]?.files[0]?.sha256, a.videoSha256);
    assert.deepEqual(manifest.skipped.map((s) => s.fileName).sort(), ['c', 'not-yet']);
  });

  it('refuses a ZIP larger than its limit', async () => {
    await stored('SN1', 'a', null, 'x'.repeat(100));
    await assert.rejects(
      collect((out) => exportZip(f.store.db, f.store.media, {}, out, { maxBytes: 50 })),
      { key: 'errors.exportTooLarge' },
    );
  });

  it('writes a file export atomically and leaves no temp file', async () => {
    await stored('SN1', 'a', 'door', 'v');
    const file = join(f.dir, 'out.zip');
    assert.equal(await exportToFile(f.store.db, f.store.media, {}, 'zip', file), 1);
    assert.ok(unzip(await readFile(file)).has('manifest.json'));
    const csv = join(f.dir, 'out.csv');
    assert.equal(await exportToFile(f.store.db, f.store.media, {}, 'csv', csv), 1);
    assert.equal((await readdir(f.dir)).filter((n) => n.endsWith('.part')).length, 0);
  });
});
