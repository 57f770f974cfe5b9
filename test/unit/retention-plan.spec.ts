import { strict as assert } from 'node:assert';
import {
  minFreeBytes,
  planRetention,
  type RetentionCandidate,
  type RetentionPolicy,
} from '../../lib/retention/retention-plan';

const NOW = new Date('2026-06-30T12:00:00Z');
const GB = 1024 ** 3;

function rec(
  id: number,
  daysAgo: number,
  bytes: number,
  extra: Partial<RetentionCandidate> = {},
): RetentionCandidate {
  return {
    id,
    cameraSerial: 'PF-1',
    fileName: `rec-${id}`,
    triggeredAt: new Date(NOW.getTime() - daysAgo * 86_400_000).toISOString(),
    bytes,
    flagged: false,
    backedUp: true,
    ...extra,
  };
}

const none: RetentionPolicy = {
  maxAgeDays: undefined,
  maxTotalBytes: undefined,
  minFree: undefined,
  keepFlagged: true,
  requireBackup: false,
};

const ids = (plan: ReturnType<typeof planRetention>): number[] => plan.remove.map((r) => r.candidate.id);

describe('retention plan', () => {
  it('removes nothing without a policy', () => {
    const plan = planRetention([rec(1, 400, 10)], none, undefined, NOW);
    assert.deepEqual(plan.remove, []);
    assert.equal(plan.freedBytes, 0);
  });

  it('removes every recording older than the age limit, oldest first, and nothing younger', () => {
    const plan = planRetention(
      [rec(3, 1, 10), rec(1, 40, 10), rec(2, 31, 10)],
      { ...none, maxAgeDays: 30 },
      undefined,
      NOW,
    );
    assert.deepEqual(ids(plan), [1, 2]);
    assert.ok(plan.remove.every((r) => r.reason === 'age'));
    assert.equal(plan.freedBytes, 20);
  });

  it('removes the oldest recordings until the total fits the size limit', () => {
    const plan = planRetention(
      [rec(1, 5, 40), rec(2, 4, 40), rec(3, 3, 40), rec(4, 2, 40)],
      { ...none, maxTotalBytes: 100 },
      undefined,
      NOW,
    );
    assert.deepEqual(ids(plan), [1, 2]);
    assert.ok(plan.remove.every((r) => r.reason === 'size'));
    assert.equal(plan.unmet.sizeBytes, 0);
  });

  it('counts what the age limit freed before applying the size limit', () => {
    const plan = planRetention(
      [rec(1, 50, 60), rec(2, 4, 40), rec(3, 3, 40)],
      { ...none, maxAgeDays: 30, maxTotalBytes: 100 },
      undefined,
      NOW,
    );
    assert.deepEqual(
      plan.remove.map((r) => [r.candidate.id, r.reason]),
      [[1, 'age']],
    );
  });

  it('removes the oldest recordings until the free space reaches the minimum, in percent or bytes', () => {
    const candidates = [rec(1, 5, 2 * GB), rec(2, 4, 2 * GB), rec(3, 3, 2 * GB)];
    const disk = { totalBytes: 100 * GB, freeBytes: 7 * GB };
    const pct = planRetention(candidates, { ...none, minFree: { percent: 10 } }, disk, NOW);
    assert.deepEqual(ids(pct), [1, 2]);
    assert.ok(pct.remove.every((r) => r.reason === 'disk'));
    assert.equal(pct.minFreeBytes, 10 * GB);
    const bytes = planRetention(candidates, { ...none, minFree: { bytes: 8 * GB } }, disk, NOW);
    assert.deepEqual(ids(bytes), [1]);
    assert.equal(minFreeBytes({ percent: 5 }, 1000), 50);
  });

  it('skips the free-space policy when the disk figures are unknown', () => {
    const plan = planRetention([rec(1, 5, 10)], { ...none, minFree: { percent: 99 } }, undefined, NOW);
    assert.deepEqual(plan.remove, []);
  });

  it('keeps flagged recordings and counts them, removing younger ones instead', () => {
    const plan = planRetention(
      [rec(1, 50, 40, { flagged: true }), rec(2, 40, 40), rec(3, 3, 40)],
      { ...none, maxAgeDays: 30, maxTotalBytes: 50 },
      undefined,
      NOW,
    );
    assert.deepEqual(ids(plan), [2, 3]);
    assert.deepEqual(plan.kept, { flagged: 1, notBackedUp: 0 });
    assert.deepEqual(plan.keptIds.flagged, [1]);
    assert.equal(plan.unmet.sizeBytes, 0);
  });

  it('removes flagged recordings too when told not to keep them', () => {
    const plan = planRetention(
      [rec(1, 50, 40, { flagged: true })],
      { ...none, maxAgeDays: 30, keepFlagged: false },
      undefined,
      NOW,
    );
    assert.deepEqual(ids(plan), [1]);
  });

  it('never selects a recording without a confirmed backup when backup is required, and reports the shortfall', () => {
    const plan = planRetention(
      [rec(1, 50, 40, { backedUp: false }), rec(2, 40, 40)],
      { ...none, requireBackup: true, maxTotalBytes: 0 },
      undefined,
      NOW,
    );
    assert.deepEqual(ids(plan), [2]);
    assert.deepEqual(plan.kept, { flagged: 0, notBackedUp: 1 });
    assert.equal(plan.unmet.sizeBytes, 40);
  });

  it('lists each recording once even when several policies select it', () => {
    const plan = planRetention(
      [rec(1, 50, 40), rec(2, 40, 40)],
      { ...none, maxAgeDays: 30, maxTotalBytes: 0, minFree: { bytes: 10 * GB } },
      { totalBytes: 20 * GB, freeBytes: 1 * GB },
      NOW,
    );
    assert.deepEqual(ids(plan), [1, 2]);
    assert.ok(plan.unmet.diskBytes > 0);
  });
});
