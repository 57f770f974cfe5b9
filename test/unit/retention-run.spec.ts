import { strict as assert } from 'node:assert';
import { access, rm as fsRm } from 'node:fs/promises';
import { join } from 'node:path';
import { CameraUnavailableError, Retention, type StatFs } from '../../lib/retention/retention';
import { parseRetentionOptions, type RetentionOptions } from '../../lib/retention/retention-options';
import { EventStore, type EventRecord } from '../../lib/store/event-store';
import { addStoredRecording, daysAgo, openTempStore, type TempStore } from '../integration/backup-fixtures';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('retention run on a real store', () => {
  let temp: TempStore;
  const extra: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    temp = await openTempStore();
  });

  afterEach(async () => {
    for (const cleanup of extra.splice(0)) await cleanup().catch(() => undefined);
    await temp.close();
  });

  const policy = (changes: Partial<RetentionOptions>): RetentionOptions => ({
    ...parseRetentionOptions({}),
    ...changes,
  });
  const files = (e: EventRecord): string[] =>
    [e.videoPath, e.thumbPath].filter((p): p is string => p !== null).map((p) => join(temp.dir, 'media', p));
  const backedUp = (e: EventRecord): Promise<unknown> =>
    temp.store.db.run("UPDATE events SET backup_state = 'done' WHERE id = ?", [e.id]);

  it('removes video, thumbnail and row together for recordings past the age limit, with an audit entry each', async () => {
    const old = await addStoredRecording(temp.store, { fileName: 'old', triggeredAt: daysAgo(40) });
    const young = await addStoredRecording(temp.store, { fileName: 'young', triggeredAt: daysAgo(2) });
    const report = await new Retention({ store: temp.store }).run(policy({ maxAgeDays: 30 }));

    assert.equal(report.removed, 1);
    assert.equal(report.freedBytes, old.videoSize! + old.thumbSize!);
    assert.deepEqual(report.removedByReason, { age: 1, size: 0, disk: 0 });
    assert.deepEqual(
      report.recordings.map((r) => [r.fileName, r.reason]),
      [['old', 'age']],
    );
    for (const file of files(old)) assert.equal(await exists(file), false, file);
    for (const file of files(young)) assert.equal(await exists(file), true, file);
    const row = await temp.store.get(old.id);
    assert.ok(row?.retiredAt);
    assert.equal(row.videoPath, null);
    assert.equal(row.thumbPath, null);
    const audit = await temp.store.listAudit();
    assert.deepEqual(
      audit.filter((a) => a.action === 'retire').map((a) => [a.target, a.details?.reason]),
      [[`event:${old.id}`, 'age']],
    );
  });

  it('removes the oldest recordings until the total fits the size limit', async () => {
    const a = await addStoredRecording(temp.store, {
      fileName: 'a',
      triggeredAt: daysAgo(3),
      videoBytes: 1000,
      thumbBytes: 0,
    });
    const b = await addStoredRecording(temp.store, {
      fileName: 'b',
      triggeredAt: daysAgo(2),
      videoBytes: 1000,
      thumbBytes: 0,
    });
    const c = await addStoredRecording(temp.store, {
      fileName: 'c',
      triggeredAt: daysAgo(1),
      videoBytes: 1000,
      thumbBytes: 0,
    });
    const report = await new Retention({ store: temp.store }).run(policy({ maxTotalBytes: 1500 }));
    assert.deepEqual(
      report.recordings.map((r) => r.fileName),
      ['a', 'b'],
    );
    assert.ok((await temp.store.get(a.id))?.retiredAt);
    assert.ok((await temp.store.get(b.id))?.retiredAt);
    assert.equal((await temp.store.get(c.id))?.retiredAt, null);
  });

  it('frees the disk down to the minimum, reading the free space with the injected statfs', async () => {
    await addStoredRecording(temp.store, {
      fileName: 'a',
      triggeredAt: daysAgo(3),
      videoBytes: 4096,
      thumbBytes: 0,
    });
    await addStoredRecording(temp.store, {
      fileName: 'b',
      triggeredAt: daysAgo(2),
      videoBytes: 4096,
      thumbBytes: 0,
    });
    await addStoredRecording(temp.store, {
      fileName: 'c',
      triggeredAt: daysAgo(1),
      videoBytes: 4096,
      thumbBytes: 0,
    });
    const paths: string[] = [];
    // 100 blocks of 1 KiB, 2 free: 10 % asks for 10 KiB free, so 8 KiB must go
    const statfs: StatFs = (path) => {
      paths.push(path);
      return Promise.resolve({ bsize: 1024, blocks: 100, bavail: 2 });
    };
    const report = await new Retention({ store: temp.store, statfs }).run(
      policy({ minFree: { percent: 10 } }),
    );
    assert.deepEqual(paths, [join(temp.dir, 'media')]);
    assert.deepEqual(report.disk, { totalBytes: 102_400, freeBytes: 2048 });
    assert.deepEqual(
      report.recordings.map((r) => [r.fileName, r.reason]),
      [
        ['a', 'disk'],
        ['b', 'disk'],
      ],
    );
    assert.equal(report.unmet.diskBytes, 0);
  });

  it('keeps flagged recordings and says so in the report', async () => {
    const flagged = await addStoredRecording(temp.store, {
      fileName: 'f',
      triggeredAt: daysAgo(90),
      flagged: true,
    });
    const report = await new Retention({ store: temp.store }).run(policy({ maxAgeDays: 30 }));
    assert.equal(report.removed, 0);
    assert.deepEqual(report.kept, { flagged: 1, notBackedUp: 0 });
    for (const file of files(flagged)) assert.equal(await exists(file), true);
  });

  it('never removes a recording whose backup is not confirmed when backup is required', async () => {
    const pending = await addStoredRecording(temp.store, { fileName: 'p', triggeredAt: daysAgo(90) });
    const done = await addStoredRecording(temp.store, { fileName: 'd', triggeredAt: daysAgo(80) });
    await backedUp(done);
    await temp.store.db.run("UPDATE events SET backup_state = 'pending' WHERE id = ?", [pending.id]);
    const report = await new Retention({ store: temp.store }).run(
      policy({ maxAgeDays: 30, requireBackup: true }),
    );
    assert.deepEqual(
      report.recordings.map((r) => r.fileName),
      ['d'],
    );
    assert.deepEqual(report.kept, { flagged: 0, notBackedUp: 1 });
    for (const file of files(pending)) assert.equal(await exists(file), true);
  });

  it('changes nothing in a dry run and reports what it would do', async () => {
    const old = await addStoredRecording(temp.store, { fileName: 'old', triggeredAt: daysAgo(40) });
    const deleted: string[] = [];
    const retention = new Retention({
      store: temp.store,
      deleteOnCamera: (_serial, fileName) => {
        deleted.push(fileName);
        return Promise.resolve(true);
      },
    });
    const report = await retention.run(policy({ maxAgeDays: 30, dryRun: true, deleteOnCamera: true }));
    assert.equal(report.dryRun, true);
    assert.equal(report.removed, 1);
    assert.equal(report.deletedOnCamera, 1);
    assert.deepEqual(deleted, []);
    assert.equal((await temp.store.get(old.id))?.retiredAt, null);
    for (const file of files(old)) assert.equal(await exists(file), true);
  });

  it('finishes a removal a crash interrupted after the row was retired: no row points at a missing file, no file is left', async () => {
    // a store whose file removal fails, as if the process died right after retiring the row
    await temp.store.close();
    let failRemoval = true;
    const faulty = await EventStore.open({
      databaseFile: join(temp.dir, 'db', 'pfcam.sqlite'),
      mediaDir: join(temp.dir, 'media'),
      io: {
        rm: async (path, options) => {
          if (failRemoval && !path.endsWith('.part'))
            throw Object.assign(new Error('I/O error'), { code: 'EIO' });
          await fsRm(path, options);
        },
      },
    });
    temp.store = faulty;
    const old = await addStoredRecording(faulty, { fileName: 'old', triggeredAt: daysAgo(40) });
    const report = await new Retention({ store: faulty }).run(policy({ maxAgeDays: 30 }));
    assert.equal(report.removed, 0);
    assert.equal(report.failures.length, 1);
    const row = await faulty.get(old.id);
    assert.ok(row?.retiredAt);
    assert.equal(row.videoPath, null);
    for (const file of files(old)) assert.equal(await exists(file), true, 'the files are still there');
    const journal = await faulty.db.all('SELECT event_id FROM retention_journal');
    assert.deepEqual(journal, [{ event_id: old.id }]);

    // restart with a healthy disk: the next run's recovery removes the files
    failRemoval = false;
    const next = await new Retention({ store: faulty }).run(policy({ maxAgeDays: 30 }));
    assert.equal(next.recovered, 1);
    for (const file of files(old)) assert.equal(await exists(file), false, file);
    assert.deepEqual(await faulty.db.all('SELECT event_id FROM retention_journal'), []);
  });

  it('finishes a removal a crash interrupted before the row was retired', async () => {
    const old = await addStoredRecording(temp.store, { fileName: 'old', triggeredAt: daysAgo(40) });
    const retention = new Retention({ store: temp.store });
    await retention.init();
    await temp.store.db.run(
      "INSERT INTO retention_journal (event_id, video_path, thumb_path, reason, started_at) VALUES (?, ?, ?, 'age', ?)",
      [old.id, old.videoPath, old.thumbPath, new Date().toISOString()],
    );
    assert.equal(await retention.recover(), 1);
    const row = await temp.store.get(old.id);
    assert.ok(row?.retiredAt);
    for (const file of files(old)) assert.equal(await exists(file), false, file);
  });

  it('deletes durable recordings on their camera once, counts a 404 as done, and waits for cameras not available', async () => {
    const a = await addStoredRecording(temp.store, { fileName: 'a', triggeredAt: daysAgo(3) });
    const b = await addStoredRecording(temp.store, { fileName: 'b', triggeredAt: daysAgo(2) });
    const notBackedUp = await addStoredRecording(temp.store, { fileName: 'c', triggeredAt: daysAgo(1) });
    const elsewhere = await addStoredRecording(temp.store, {
      serial: 'PF-9',
      fileName: 'z',
      triggeredAt: daysAgo(1),
    });
    for (const e of [a, b, elsewhere]) await backedUp(e);
    const calls: string[] = [];
    const retention = new Retention({
      store: temp.store,
      deleteOnCamera: (serial, fileName) => {
        calls.push(`${serial}/${fileName}`);
        if (serial === 'PF-9') return Promise.reject(new CameraUnavailableError(serial));
        return Promise.resolve(fileName !== 'b'); // b: the camera answers 404
      },
    });
    const options = policy({ deleteOnCamera: true, requireBackup: true });
    const first = await retention.run(options);
    assert.equal(first.deletedOnCamera, 2);
    assert.equal(first.alreadyGoneOnCamera, 1);
    assert.equal(first.cameraUnavailable, 1);
    assert.deepEqual(calls.sort(), ['PF-0001/a', 'PF-0001/b', 'PF-9/z']);
    assert.ok((await temp.store.get(a.id))?.deletedOnCameraAt);
    assert.ok((await temp.store.get(b.id))?.deletedOnCameraAt);
    assert.equal((await temp.store.get(notBackedUp.id))?.deletedOnCameraAt, null);
    assert.equal((await temp.store.get(elsewhere.id))?.deletedOnCameraAt, null);
    const audit = (await temp.store.listAudit()).filter((e) => e.action === 'delete-on-camera');
    assert.equal(audit.length, 2);

    calls.length = 0;
    const second = await retention.run(options);
    assert.equal(second.deletedOnCamera, 0);
    assert.deepEqual(calls, ['PF-9/z']);
  });
});
