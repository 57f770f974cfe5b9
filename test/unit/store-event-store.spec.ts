import { strict as assert } from 'node:assert';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PfcamError } from '../../lib/errors';
import { EventStore } from '../../lib/store/event-store';
import { RetentionQueries } from '../../lib/store/retention-queries';
import { forgetViewer, setViewed } from '../../lib/store/viewed-marks';
import { cameraEvent, manualClock, openFixture, type StoreFixture } from './store-fixtures';

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('EventStore', () => {
  let f: StoreFixture;
  const clock = manualClock();

  beforeEach(async () => {
    f = await openFixture({ clock: clock.now });
  });

  afterEach(async () => {
    await f.cleanup();
  });

  async function storeOne(serial: string, fileName: string, content = 'video-bytes') {
    const { event } = await f.store.recordDiscovered(serial, cameraEvent(fileName));
    const stored = await f.store.fetchMedia(event.id, async (t) => {
      const v = await f.store.media.writeAtomic(t.videoPath, content);
      const th = await f.store.media.writeAtomic(t.thumbPath, 'jpg');
      return { video: v, thumbnail: th };
    });
    assert.ok(stored);
    return stored;
  }

  describe('discovery', () => {
    it('reports a recording as new exactly once, also after the store is closed and reopened', async () => {
      const first = await f.store.recordDiscovered('SN1', cameraEvent('rec-1'));
      const again = await f.store.recordDiscovered('SN1', cameraEvent('rec-1'));
      assert.equal(first.isNew, true);
      assert.equal(again.isNew, false);
      assert.equal(again.event.id, first.event.id);

      await f.reopen();
      const afterRestart = await f.store.recordDiscovered('SN1', cameraEvent('rec-1'));
      assert.equal(afterRestart.isNew, false);
      assert.equal(afterRestart.event.id, first.event.id);
      const count = await f.store.db.get<{ n: number }>('SELECT count(*) AS n FROM events');
      assert.equal(count?.n, 1);
    });

    it('announces each of many concurrent discoveries of one recording once', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => f.store.recordDiscovered('SN1', cameraEvent('same'))),
      );
      assert.equal(results.filter((r) => r.isNew).length, 1);
    });

    it('never dedupes across cameras: one file name on two serials is two recordings', async () => {
      const a = await f.store.recordDiscovered('SN-A', cameraEvent('20240501_100000'));
      const b = await f.store.recordDiscovered('SN-B', cameraEvent('20240501_100000'));
      assert.equal(a.isNew, true);
      assert.equal(b.isNew, true);
      assert.notEqual(a.event.id, b.event.id);
      assert.equal((await f.store.getByFile('SN-A', '20240501_100000'))?.id, a.event.id);
      assert.equal((await f.store.getByFile('SN-B', '20240501_100000'))?.id, b.event.id);
      assert.equal((await f.store.listCameras()).length, 2);
    });

    it("reads a time without offset in the camera's time zone and keeps the raw text", async () => {
      await f.store.upsertCamera('SN1', { timezone: 'Europe/Zurich', name: 'Gate' });
      const { event } = await f.store.recordDiscovered(
        'SN1',
        cameraEvent('r', { triggeredAt: '2024-07-01T12:00:00' }),
      );
      assert.equal(event.triggeredAt, '2024-07-01T12:00:00');
      assert.equal(event.triggeredAtUtc, '2024-07-01T10:00:00.000Z');
      const other = await f.store.recordDiscovered(
        'SN1',
        cameraEvent('r2', { triggeredAt: '2024-07-01T12:00:00' }),
        {
          timezone: 'America/New_York',
        },
      );
      assert.equal(other.event.triggeredAtUtc, '2024-07-01T16:00:00.000Z');
    });

    it('still records a recording whose time is unreadable, timed at discovery minus its age', async () => {
      const { event, isNew } = await f.store.recordDiscovered(
        'SN1',
        cameraEvent('r', { triggeredAt: 'garbage', age: 60 }),
      );
      assert.equal(isNew, true);
      assert.equal(event.triggeredAtUtc, new Date(clock.now() - 60_000).toISOString());
      assert.equal(event.metadata?.timeSource, 'discovered');
    });

    it('normalises an extension without its dot', async () => {
      const { event } = await f.store.recordDiscovered(
        'SN1',
        cameraEvent('r', { vidExt: 'mp4', thmbExt: 'jpg' }),
      );
      assert.equal(event.vidExt, '.mp4');
      assert.equal(event.thmbExt, '.jpg');
    });

    it('refuses a recording without a file name, with an i18n key', async () => {
      await assert.rejects(f.store.recordDiscovered('SN1', cameraEvent('')), { key: 'errors.badEvent' });
      await assert.rejects(f.store.recordDiscovered('', cameraEvent('x')), { key: 'errors.badSerial' });
    });

    it('updates only the camera fields it is given', async () => {
      await f.store.upsertCamera('SN1', { name: 'Gate', timezone: 'UTC', info: { brand: 'PFCAM' } });
      await f.store.upsertCamera('SN1', { baseUrl: 'http://10.0.0.5' });
      const cam = await f.store.getCamera('SN1');
      assert.equal(cam?.name, 'Gate');
      assert.equal(cam?.baseUrl, 'http://10.0.0.5');
      assert.deepEqual(cam?.info, { brand: 'PFCAM' });
    });
  });

  describe('fetch steps', () => {
    it('moves new -> fetching -> stored, counting attempts and recording verified files', async () => {
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('rec'));
      assert.equal(event.state, 'new');
      const fetching = await f.store.markFetching(event.id);
      assert.equal(fetching?.state, 'fetching');
      assert.equal(fetching?.attempts, 1);
      assert.equal(fetching?.videoPath, 'SN1/2024/05/01/rec.mp4');
      const stored = await f.store.markStored(event.id, {
        video: { path: fetching.videoPath, size: 10, sha256: 'a'.repeat(64) },
        thumbnail: { path: fetching.thumbPath!, size: 2, sha256: 'b'.repeat(64) },
      });
      assert.equal(stored.state, 'stored');
      assert.equal(stored.videoSize, 10);
      assert.equal(await f.store.storedBytes('SN1'), 12);
      assert.equal(
        await f.store.markFetching(event.id),
        undefined,
        'a stored recording is not fetched again',
      );
      const again = await f.store.markStored(event.id, {
        video: { path: fetching.videoPath, size: 10, sha256: 'a'.repeat(64) },
      });
      assert.equal(again.state, 'stored', 'markStored is idempotent');
    });

    it('keeps failures retryable, lists them as pending, and never marks a stored recording gone', async () => {
      const a = (await f.store.recordDiscovered('SN1', cameraEvent('a'))).event;
      const b = (await f.store.recordDiscovered('SN1', cameraEvent('b'))).event;
      await f.store.markFetching(a.id);
      const failed = await f.store.markFailed(a.id, new PfcamError('errors.cameraOffline', 'camera offline'));
      assert.equal(failed?.state, 'failed');
      assert.match(failed?.lastError ?? '', /^errors\.cameraOffline: camera offline/);
      assert.deepEqual(
        (await f.store.listPending()).map((e) => e.fileName),
        ['a', 'b'],
      );
      assert.deepEqual(
        (await f.store.listPending({ maxAttempts: 1 })).map((e) => e.fileName),
        ['b'],
      );
      const stored = await storeOne('SN1', 'c');
      assert.equal((await f.store.markGone(stored.id))?.state, 'stored');
      assert.equal((await f.store.markGone(b.id, 'recycled'))?.state, 'gone');
      assert.deepEqual(
        (await f.store.listPending()).map((e) => e.fileName),
        ['a'],
      );
    });

    it('fetchMedia stores both files and a restart lists nothing pending', async () => {
      const stored = await storeOne('SN1', 'rec', 'hello');
      assert.equal(stored.state, 'stored');
      assert.equal(await readFile(f.store.media.resolve(stored.videoPath!), 'utf8'), 'hello');
      await f.reopen();
      assert.deepEqual(await f.store.listPending(), []);
    });

    it('reports a full disk with its key, keeps no file and no .part, and leaves the row failed and retryable', async () => {
      await f.reopen({
        io: {
          open: async (path, flags, mode) => {
            const real = await (await import('node:fs/promises')).open(path, flags, mode);
            if (!String(path).endsWith('.part')) return real;
            return {
              write: () => Promise.reject(enospc()),
              sync: () => real.sync(),
              close: () => real.close(),
            };
          },
        },
      });
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('big'));
      await assert.rejects(
        f.store.fetchMedia(event.id, async (t) => ({
          video: await f.store.media.writeAtomic(t.videoPath, 'data'),
        })),
        (err: unknown) => err instanceof PfcamError && err.key === 'errors.diskFull',
      );
      const row = await f.store.get(event.id);
      assert.equal(row?.state, 'failed');
      assert.match(row?.lastError ?? '', /^errors\.diskFull/);
      assert.equal(row?.videoSize, null);
      const abs = f.store.media.resolve(row.videoPath!);
      await assert.rejects(stat(abs), { code: 'ENOENT' });
      await assert.rejects(stat(`${abs}.part`), { code: 'ENOENT' });
      assert.equal((await f.store.listPending()).length, 1);
    });

    it('reports a download that reports more bytes than it wrote, without storing the row', async () => {
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('short'));
      await assert.rejects(
        f.store.fetchMedia(event.id, async (t) => {
          await f.store.media.writeAtomic(t.videoPath, 'abc');
          return { video: { bytes: 999, sha256: 'x' } };
        }),
        { key: 'errors.fileMissing' },
      );
      assert.equal((await f.store.get(event.id))?.state, 'failed');
    });

    it('never deletes verified files when the re-read after markStored fails because the store is closing', async () => {
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('closing'));
      const db = f.store.db;
      const run = db.run.bind(db);
      // The store closes (a stop) right after the stored row commits, before markStored reads it back.
      db.run = async (sql, params) => {
        const result = await run(sql, params);
        if (sql.includes("SET state = 'stored'")) void db.close();
        return result;
      };
      let files: string[] = [];
      await assert.rejects(
        f.store.fetchMedia(event.id, async (t) => {
          files = [t.videoFile, t.thumbFile];
          const v = await f.store.media.writeAtomic(t.videoPath, 'video');
          const th = await f.store.media.writeAtomic(t.thumbPath, 'jpg');
          return { video: v, thumbnail: th };
        }),
        /the database is closed/,
      );
      assert.equal(await readFile(files[0]!, 'utf8'), 'video');
      assert.equal(await readFile(files[1]!, 'utf8'), 'jpg');
      await f.reopen();
      const row = await f.store.get(event.id);
      assert.equal(row?.state, 'stored');
      assert.deepEqual(await f.store.recover(), { removedTemp: [], resetMissing: [] });
    });

    it('backs a failing recording off in its row, doubling the delay up to the cap', async () => {
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('flaky'));
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        await assert.rejects(
          f.store.fetchMedia(event.id, () => Promise.reject(new Error('link down')), {
            baseDelayMs: 1000,
            maxDelayMs: 4000,
          }),
          /link down/,
        );
        const row = await f.store.get(event.id);
        assert.equal(row?.state, 'failed');
        delays.push(Date.parse(row.nextAttemptAt!) - clock.now());
        assert.deepEqual(await f.store.listPending({ dueBy: f.store.now() }), [], 'not due yet');
        clock.advance(delays.at(-1)!);
        assert.equal((await f.store.listPending({ dueBy: f.store.now() })).length, 1, 'due after its delay');
      }
      assert.deepEqual(delays, [1000, 2000, 4000, 4000]);
    });

    it('reports a permission error with its key and no stored row', async () => {
      const blocked = join(f.mediaDir, 'SN1');
      if (process.getuid?.() === 0) {
        // root writes through a read-only mode: the refusal is injected the way the kernel would report it
        await f.reopen({
          io: {
            mkdir: (p) =>
              String(p).startsWith(blocked)
                ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))
                : mkdir(p, { recursive: true }),
          },
        });
      } else {
        await mkdir(blocked, { recursive: true, mode: 0o500 });
      }
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('rec'));
      await assert.rejects(
        f.store.fetchMedia(event.id, () => Promise.reject(new Error('not reached'))),
        { key: 'errors.permission' },
      );
      assert.equal((await f.store.get(event.id))?.state, 'failed');
    });

    it('reports a media folder under a regular file (ENOTDIR) at open, with its key', async () => {
      const file = join(f.dir, 'a-file');
      await writeFile(file, 'x');
      await assert.rejects(
        EventStore.open({ databaseFile: join(f.dir, 'other.sqlite'), mediaDir: join(file, 'media') }),
        { key: 'errors.mediaFolder' },
      );
    });
  });

  describe('backup outbox', () => {
    it('claims due entries once, re-offers them when the lease lapses, and is idempotent to enqueue', async () => {
      const stored = await storeOne('SN1', 'rec');
      const objects = [
        { kind: 'video' as const, key: 'site/SN1/rec.mp4', path: stored.videoPath },
        { kind: 'thumbnail' as const, key: 'site/SN1/rec.jpg', path: stored.thumbPath },
        { kind: 'manifest' as const, key: 'site/SN1/rec.json' },
      ];
      await f.store.enqueueBackup(stored.id, objects);
      await f.store.enqueueBackup(stored.id, objects);
      assert.equal((await f.store.get(stored.id))?.backupState, 'pending');

      const batch = await f.store.claimBackupBatch({ limit: 10, leaseMs: 60_000 });
      assert.equal(batch.length, 3);
      const video = batch.find((b) => b.kind === 'video')!;
      assert.equal(video.expectedSize, stored.videoSize);
      assert.equal(video.file, f.store.media.resolve(stored.videoPath!));
      assert.equal(video.attempts, 1);
      assert.deepEqual(await f.store.claimBackupBatch(), [], 'inflight entries are not claimed twice');

      clock.advance(61_000);
      const reclaimed = await f.store.claimBackupBatch();
      assert.equal(reclaimed.length, 3, 'a lapsed lease (crash) makes the entries claimable again');
      assert.equal(reclaimed[0]!.attempts, 2);
      for (const item of reclaimed) await f.store.markBackupDone(item.id, { etag: '"e"', size: 1 });
      const done = await f.store.get(stored.id);
      assert.equal(done?.backupState, 'done');
      assert.equal(done?.backedUpAt, f.store.now());
      await f.store.enqueueBackup(stored.id, objects);
      assert.equal(
        (await f.store.get(stored.id))?.backupState,
        'done',
        're-enqueueing done objects changes nothing',
      );
    });

    it('backs off exponentially on failure and fails for good after the last attempt', async () => {
      const stored = await storeOne('SN1', 'rec');
      await f.store.enqueueBackup(stored.id, [{ kind: 'video', key: 'k', path: stored.videoPath }]);
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [item] = await f.store.claimBackupBatch();
        assert.ok(item, `attempt ${attempt} claimed`);
        const res = await f.store.markBackupFailed(item.id, new Error('503'), {
          baseDelayMs: 1000,
          maxAttempts: 3,
        });
        if (attempt < 3) {
          assert.equal(res.state, 'pending');
          const delay = Date.parse(res.nextAttemptAt!) - clock.now();
          delays.push(delay);
          const nominal = 1000 * 2 ** (attempt - 1);
          assert.ok(delay >= nominal * 0.8 && delay <= nominal * 1.2, `delay ${delay} near ${nominal}`);
          assert.deepEqual(await f.store.claimBackupBatch(), [], 'not due before its time');
          clock.advance(delay);
        } else {
          assert.equal(res.state, 'failed');
        }
      }
      assert.equal((await f.store.get(stored.id))?.backupState, 'failed');
      assert.equal(await f.store.retryFailedBackups(stored.id), 1);
      assert.equal((await f.store.get(stored.id))?.backupState, 'pending');
      assert.equal((await f.store.claimBackupBatch()).length, 1);
    });

    it('fails a non-retryable error at once', async () => {
      const stored = await storeOne('SN1', 'rec');
      await f.store.enqueueBackup(stored.id, [{ kind: 'manifest', key: 'm' }]);
      const [item] = await f.store.claimBackupBatch();
      const res = await f.store.markBackupFailed(item!.id, new Error('403'), { retryable: false });
      assert.equal(res.state, 'failed');
      assert.equal((await f.store.listOutbox(stored.id))[0]?.lastError, '403');
    });

    it('refuses an object path outside the media folder', async () => {
      const stored = await storeOne('SN1', 'rec');
      await assert.rejects(
        f.store.enqueueBackup(stored.id, [{ kind: 'video', key: 'k', path: '../../etc/passwd' }]),
        {
          key: 'errors.pathOutsideMedia',
        },
      );
    });
  });

  describe('retention and deletion', () => {
    it('retires a recording: files removed, the row kept as cursor, so rediscovery is not new', async () => {
      const stored = await storeOne('SN1', 'rec');
      const abs = f.store.media.resolve(stored.videoPath!);
      assert.equal(await f.store.retire(stored.id, { reason: 'age' }), true);
      assert.equal(await f.store.retire(stored.id), false, 'idempotent');
      await assert.rejects(stat(abs), { code: 'ENOENT' });
      const again = await f.store.recordDiscovered('SN1', cameraEvent('rec'));
      assert.equal(again.isNew, false);
      assert.ok(again.event.retiredAt);
      assert.equal(await f.store.storedBytes(), 0);
      assert.equal((await f.store.listAudit())[0]?.action, 'retire');
    });

    it('keeps flagged recordings out of retention', async () => {
      const stored = await storeOne('SN1', 'rec');
      await f.store.setFlag(stored.id, true);
      await assert.rejects(f.store.retire(stored.id), { key: 'errors.flagged' });
    });

    it('offers a recording for deletion on the camera only once its backup is done when backup is required', async () => {
      const stored = await storeOne('SN1', 'rec');
      const queries = new RetentionQueries(f.store.db);
      const due = async (requireBackup: boolean): Promise<number> =>
        (await queries.duePageOnCamera(stored.cameraId, requireBackup, undefined, 10)).length;
      assert.equal(await due(true), 0);
      assert.equal(await due(false), 1);
      await f.store.enqueueBackup(stored.id, [{ kind: 'manifest', key: 'm' }]);
      const [item] = await f.store.claimBackupBatch();
      await f.store.markBackupDone(item!.id);
      assert.equal(await due(true), 1);
      await f.store.markDeletedOnCamera(stored.id);
      assert.equal(await due(false), 0);
    });

    it('deletes a row with its tags, outbox entries and files', async () => {
      const stored = await storeOne('SN1', 'rec');
      await f.store.setTags(stored.id, ['x']);
      await f.store.enqueueBackup(stored.id, [{ kind: 'manifest', key: 'm' }]);
      assert.equal(await f.store.deleteEvent(stored.id, { actor: 'admin' }), true);
      assert.equal(await f.store.get(stored.id), undefined);
      assert.equal((await f.store.db.get<{ n: number }>('SELECT count(*) AS n FROM event_tags'))?.n, 0);
      assert.equal((await f.store.db.get<{ n: number }>('SELECT count(*) AS n FROM backup_outbox'))?.n, 0);
      await assert.rejects(stat(f.store.media.resolve(stored.videoPath!)), { code: 'ENOENT' });
      assert.equal(await f.store.storedBytes(), 0);
    });
  });

  describe('marks, audit and stats', () => {
    it('sets flags, viewed, tags (validated) and merges metadata', async () => {
      const { event } = await f.store.recordDiscovered('SN1', cameraEvent('rec'));
      await f.store.setFlag(event.id, true);
      await setViewed(f.store.db, { kind: 'user', id: 7 }, event.id, true);
      await f.store.setTags(event.id, [' door ', 'night', 'door']);
      await f.store.mergeMetadata(event.id, { operator: 'anna', note: 'x' });
      const row = await f.store.mergeMetadata(event.id, { note: null });
      assert.equal(row?.flagged, true);
      assert.equal(row?.viewed, true);
      assert.deepEqual(row?.tags, ['door', 'night']);
      assert.deepEqual(row?.metadata, { operator: 'anna' });
      await assert.rejects(f.store.setTags(event.id, ['']), { key: 'errors.badTags' });
      await assert.rejects(f.store.setTags(event.id, 'door' as unknown as string[]), {
        key: 'errors.badTags',
      });
    });

    it("drops a recording's viewed marks with the recording, and a viewer's marks with the viewer", async () => {
      const { event: a } = await f.store.recordDiscovered('SN1', cameraEvent('viewed-a'));
      const { event: b } = await f.store.recordDiscovered('SN1', cameraEvent('viewed-b'));
      const count = async (): Promise<number> =>
        (await f.store.db.get<{ n: number }>('SELECT count(*) AS n FROM viewed_marks'))?.n ?? 0;
      const start = await count();
      for (const id of [1, 2]) {
        await setViewed(f.store.db, { kind: 'user', id }, a.id, true);
        await setViewed(f.store.db, { kind: 'user', id }, b.id, true);
      }
      assert.equal(await count(), start + 4);
      assert.equal(await f.store.deleteEvent(a.id, { actor: 'admin' }), true);
      assert.equal(await count(), start + 2);
      assert.equal(await forgetViewer(f.store.db, { kind: 'user', id: 1 }), 1);
      assert.equal((await f.store.get(b.id))?.viewed, true, 'user 2 still viewed it');
      assert.equal(await forgetViewer(f.store.db, { kind: 'user', id: 2 }), 1);
      assert.equal((await f.store.get(b.id))?.viewed, false);
    });

    it('writes audit entries newest first', async () => {
      await f.store.audit('admin', 'flag', 'event:1', { flagged: true });
      await f.store.audit('anna', 'view', 'event:1');
      const entries = await f.store.listAudit();
      assert.deepEqual(
        entries.map((e) => [e.actor, e.action]),
        [
          ['anna', 'view'],
          ['admin', 'flag'],
        ],
      );
      assert.deepEqual(entries[1]?.details, { flagged: true });
    });

    it('counts recordings by state and bytes per camera', async () => {
      await storeOne('SN1', 'a', '12345');
      await f.store.recordDiscovered('SN2', cameraEvent('b'));
      const stats = await f.store.stats();
      assert.equal(stats.cameras, 2);
      assert.equal(stats.events, 2);
      assert.equal(stats.byState.stored, 1);
      assert.equal(stats.byState.new, 1);
      assert.equal(stats.storedBytes, 5 + 3);
    });
  });

  describe('recovery', () => {
    it('removes orphan .part files, keeps those a pending download may resume, and refetches missing files', async () => {
      const stored = await storeOne('SN1', 'kept');
      const { event: pending } = await f.store.recordDiscovered('SN1', cameraEvent('resuming'));
      const fetching = await f.store.markFetching(pending.id);
      const resumable = `${f.store.media.resolve(fetching!.videoPath!)}.part`;
      await mkdir(join(resumable, '..'), { recursive: true });
      await writeFile(resumable, 'half');
      const orphan = join(f.mediaDir, 'SN9', '2020', '01', '01', 'gone.mp4.part');
      await mkdir(join(orphan, '..'), { recursive: true });
      await writeFile(orphan, 'junk');
      const lost = await storeOne('SN1', 'lost');
      await rm(f.store.media.resolve(lost.videoPath!));

      await f.reopen();
      const report = await f.store.recover();
      assert.deepEqual(report.removedTemp, ['SN9/2020/01/01/gone.mp4.part']);
      assert.deepEqual(report.resetMissing, [lost.id]);
      assert.equal(await readFile(resumable, 'utf8'), 'half');
      await assert.rejects(stat(orphan), { code: 'ENOENT' });
      assert.equal((await f.store.get(lost.id))?.state, 'new');
      assert.equal((await f.store.get(stored.id))?.state, 'stored');
      assert.deepEqual((await f.store.listPending()).map((e) => e.fileName).sort(), ['lost', 'resuming']);
    });
  });
});
