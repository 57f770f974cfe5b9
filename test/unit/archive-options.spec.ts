import { strict as assert } from 'node:assert';
import { InputError } from '../../lib/errors';
import { parseArchiveOptions, parseWatchOptions } from '../../lib/archive/options';

describe('archive options', () => {
  describe('parseWatchOptions', () => {
    it('defaults to SSE on and a 30 s reconciliation', () => {
      const o = parseWatchOptions({});
      assert.equal(o.useSse, true);
      assert.equal(o.reconcileIntervalMs, 30_000);
      assert.equal(o.retryMs, 5000);
    });

    it('reads numbers given as text and booleans given as text, with fractions of seconds', () => {
      const o = parseWatchOptions({ useSse: 'false', reconcileInterval: ' 0.25 ' });
      assert.equal(o.useSse, false);
      assert.equal(o.reconcileIntervalMs, 250);
      assert.equal(o.retryMs, 250, 'the retry wait is never longer than the interval');
    });

    it('refuses an interval out of range or not a number, naming the option', () => {
      for (const bad of [0, -1, 'abc', 100_000, Number.NaN]) {
        assert.throws(
          () => parseWatchOptions({ reconcileInterval: bad }),
          (err: unknown) =>
            err instanceof InputError &&
            err.key === 'errors.badOption' &&
            err.params.option === 'reconcileInterval',
        );
      }
    });

    it('refuses a flag that is neither true nor false', () => {
      assert.throws(() => parseWatchOptions({ useSse: 'yes' }), InputError);
    });

    it('returns a frozen object', () => {
      assert.ok(Object.isFrozen(parseWatchOptions({})));
    });
  });

  describe('parseArchiveOptions', () => {
    it('defaults to 4 downloads, 2 per camera, thumbnails, 30 s retries, no attempt limit, recovery on, 60 s stall limit', () => {
      assert.deepEqual(
        { ...parseArchiveOptions({}) },
        {
          concurrency: 4,
          perCamera: 2,
          fetchThumbnail: true,
          retryIntervalMs: 30_000,
          maxAttempts: 0,
          recoverOnStart: true,
          stallTimeoutMs: 60_000,
        },
      );
    });

    it('caps the per-camera bound at the overall one', () => {
      const o = parseArchiveOptions({ concurrency: '2', perCamera: 8 });
      assert.equal(o.concurrency, 2);
      assert.equal(o.perCamera, 2);
    });

    it('refuses fractional or out-of-range concurrency and attempts', () => {
      for (const raw of [{ concurrency: 0 }, { concurrency: 1.5 }, { perCamera: 17 }, { maxAttempts: -1 }]) {
        assert.throws(() => parseArchiveOptions(raw), InputError);
      }
    });

    it('reads the retry interval in seconds', () => {
      assert.equal(parseArchiveOptions({ retryInterval: 0.5 }).retryIntervalMs, 500);
    });
  });
});
