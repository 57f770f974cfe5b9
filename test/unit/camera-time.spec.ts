import { strict as assert } from 'node:assert';
import { buildEventFilter } from '../../lib/camera/event-filter';
import { InputError } from '../../lib/errors';
import { validateQuery } from '../../lib/store/query';
import { isValidTimeZone, readInstant, toUtcIso, zoneOffsetMs } from '../../lib/time/zoned-time';

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

describe('the time module (readInstant)', () => {
  const at = (value: unknown) => ({ value, source: 'msg.payload.from' });

  it('reads a time bound: ISO text, a date alone, epoch ms (number or digits), a Date; not set is undefined', () => {
    const table: [unknown, number | undefined][] = [
      ['2024-03-01T10:00:00Z', Date.UTC(2024, 2, 1, 10)],
      ['2024-03-01T10:00:00', Date.UTC(2024, 2, 1, 10)],
      ['2024-03-01T10:00:00+01:00', Date.UTC(2024, 2, 1, 9)],
      ['2024-03-01', Date.UTC(2024, 2, 1)],
      ['2024-02-29T23:59:59.5Z', Date.UTC(2024, 1, 29, 23, 59, 59, 500)],
      [1700000000000, 1700000000000],
      ['1700000000000', 1700000000000],
      [new Date(5), 5],
      [undefined, undefined],
      [null, undefined],
      ['', undefined],
    ];
    for (const [value, expected] of table) assert.equal(readInstant(at(value)), expected, String(value));
  });

  it('reads a bound without offset in the given zone, with the DST rule of toUtcIso', () => {
    assert.equal(readInstant(at('2024-07-01T10:00:00'), 'Europe/Zurich'), Date.UTC(2024, 6, 1, 8));
    assert.equal(readInstant(at('2024-07-01'), 'Europe/Zurich'), Date.UTC(2024, 5, 30, 22));
    // skipped (02:30 -> 03:30 CEST) and doubled (02:30 -> the first, CEST) local times
    assert.equal(readInstant(at('2024-03-31T02:30:00'), 'Europe/Zurich'), Date.UTC(2024, 2, 31, 1, 30));
    assert.equal(readInstant(at('2024-10-27T02:30:00'), 'Europe/Zurich'), Date.UTC(2024, 9, 27, 0, 30));
  });

  it('refuses impossible dates and times, with or without an offset, naming the source', () => {
    for (const text of [
      '2024-02-30T00:00:00Z',
      '2024-02-30T00:00:00',
      '2024-02-30',
      '2023-02-29',
      '2024-13-01T00:00:00Z',
      '2024-13-01',
      '2024-01-15T24:00:01Z',
      '2024-01-15T24:00:00',
      '2024-01-15T23:60:00+01:00',
      '2024-01-15T10:00:00+24:00',
    ]) {
      assert.throws(
        () => readInstant(at(text), 'Europe/Zurich'),
        (err: unknown) =>
          err instanceof InputError &&
          /^msg\.payload\.from names a date or time that does not exist, got '/.test(err.message),
        text,
      );
    }
  });

  it('refuses what is not a time at all', () => {
    const values = ['yesterday', '2024-03-01T10', '12abc', Number.NaN, {}, true, new Date(Number.NaN)];
    values.forEach((value, i) => {
      assert.throws(() => readInstant(at(value)), /msg\.payload\.from must be a date/, `value ${i}`);
    });
  });
});

describe('one answer for one time, whichever node reads it', () => {
  // pfcam-events read its time range with Date.parse (Feb 30 became Mar 1, a date alone was midnight) while
  // pfcam-query read msg.query with the time module (Feb 30 refused, a date alone refused).
  const events = (from: unknown) =>
    buildEventFilter({
      nameFilter: 'any',
      name: { value: undefined, source: 'name' },
      from: { value: from, source: 'msg.payload.from' },
      to: { value: undefined, source: 'msg.payload.to' },
      newest: { value: undefined, source: 'msg.payload.n' },
    }).fromMs;
  const query = (from: unknown) => validateQuery({ from }).from;

  it('gives the same instant for the same text', () => {
    for (const text of [
      '2024-03-01T10:00:00Z',
      '2024-03-01T10:00:00',
      '2024-03-01T10:00:00+05:30',
      '2024-03-01',
    ]) {
      const ms = events(text);
      assert.notEqual(ms, undefined);
      assert.equal(query(text), new Date(ms!).toISOString(), text);
    }
  });

  it('refuses Feb 30 in both, rolling it over in neither', () => {
    for (const text of ['2024-02-30T00:00:00Z', '2024-02-30']) {
      assert.throws(() => events(text), /does not exist/, text);
      assert.throws(() => query(text), { key: 'errors.badQuery', params: { option: 'from' } }, text);
    }
  });
});
