/**
 * The event store at archive scale: 1 000 000 recordings (10 cameras, one year), inserted in batches inside
 * transactions, then the queries an operator runs (the last 50 of a camera, one day over all cameras with a
 * count, a name search, a deep page, recordings per local day over a month, storage per camera), each timed as
 * the median of several runs.
 *
 * Baseline: what a flow author would otherwise set up by hand, in the same run: one plain SQLite table with the
 * same columns and data, no index besides the rowid, no name index, no counters, queried with the equivalent
 * SQL (LIKE for names, OFFSET for pages, SUM for storage).
 *
 * `BENCH_EVENTS=100000 npx tsx bench/run.ts store-query` for a quicker run.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, type SqlValue } from '../lib/store/database';
import { EventStore } from '../lib/store/event-store';
import { cameraStats, queryEvents, storageUse, timeBuckets } from '../lib/store/query';
import type { BenchResult, BenchRow } from './run';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const CAMERAS = 10;
const START = Date.parse('2024-01-01T00:00:00Z');
const SPAN_MS = 365 * 24 * 3600_000;
const BATCH_ROWS = 500;
const TX_ROWS = 50_000;
const RUNS = 7;

const NAMES = [
  'door open',
  'forklift',
  'gate north',
  'gate south',
  'intrusion',
  'conveyor jam',
  'pallet drop',
  'smoke alarm',
  'truck arrival',
  'shift change',
];

const COLUMNS = [
  'camera_id',
  'file_name',
  'event_name',
  'triggered_at',
  'triggered_at_utc',
  'playback_time',
  'vid_ext',
  'thmb_ext',
  'dir',
  'state',
  'video_path',
  'video_size',
  'thumb_size',
  'flagged',
  'viewed',
] as const;

/** Deterministic pseudo-random numbers (the same data for both sides). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Row {
  values: SqlValue[];
}

/** Row `i` of the data set; `cameraIds[serial index]` maps to the side's camera ids. */
function makeRow(i: number, random: () => number, cameraIds: readonly number[]): Row {
  const cam = Math.floor(random() * CAMERAS);
  const t = new Date(START + Math.floor((i / EVENTS) * SPAN_MS + random() * 30_000)).toISOString();
  const nameDraw = random();
  const name =
    nameDraw < 0.4 ? null : `${NAMES[Math.floor(random() * NAMES.length)]!} ${Math.floor(random() * 20)}`;
  const fileName = `${t.slice(0, 19).replace(/[-:T]/g, '')}_${i}`;
  const size = 2_000_000 + Math.floor(random() * 30_000_000);
  return {
    values: [
      cameraIds[cam]!,
      fileName,
      name,
      t.slice(0, 19),
      t,
      10 + Math.floor(random() * 50),
      '.mp4',
      '.jpg',
      name ? 'named' : 'unnamed',
      'stored',
      `SN-${cam}/${t.slice(0, 4)}/${t.slice(5, 7)}/${t.slice(8, 10)}/${fileName}.mp4`,
      size,
      30_000,
      random() < 0.01 ? 1 : 0,
      random() < 0.5 ? 1 : 0,
    ],
  };
}

async function insertAll(db: Database, table: string, cameraIds: readonly number[]): Promise<number> {
  const random = lcg(42);
  const one = `(${COLUMNS.map(() => '?').join(', ')})`;
  const full = `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${Array(BATCH_ROWS).fill(one).join(', ')}`;
  const started = performance.now();
  for (let txStart = 0; txStart < EVENTS; txStart += TX_ROWS) {
    const txEnd = Math.min(EVENTS, txStart + TX_ROWS);
    await db.transaction(async (tx) => {
      for (let b = txStart; b < txEnd; b += BATCH_ROWS) {
        const n = Math.min(BATCH_ROWS, txEnd - b);
        const params: SqlValue[] = [];
        for (let i = b; i < b + n; i++) params.push(...makeRow(i, random, cameraIds).values);
        const sql =
          n === BATCH_ROWS
            ? full
            : `INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${Array(n).fill(one).join(', ')}`;
        await tx.run(sql, params);
      }
    });
  }
  return performance.now() - started;
}

