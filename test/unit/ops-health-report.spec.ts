/** The health report's rules (lib/ops/health-report.ts) over a real store: what warns, what fails. */
import { strict as assert } from 'node:assert';
import type { HealthSnapshot } from '../../lib/camera/camera-health';
import { healthReport, healthStatusCode, type HealthCamera } from '../../lib/ops/health-report';
import { addStoredRecording } from '../integration/backup-fixtures';
import { openFixture, type StoreFixture } from './store-fixtures';

const cam = (id: string, state: HealthSnapshot['state']): HealthCamera => ({
  id,
  displayName: id,
  snapshot: { state, since: '2026-01-01T00:00:00.000Z', serialNumber: `SN-${id}` },
});

/** A file system of 1000 blocks of 1 KiB with `available` blocks free for us. */
const disk = (available: number) => ({
  statfs: () => Promise.resolve({ bsize: 1024, blocks: 1000, bavail: available, bfree: available }),
});

describe('health report rules (real store)', () => {
  let fx: StoreFixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('warns (200) for a camera not probed yet or restarting, and fails (503) for an offline one', async () => {
    fx = await openFixture({ io: disk(500) });
    const warn = await healthReport(fx.store, [
      cam('a', 'online'),
      cam('b', 'unknown'),
      cam('c', 'restarting'),
    ]);
    assert.equal(warn.status, 'warn');
    assert.equal(healthStatusCode(warn), 200);
    assert.deepEqual(
      warn.checks['camera:state']!.map((c) => c.status),
      ['pass', 'warn', 'warn'],
    );
    const fail = await healthReport(fx.store, [cam('a', 'online'), cam('d', 'offline')]);
    assert.equal(fail.status, 'fail');
    assert.equal(healthStatusCode(fail), 503);
  });

  it('warns under 10 % of the disk free and fails under 2 %', async () => {
    for (const [available, status] of [
      [500, 'pass'],
      [50, 'warn'],
      [10, 'fail'],
    ] as const) {
      fx = await openFixture({ io: disk(available) });
      const report = await healthReport(fx.store, []);
      assert.equal(report.checks['disk:free']![0]!.status, status, `${available} of 1000 blocks`);
      assert.equal(report.checks['disk:free']![0]!.observedValue, available * 1024);
      assert.equal(report.status, status);
      await fx.cleanup();
      fx = undefined;
    }
  });

  it('warns when a backup object failed for good, and when objects wait with no confirmed upload for a day', async () => {
    fx = await openFixture({ io: disk(500) });
    const rec = await addStoredRecording(fx.store, {
      fileName: 'r1',
      triggeredAt: '2026-01-01T00:00:00.000Z',
    });
    await fx.store.enqueueBackup(rec.id, [{ kind: 'video', key: 'site/r1.mp4' }]);
    const waiting = await healthReport(fx.store, []);
    assert.equal(waiting.checks['backup:backlog']![0]!.observedValue, 1);
    assert.equal(
      waiting.checks['backup:lastSuccess']![0]!.status,
      'warn',
      'never confirmed while objects wait',
    );
    const [item] = await fx.store.claimBackupBatch();
    await fx.store.markBackupFailed(item!.id, new Error('file changed'), { retryable: false });
    const failed = await healthReport(fx.store, []);
    assert.equal(failed.checks['backup:backlog']![0]!.status, 'warn');
    assert.match(failed.checks['backup:backlog']![0]!.output ?? '', /1 objects failed/);
    assert.equal(healthStatusCode(failed), 200);
  });
});
