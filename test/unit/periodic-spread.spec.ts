import { strict as assert } from 'node:assert';
import { firstPeriodMs } from '../../lib/time/periodic-spread';

describe('periodic spread', () => {
  it('puts the first wait in the second half of the period, never beyond it', () => {
    assert.equal(
      firstPeriodMs(10_000, () => 0),
      5000,
    );
    assert.equal(
      firstPeriodMs(10_000, () => 0.5),
      7500,
    );
    assert.equal(
      firstPeriodMs(10_000, () => 0.999_999),
      10_000,
    );
    assert.equal(
      firstPeriodMs(10_000, () => 7),
      10_000,
    );
    assert.equal(
      firstPeriodMs(10_000, () => -1),
      5000,
    );
  });

  it('spreads waits drawn with Math.random over the whole second half', () => {
    const waits = Array.from({ length: 2000 }, () => firstPeriodMs(1000));
    assert.ok(waits.every((w) => w >= 500 && w <= 1000));
    assert.ok(Math.min(...waits) < 550 && Math.max(...waits) > 950);
  });
});