async function median(work: () => Promise<unknown>): Promise<number> {
  await work(); // warm the page cache and the statement path
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await work();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'pfcam-bench-store-'));
  const rows: BenchRow[] = [];
  try {
    // ours: the event store's schema (indexes, FTS name index, counters kept by triggers)
    const store = await EventStore.open({
      databaseFile: join(dir, 'store.sqlite'),
      mediaDir: join(dir, 'media'),
    });
    const ids: number[] = [];
    for (let c = 0; c < CAMERAS; c++) ids.push(await store.upsertCamera(`SN-${c}`, { name: `Camera ${c}` }));
    const oursInsertMs = await insertAll(store.db, 'events', ids);

    // baseline: one plain table, same columns and rows, camera as its serial text
    const plain = await Database.open(join(dir, 'plain.sqlite'));
    await plain.exec(
      `CREATE TABLE events_plain (camera_id TEXT, file_name TEXT, event_name TEXT, triggered_at TEXT,
         triggered_at_utc TEXT, playback_time INTEGER, vid_ext TEXT, thmb_ext TEXT, dir TEXT, state TEXT,
         video_path TEXT, video_size INTEGER, thumb_size INTEGER, flagged INTEGER, viewed INTEGER)`,
    );
    const serials = Array.from({ length: CAMERAS }, (_, c) => c);
    const plainInsertMs = await insertAll(plain, 'events_plain', serials);

    rows.push({
      name: `insert ${EVENTS} recordings (batches of ${BATCH_ROWS}, ${TX_ROWS} per transaction)`,
      value: EVENTS / (oursInsertMs / 1000),
      unit: 'rows/s',
      baseline: EVENTS / (plainInsertMs / 1000),
      better: 'higher',
    });

    // the real discovery path, one recording per call (INSERT OR IGNORE + camera row, in a transaction)
    const discoveries = 2000;
    const d0 = performance.now();
    for (let i = 0; i < discoveries; i++) {
      await store.recordDiscovered(`SN-${i % CAMERAS}`, {
        fileName: `live_${i}`,
        eventName: i % 2 ? 'door open 1' : null,
        triggeredAt: new Date(START + SPAN_MS + i * 1000).toISOString(),
        vidExt: '.mp4',
        thmbExt: '.jpg',
        playbackTime: 10,
        age: 1,
        dir: 'named',
      });
    }
    rows.push({
      name: 'recordDiscovered, one call per recording (no baseline)',
      value: discoveries / ((performance.now() - d0) / 1000),
      unit: 'calls/s',
      better: 'higher',
    });

    const db = store.db;
    const cam = 'SN-3';
    const camNo = 3;
    const dayFrom = '2024-06-15T00:00:00.000Z';
    const dayTo = '2024-06-16T00:00:00.000Z';
    const monthFrom = '2024-06-01T00:00:00.000Z';
    const monthTo = '2024-07-01T00:00:00.000Z';

    const compare = async (name: string, ours: () => Promise<unknown>, base: () => Promise<unknown>) => {
      const value = await median(ours);
      const baseline = await median(base);
      rows.push({ name, value, unit: 'ms', baseline, better: 'lower' });
    };

    await compare(
      'last 50 recordings of one camera',
      () => queryEvents(db, { cameras: [cam], limit: 50 }),
      () =>
        plain.all('SELECT * FROM events_plain WHERE camera_id = ? ORDER BY triggered_at_utc DESC LIMIT 50', [
          camNo,
        ]),
    );
    await compare(
      'one day, all cameras: first 50 + count',
      () => queryEvents(db, { from: dayFrom, to: dayTo, limit: 50, count: true }),
      async () => {
        await plain.all(
          'SELECT * FROM events_plain WHERE triggered_at_utc >= ? AND triggered_at_utc < ? ORDER BY triggered_at_utc DESC LIMIT 50',
          [dayFrom, dayTo],
        );
        await plain.get(
          'SELECT count(*) AS n FROM events_plain WHERE triggered_at_utc >= ? AND triggered_at_utc < ?',
          [dayFrom, dayTo],
        );
      },
    );
    await compare(
      'name search "gate north 7", newest 50',
      () => queryEvents(db, { name: 'gate north 7', limit: 50 }),
      () =>
        plain.all(
          "SELECT * FROM events_plain WHERE event_name LIKE '%' || ? || '%' ORDER BY triggered_at_utc DESC LIMIT 50",
          ['gate north 7'],
        ),
    );
    await compare(
      'name search "forklift" on one camera, one month',
      () => queryEvents(db, { name: 'forklift', cameras: [cam], from: monthFrom, to: monthTo, limit: 50 }),
      () =>
        plain.all(
          `SELECT * FROM events_plain WHERE event_name LIKE '%' || ? || '%' AND camera_id = ?
             AND triggered_at_utc >= ? AND triggered_at_utc < ? ORDER BY triggered_at_utc DESC LIMIT 50`,
          ['forklift', camNo, monthFrom, monthTo],
        ),
    );
    // page 200 (rows 10 000-10 050) of one camera: keyset cursor vs OFFSET
    let cursor: string | null = null;
    for (let p = 0; p < 200; p++)
      cursor = (await queryEvents(db, { cameras: [cam], limit: 50, ...(cursor ? { cursor } : {}) }))
        .nextCursor;
    const deep = cursor;
    await compare(
      'deep page (rows 10 000-10 050 of a camera)',
      () => queryEvents(db, { cameras: [cam], limit: 50, ...(deep ? { cursor: deep } : {}) }),
      () =>
        plain.all(
          'SELECT * FROM events_plain WHERE camera_id = ? ORDER BY triggered_at_utc DESC LIMIT 50 OFFSET 10000',
          [camNo],
        ),
    );
    await compare(
      'recordings per day over a month, all cameras (UTC)',
      () => timeBuckets(db, { from: monthFrom, to: monthTo }, { bucket: 'day' }),
      () =>
        plain.all(
          `SELECT substr(triggered_at_utc, 1, 10) AS k, count(*) AS n FROM events_plain
             WHERE triggered_at_utc >= ? AND triggered_at_utc < ? GROUP BY k ORDER BY k`,
          [monthFrom, monthTo],
        ),
    );
    await compare(
      'recordings per local day over a month (Europe/Zurich)',
      () => timeBuckets(db, { from: monthFrom, to: monthTo }, { bucket: 'day', timeZone: 'Europe/Zurich' }),
      () =>
        plain.all(
          `SELECT substr(datetime(triggered_at_utc, '+2 hours'), 1, 10) AS k, count(*) AS n FROM events_plain
             WHERE triggered_at_utc >= ? AND triggered_at_utc < ? GROUP BY k ORDER BY k`,
          [monthFrom, monthTo],
        ),
    );
    await compare(
      'storage use per camera and total',
      () => storageUse(db),
      () =>
        plain.all(
          'SELECT camera_id, count(*) AS n, sum(video_size + thumb_size) AS b FROM events_plain GROUP BY camera_id',
        ),
    );
    await compare(
      'per-camera statistics over one month',
      () => cameraStats(db, { from: monthFrom, to: monthTo }),
      () =>
        plain.all(
          `SELECT camera_id, count(*), sum(video_size + thumb_size), sum(flagged), min(triggered_at_utc), max(triggered_at_utc)
             FROM events_plain WHERE triggered_at_utc >= ? AND triggered_at_utc < ? GROUP BY camera_id`,
          [monthFrom, monthTo],
        ),
    );

    await store.close();
    await plain.close();
    const oursBytes = (await stat(join(dir, 'store.sqlite'))).size;
    const plainBytes = (await stat(join(dir, 'plain.sqlite'))).size;
    rows.push({
      name: 'database file size',
      value: oursBytes / 1024 / 1024,
      unit: 'MiB',
      baseline: plainBytes / 1024 / 1024,
      better: 'lower',
    });
    return {
      title: `event store queries at ${EVENTS} recordings, ${CAMERAS} cameras, one year`,
      baseline: 'one plain SQLite table with the same rows and no indexes, queried with the equivalent SQL',
      rows,
      notes: [
        `median of ${RUNS} runs after one warm-up; both databases in WAL mode on the same disk`,
        'the store pays for its indexes at insert time and in file size; a query ratio below 1 means faster',
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
