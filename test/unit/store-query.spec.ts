import { strict as assert } from 'node:assert';
import type { EventRecord } from '../../lib/store/event-store';
import {
  cameraStats,
  countEvents,
  queryEvents,
  storageUse,
  timeBuckets,
  validateQuery,
  type EventQuery,
} from '../../lib/store/query';
import { setViewed } from '../../lib/store/viewed-marks';
import { cameraEvent, openFixture, type StoreFixture } from './store-fixtures';

const BASE = Date.parse('2024-05-01T00:00:00Z');
const HOUR = 3600_000;

describe('event queries', () => {
  let f: StoreFixture;
  /** Seeded rows by file name. */
  const ids = new Map<string, number>();

  before(async () => {
    f = await openFixture();
    const names = ['Door open', 'forklift 2', null, 'door OPEN', '50%_off', null];
    // SN-A: 10 recordings 5 h apart; SN-B: 5 recordings 7 h apart
    for (const [serial, count, step] of [
      ['SN-A', 10, 5],
      ['SN-B', 5, 7],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const fileName = `${serial}-${i}`;
        const { event } = await f.store.recordDiscovered(
          serial,
          cameraEvent(fileName, {
            eventName: names[i % names.length] ?? null,
            triggeredAt: new Date(BASE + i * step * HOUR).toISOString(),
          }),
        );
        ids.set(fileName, event.id);
        if (i % 2 === 0) {
          const fetching = await f.store.markFetching(event.id);
          await f.store.markStored(event.id, {
            video: {
              path: fetching!.videoPath!,
              size: 1000 + i * 10 + (serial === 'SN-B' ? 1 : 0),
              sha256: 'x',
            },
          });
        }
      }
    }
    await f.store.setFlag(ids.get('SN-A-1')!, true);
    await f.store.setFlag(ids.get('SN-B-2')!, true);
    await setViewed(f.store.db, { kind: 'user', id: 1 }, ids.get('SN-A-0')!, true);
    await f.store.setTags(ids.get('SN-A-3')!, ['night', 'truck']);
    await f.store.setTags(ids.get('SN-B-4')!, ['night']);
  });

  after(async () => {
    await f.cleanup();
  });

  const q = (query: unknown) => queryEvents(f.store.db, validateQuery(query));
  const names = (events: EventRecord[]) => events.map((e) => e.fileName);

  it('lists the newest first, 50 at most, by default', async () => {
    const page = await q({});
    assert.equal(page.events.length, 15);
    assert.equal(page.nextCursor, null);
    const times = page.events.map((e) => e.triggeredAtUtc);
    assert.deepEqual(times, [...times].sort().reverse());
  });

  it('filters by camera serial numbers, and an unknown camera matches nothing', async () => {
    assert.equal((await q({ cameras: ['SN-A'] })).events.length, 10);
    assert.equal((await q({ camera: 'SN-B' })).events.length, 5);
    assert.equal((await q({ cameras: ['SN-A', 'SN-B'] })).events.length, 15);
    assert.deepEqual((await q({ cameras: ['nope'] })).events, []);
  });

  it('filters by a UTC time range, from inclusive and to exclusive', async () => {
    const page = await q({ from: '2024-05-01T05:00:00Z', to: new Date(BASE + 15 * HOUR).toISOString() });
    assert.deepEqual(names(page.events).sort(), ['SN-A-1', 'SN-A-2', 'SN-B-1', 'SN-B-2']);
  });

  it('finds names by substring (any case), by exact name, and treats LIKE wildcards and quotes literally', async () => {
    assert.deepEqual(names((await q({ name: 'DOOR', cameras: ['SN-A'], order: 'asc' })).events), [
      'SN-A-0',
      'SN-A-3',
      'SN-A-6',
      'SN-A-9',
    ]);
    assert.deepEqual(names((await q({ name: 'kl', cameras: ['SN-A'], order: 'asc' })).events), [
      'SN-A-1',
      'SN-A-7',
    ]);
    assert.equal((await q({ name: 'door open', nameMatch: 'exact' })).events.length, 6);
    assert.deepEqual(names((await q({ name: '%_', order: 'asc' })).events), ['SN-A-4', 'SN-B-4']);
    assert.deepEqual((await q({ name: "x' OR 1=1 --" })).events, []);
    assert.deepEqual((await q({ name: '"; DROP TABLE events; --' })).events, []);
    assert.equal((await q({})).events.length, 15);
  });

  it('finds a name shared by thousands of recordings as exactly as a rare one', async () => {
    const g = await openFixture();
    try {
      const cameraId = await g.store.upsertCamera('SN');
      await g.store.db.run(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1499)
         INSERT INTO events (camera_id, file_name, event_name, triggered_at, triggered_at_utc, vid_ext, thmb_ext)
         SELECT ?, 'r' || i, CASE WHEN i % 500 = 7 THEN 'Rare Thing' ELSE 'Forklift ' || (i % 3) END, 'raw',
                strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i * 60, 'unixepoch'), '.mp4', '.jpg' FROM n`,
        [cameraId],
      );
      // 1497 matches: past the index threshold, found by a scan in time order
      const common = await queryEvents(
        g.store.db,
        validateQuery({ name: 'forKLIFT', limit: 3, count: true }),
      );
      assert.deepEqual(
        common.events.map((e) => e.fileName),
        ['r1499', 'r1498', 'r1497'],
      );
      assert.equal(common.total, 1497);
      // 499 matches (i % 3 = 2, less r1007): through the index
      const fewer = await queryEvents(
        g.store.db,
        validateQuery({ name: 'forKLIFT 2', limit: 3, count: true }),
      );
      assert.deepEqual(
        fewer.events.map((e) => e.fileName),
        ['r1499', 'r1496', 'r1493'],
      );
      assert.equal(fewer.total, 499);
      const rare = await queryEvents(
        g.store.db,
        validateQuery({ name: 'rare thing', count: true, order: 'asc' }),
      );
      assert.deepEqual(
        rare.events.map((e) => e.fileName),
        ['r7', 'r507', 'r1007'],
      );
    } finally {
      await g.cleanup();
    }
  });

  it('filters named and unnamed recordings', async () => {
    assert.equal((await q({ named: false })).events.length, 4);
    assert.equal((await q({ named: true })).events.length, 11);
  });

  it('filters by all given tags, flagged and viewed', async () => {
    assert.deepEqual(names((await q({ tags: ['night'], order: 'asc' })).events), ['SN-A-3', 'SN-B-4']);
    assert.deepEqual(names((await q({ tags: 'night,truck' })).events), ['SN-A-3']);
    assert.deepEqual(names((await q({ flagged: true, order: 'asc' })).events), ['SN-A-1', 'SN-B-2']);
    assert.deepEqual(names((await q({ viewed: true })).events), ['SN-A-0']);
    assert.equal((await q({ viewed: 'false' })).events.length, 14);
  });

  it("filters by one viewer's own marks: another user's mark leaves a recording unviewed for them", async () => {
    const mine = { kind: 'user', id: 2 } as const;
    const before = await queryEvents(f.store.db, { viewed: false, viewer: mine });
    assert.equal(before.events.length, 15, 'user 1 viewed SN-A-0, user 2 viewed nothing');
    assert.ok(before.events.every((e) => !e.viewed));
    await setViewed(f.store.db, mine, ids.get('SN-B-1')!, true);
    try {
      const seen = await queryEvents(f.store.db, { viewed: true, viewer: mine });
      assert.deepEqual(names(seen.events), ['SN-B-1']);
      assert.equal(seen.events[0]?.viewed, true);
      assert.equal(await countEvents(f.store.db, { viewed: false, viewer: mine }), 14);
      assert.equal(await countEvents(f.store.db, { viewed: false, viewer: { kind: 'user', id: 1 } }), 14);
      assert.equal(await countEvents(f.store.db, { viewed: false, viewer: { kind: 'token', id: 2 } }), 15);
      const stats = await cameraStats(f.store.db, { viewer: mine });
      assert.deepEqual(
        stats.map((s) => [s.serialNumber, s.unviewed]),
        [
          ['SN-A', 10],
          ['SN-B', 4],
        ],
      );
    } finally {
      await setViewed(f.store.db, mine, ids.get('SN-B-1')!, false);
    }
    assert.equal(await countEvents(f.store.db, { viewed: true, viewer: mine }), 0);
  });

  it('filters by state', async () => {
    assert.equal((await q({ states: ['stored'] })).events.length, 8);
    assert.equal((await q({ states: 'new' })).events.length, 7);
  });

  it('sorts by size and by camera', async () => {
    const bySize = (await q({ sort: 'size', states: ['stored'] })).events.map((e) => e.videoSize);
    assert.deepEqual(
      bySize,
      [...bySize].sort((a, b) => b! - a!),
    );
    const byCamera = (await q({ sort: 'camera', order: 'asc' })).events;
    assert.deepEqual(
      byCamera.map((e) => e.cameraSerial),
      [...Array<string>(10).fill('SN-A'), ...Array<string>(5).fill('SN-B')],
    );
  });

  for (const sort of ['time', 'size', 'camera'] as const) {
    for (const order of ['asc', 'desc'] as const) {
      it(`pages through every match once with a keyset cursor (sort ${sort} ${order})`, async () => {
        const all = names((await q({ sort, order, limit: 100 })).events);
        const seen: string[] = [];
        let cursor: string | null | undefined;
        let pages = 0;
        do {
          const page = await q({ sort, order, limit: 4, ...(cursor ? { cursor } : {}) });
          seen.push(...names(page.events));
          cursor = page.nextCursor;
          pages++;
        } while (cursor);
        assert.deepEqual(seen, all);
        assert.equal(pages, 4);
      });
    }
  }

  it('pages with offset and counts all matches when asked', async () => {
    const all = names((await q({ order: 'asc' })).events);
    const page = await q({ order: 'asc', limit: 5, offset: 5, count: true });
    assert.deepEqual(names(page.events), all.slice(5, 10));
    assert.equal(page.total, 15);
    assert.equal(await countEvents(f.store.db, validateQuery({ cameras: ['SN-B'], named: true })), 4);
  });

  it('leaves retired recordings out unless asked', async () => {
    const id = ids.get('SN-B-0')!;
    await f.store.retire(id);
    try {
      assert.equal((await q({})).events.length, 14);
      assert.equal((await q({ includeRetired: true })).events.length, 15);
    } finally {
      await f.store.db.run('UPDATE events SET retired_at = NULL WHERE id = ?', [id]);
    }
  });

  it('refuses bad queries with a message naming the property', () => {
    const cases: [unknown, string][] = [
      [{ limt: 5 }, 'limt'],
      [{ limit: 0 }, 'limit'],
      [{ limit: 5000 }, 'limit'],
      [{ from: 'last tuesday' }, 'from'],
      [{ from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }, 'from'],
      [{ sort: 'name' }, 'sort'],
      [{ flagged: 'yes' }, 'flagged'],
      [{ states: ['done'] }, 'states'],
      [{ cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
      [{ tags: [''] }, 'tags'],
      ['name=x', 'query'],
    ];
    for (const [raw, option] of cases) {
      assert.throws(
        () => validateQuery(raw),
        { key: 'errors.badQuery', params: { option } },
        JSON.stringify(raw),
      );
    }
  });

  it('refuses a cursor of another sort', async () => {
    const page = await q({ limit: 2 });
    assert.throws(() => validateQuery({ sort: 'size', cursor: page.nextCursor }), {
      params: { option: 'cursor' },
    });
  });

  describe('statistics', () => {
    it('counts per UTC day and hour', async () => {
      const days = await timeBuckets(f.store.db, validateQuery({ cameras: ['SN-A'] }), { bucket: 'day' });
      // SN-A at 0,5,...,45 h: day 1 has 0..20 (5), day 2 has 25..45 (5)
      assert.deepEqual(
        days.map((d) => [d.bucket, d.count]),
        [
          ['2024-05-01', 5],
          ['2024-05-02', 5],
        ],
      );
      const hours = await timeBuckets(f.store.db, validateQuery({ cameras: ['SN-B'] }), { bucket: 'hour' });
      assert.deepEqual(
        hours.map((h) => h.bucket),
        ['2024-05-01T00', '2024-05-01T07', '2024-05-01T14', '2024-05-01T21', '2024-05-02T04'],
      );
    });

    it('counts per local day in an IANA zone with a half-hour offset', async () => {
      // Asia/Kolkata is UTC+05:30: 20:00Z and 21:00Z fall on the next local day
      const days = await timeBuckets(f.store.db, validateQuery({ cameras: ['SN-A'] }), {
        bucket: 'day',
        timeZone: 'Asia/Kolkata',
      });
      assert.deepEqual(
        days.map((d) => [d.bucket, d.count]),
        [
          ['2024-05-01', 4],
          ['2024-05-02', 5],
          ['2024-05-03', 1],
        ],
      );
      const hours = await timeBuckets(f.store.db, validateQuery({ cameras: ['SN-B'] }), {
        bucket: 'hour',
        timeZone: 'Asia/Kolkata',
      });
      assert.deepEqual(
        hours.map((h) => h.bucket),
        ['2024-05-01T05', '2024-05-01T12', '2024-05-01T19', '2024-05-02T02', '2024-05-02T09'],
      );
      await assert.rejects(timeBuckets(f.store.db, {}, { timeZone: 'Mars/Base' }), {
        key: 'errors.badQuery',
      });
    });

    it('labels local hours across a DST change in a whole-hour zone', async () => {
      const g = await openFixture();
      try {
        for (const [name, t] of [
          ['a', '2024-03-31T00:30:00Z'],
          ['b', '2024-03-31T01:30:00Z'],
          ['c', '2024-10-27T00:15:00Z'],
          ['d', '2024-10-27T01:15:00Z'],
        ] as const) {
          await g.store.recordDiscovered('SN', cameraEvent(name, { triggeredAt: t }));
        }
        const hours = await timeBuckets(g.store.db, {}, { bucket: 'hour', timeZone: 'Europe/Zurich' });
        // 01:30 CET, 03:30 CEST; then 02:15 CEST and 02:15 CET fall in the same local hour
        assert.deepEqual(
          hours.map((h) => [h.bucket, h.count]),
          [
            ['2024-03-31T01', 1],
            ['2024-03-31T03', 1],
            ['2024-10-27T02', 2],
          ],
        );
      } finally {
        await g.cleanup();
      }
    });

    it('sums per camera and storage use', async () => {
      const stats = await cameraStats(f.store.db);
      assert.deepEqual(
        stats.map((s) => [s.serialNumber, s.events, s.flagged, s.unviewed]),
        [
          ['SN-A', 10, 1, 9],
          ['SN-B', 5, 1, 5],
        ],
      );
      const a = stats[0]!;
      assert.equal(a.bytes, 1000 + 1020 + 1040 + 1060 + 1080);
      assert.equal(a.first, '2024-05-01T00:00:00.000Z');
      assert.equal(a.last, new Date(BASE + 45 * HOUR).toISOString());
      const use = await storageUse(f.store.db);
      assert.equal(use.totalBytes, a.bytes + 1001 + 1021 + 1041);
      assert.equal(use.events, 15);
      assert.deepEqual(
        use.cameras.map((c) => c.bytes),
        [a.bytes, 1001 + 1021 + 1041],
      );
    });

    it('applies the query filters to statistics', async () => {
      const q2: EventQuery = validateQuery({ flagged: true });
      const stats = await cameraStats(f.store.db, q2);
      assert.deepEqual(
        stats.map((s) => s.events),
        [1, 1],
      );
    });
  });
});
