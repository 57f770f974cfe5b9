import { strict as assert } from 'node:assert';
import { backoffDelay, parseRetryAfter, sleep } from '../../lib/camera/retry';

describe('camera retry backoff', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };

  it('doubles per failure up to the maximum, half fixed and half random', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, policy, () => 0)),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, policy, () => 0.999999)),
      [100, 200, 400, 800, 1000, 1000],
    );
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, policy);
      assert.ok(d >= 200 && d <= 400, String(d));
    }
    assert.equal(
      backoffDelay(1000, { baseDelayMs: 1, maxDelayMs: 60_000 }, () => 1),
      60_000,
    );
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores junk', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter(['2', '9']), 2000);
    const now = Date.parse('2024-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Mon, 01 Jan 2023 00:00:05 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it('sleeps until aborted, rejecting with the abort reason', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    await assert.rejects(sleep(10, controller.signal), (err) => err === reason);
    await sleep(1);
  });
});
