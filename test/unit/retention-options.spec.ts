import { strict as assert } from 'node:assert';
import { applyRetentionOverrides, parseRetentionOptions } from '../../lib/retention/retention-options';

const GB = 1024 ** 3;

describe('retention options', () => {
  it('defaults to hourly runs, no limits, keeping flagged recordings, no backup requirement, no camera deletion', () => {
    assert.deepEqual(parseRetentionOptions({}), {
      intervalMinutes: 60,
      maxAgeDays: undefined,
      maxTotalBytes: undefined,
      minFree: undefined,
      keepFlagged: true,
      requireBackup: false,
      deleteOnCamera: false,
      dryRun: false,
    });
  });

  it('reads the editor fields: days, GB, free space in percent or GB, switches', () => {
    const options = parseRetentionOptions({
      intervalMinutes: '15',
      maxAgeDays: '30',
      maxTotalGB: '1.5',
      minFreeMode: 'percent',
      minFreePercent: '10',
      keepFlagged: false,
      requireBackup: 'true',
      deleteOnCamera: true,
    });
    assert.equal(options.intervalMinutes, 15);
    assert.equal(options.maxAgeDays, 30);
    assert.equal(options.maxTotalBytes, 1.5 * GB);
    assert.deepEqual(options.minFree, { percent: 10 });
    assert.equal(options.keepFlagged, false);
    assert.equal(options.requireBackup, true);
    assert.equal(options.deleteOnCamera, true);
    assert.deepEqual(parseRetentionOptions({ minFreeMode: 'bytes', minFreeGB: 2 }).minFree, {
      bytes: 2 * GB,
    });
  });

  it('treats an empty or zero limit as no limit', () => {
    const options = parseRetentionOptions({
      maxAgeDays: '',
      maxTotalGB: 0,
      minFreeMode: 'percent',
      minFreePercent: 0,
    });
    assert.equal(options.maxAgeDays, undefined);
    assert.equal(options.maxTotalBytes, undefined);
    assert.equal(options.minFree, undefined);
  });

  it('refuses negative or non-numeric values and a free space of 100 % or more, naming the option', () => {
    assert.throws(() => parseRetentionOptions({ maxAgeDays: '-1' }), {
      key: 'errors.retentionOption',
      params: { name: 'maxAgeDays' },
    });
    assert.throws(() => parseRetentionOptions({ maxTotalGB: 'lots' }), { key: 'errors.retentionOption' });
    assert.throws(() => parseRetentionOptions({ minFreeMode: 'percent', minFreePercent: 100 }), {
      key: 'errors.retentionOption',
    });
  });

  it('lets msg.payload override limits (null or 0 removes one) and switches, including a dry run', () => {
    const base = parseRetentionOptions({ maxAgeDays: 30, minFreeMode: 'percent', minFreePercent: 10 });
    const next = applyRetentionOverrides(base, {
      maxAgeDays: null,
      maxTotalBytes: 1000,
      dryRun: true,
      keepFlagged: false,
    });
    assert.equal(next.maxAgeDays, undefined);
    assert.equal(next.maxTotalBytes, 1000);
    assert.equal(next.dryRun, true);
    assert.equal(next.keepFlagged, false);
    assert.deepEqual(next.minFree, { percent: 10 });
    assert.deepEqual(applyRetentionOverrides(base, { minFreeBytes: 5 }).minFree, { bytes: 5 });
    assert.equal(applyRetentionOverrides(base, { minFreePercent: 0 }).minFree, undefined);
    assert.equal(applyRetentionOverrides(base, 'run'), base);
  });

  it('refuses unknown override keys, wrong types and both free-space forms at once', () => {
    const base = parseRetentionOptions({});
    assert.throws(() => applyRetentionOverrides(base, { maxAgeDay: 3 }), {
      key: 'errors.retentionOverride',
      params: { name: 'maxAgeDay' },
    });
    assert.throws(() => applyRetentionOverrides(base, { maxAgeDays: '3' }), {
      key: 'errors.retentionOverride',
    });
    assert.throws(() => applyRetentionOverrides(base, { dryRun: 'yes' }), {
      key: 'errors.retentionOverride',
    });
    assert.throws(() => applyRetentionOverrides(base, { minFreePercent: 5, minFreeBytes: 5 }), {
      key: 'errors.retentionOverride',
    });
  });
});
