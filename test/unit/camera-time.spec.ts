import { strict as assert } from 'node:assert';
import { isValidTimeZone, toUtcIso, zoneOffsetMs } from '../../lib/time/zoned-time';

describe('the time module (toUtcIso)', () => {
  it('keeps the instant of a date-time that carries an offset, whatever the zone', () => {
    assert.equal(toUtcIso('2024-06-01T12:00:00Z', 'Europe/Zurich'), '2024-06-01T12:00:00.000Z');
    assert.equal(toUtcIso('2024-06-01T12:00:00+02:00', 'America/New_York'), '2024-06-01T10:00:00.000Z');
    assert.equal(toUtcIso('2024-06-01T12:00:00-0330', 'UTC'), '2024-06-01T15:30:00.000Z');
    assert.equal(toUtcIso('2024-06-01T12:00:00.250+01', ''), '2024-06-01T11:00:00.250Z');
  });

  it('reads a date-time without offset as wall-clock time in the camera zone, winter and summer', () => {
    assert.equal(toUtcIso('2024-01-15T10:00:00', 'Europe/Zurich'), '2024-01-15T09:00:00.000Z');
    assert.equal(toUtcIso('2024-07-15T10:00:00', 'Europe/Zurich'), '2024-07-15T08:00:00.000Z');
    assert.equal(toUtcIso('2024-07-15 10:00:00.5', 'America/New_York'), '2024-07-15T14:00:00.500Z');
    assert.equal(toUtcIso('2024-07-15T10:00', 'Asia/Kolkata'), '2024-07-15T04:30:00.000Z');
    assert.equal(toUtcIso('2024-07-15T10:00:00', 'UTC'), '2024-07-15T10:00:00.000Z');
  });

  it('handles the hours around the spring DST jump (a skipped local time moves forward)', () => {
    // Europe/Zurich 2024-03-31: 02:00 CET -> 03:00 CEST
    assert.equal(toUtcIso('2024-03-31T01:59:59', 'Europe/Zurich'), '2024-03-31T00:59:59.000Z');
    assert.equal(toUtcIso('2024-03-31T02:30:00', 'Europe/Zurich'), '2024-03-31T01:30:00.000Z');
    assert.equal(toUtcIso('2024-03-31T03:00:00', 'Europe/Zurich'), '2024-03-31T01:00:00.000Z');
    // America/New_York 2024-03-10: 02:00 EST -> 03:00 EDT
    assert.equal(toUtcIso('2024-03-10T02:30:00', 'America/New_York'), '2024-03-10T07:30:00.000Z');
  });

  it('resolves a local time that happens twice (autumn) to the earlier instant', () => {
    // Europe/Zurich 2024-10-27: 03:00 CEST -> 02:00 CET; 02:30 exists twice
    assert.equal(toUtcIso('2024-10-27T02:30:00', 'Europe/Zurich'), '2024-10-27T00:30:00.000Z');
    assert.equal(toUtcIso('2024-10-27T03:30:00', 'Europe/Zurich'), '2024-10-27T02:30:00.000Z');
    assert.equal(toUtcIso('2024-10-27T01:30:00', 'Europe/Zurich'), '2024-10-26T23:30:00.000Z');
    // southern hemisphere: Australia/Sydney 2024-04-07 03:00 AEDT -> 02:00 AEST
    assert.equal(toUtcIso('2024-04-07T02:30:00', 'Australia/Sydney'), '2024-04-06T15:30:00.000Z');
  });

  it('refuses an unreadable date and impossible dates and times, never rolling them over', () => {
    for (const text of [
      'yesterday',
      '2024-02-30T10:00:00',
      '2023-02-29T10:00:00',
      '2024-04-31T00:00:00',
      '2024-01-15',
      '2024-01-15T24:00:00',
      '2024-01-15T10:60:00',
      '2024-01-15T10:00:60',
      '2024-01-15T10:00:00+25:00',
    ])
      assert.throws(() => toUtcIso(text, 'UTC'), { name: 'InputError' }, text);
    assert.equal(toUtcIso('2024-02-29T10:00:00', 'UTC'), '2024-02-29T10:00:00.000Z');
  });

  it('reads a time without offset as UTC when no zone or an unknown one is given', () => {
    assert.equal(toUtcIso('2024-01-15T10:00:00', 'Mars/Olympus'), '2024-01-15T10:00:00.000Z');
    assert.equal(toUtcIso('2024-01-15T10:00:00', ''), '2024-01-15T10:00:00.000Z');
    assert.equal(isValidTimeZone('Europe/Zurich'), true);
    assert.equal(isValidTimeZone('Nowhere/Land'), false);
  });

  it('reads zone offsets at an instant', () => {
    assert.equal(zoneOffsetMs(Date.UTC(2024, 0, 1), 'Europe/Zurich'), 3_600_000);
    assert.equal(zoneOffsetMs(Date.UTC(2024, 6, 1), 'Europe/Zurich'), 7_200_000);
    assert.equal(zoneOffsetMs(Date.UTC(2024, 0, 1), 'America/St_Johns'), -12_600_000);
  });
});
