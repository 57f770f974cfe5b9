/**
 * The one time module: time-zone arithmetic with IANA names, on the platform's Intl (no dependency). Camera
 * times (a recording's `triggeredAt`, the camera clock) to UTC, and UTC instants to local calendar buckets.
 *
 * A date-time with an offset (`Z`, `+01:00`, `+0100`, `+01`) is exact; one without is wall-clock time in the
 * given zone, UTC when no zone or an unknown one is given. Impossible dates and times (Feb 30, month 13, 24:00,
 * 12:60, an offset of +25:00) are refused, never rolled over into the next day or month.
 *
 * Daylight-saving changes, for a wall-clock time without offset: a time the clocks skip (spring, 02:30 in
 * Zurich on the last Sunday of March) is moved forward by the length of the jump (03:30 summer time); a time
 * that happens twice (autumn, 02:30 on the last Sunday of October) is the earlier of the two (summer time).
 * Both are accepted rather than refused: a camera's clock does write them, and the rule is the one a person
 * reading the wall clock would apply.
 *
 * Every date or time the package reads from a camera, a message, a node or a dashboard request goes through
 * `toUtcIso` (camera times, exact) or `readInstant` (time bounds: also a Date, epoch milliseconds or a date
 * alone); nothing else parses date text.
 */
import { optionError, isUnset, type OptionInput } from '../config/option-reader';
import { InputError } from '../errors';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `zone` is an IANA zone name the platform knows (`UTC` included). */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock parts of a UTC instant (ms) in `zone`. */
export function localParts(utcMs: number, zone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(utcMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The zone's offset from UTC at a UTC instant, in ms (east positive). */
export function zoneOffsetMs(utcMs: number, zone: string): number {
  const p = localParts(utcMs, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * The UTC instant of a wall-clock time in `zone`. For a time that happens twice (clocks going back) the first
 * is taken; for one that never happens (clocks going forward) the time after the gap.
 */
export function zonedToUtcMs(wall: LocalParts & { ms?: number }, zone: string): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const before = zoneOffsetMs(naive - 86_400_000, zone);
  const after = zoneOffsetMs(naive + 86_400_000, zone);
  const valid = [before, after].map((off) => naive - off).filter((t) => naive - zoneOffsetMs(t, zone) === t);
  const utc = valid.length > 0 ? Math.min(...valid) : naive - before;
  return utc + (wall.ms ?? 0);
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Days in a month (1-12) of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function badTime(raw: unknown): InputError {
  return new InputError(`not a valid time: ${JSON.stringify(raw)?.slice(0, 60) ?? String(raw)}`, {
    key: 'errors.badTime',
  });
}

/** Why a text is not a time: not ISO-8601 at all, or an ISO-8601 form naming a time that does not exist. */
type Refusal = 'format' | 'impossible';

/** The UTC instant (ms) of an ISO-8601 date-time, or why it is refused (see the module comment). */
function parseIso(text: string, timeZone: string | undefined, dateAlone: boolean): number | Refusal {
  const trimmed = text.trim();
  const m = ISO.exec(dateAlone && DATE.test(trimmed) ? `${trimmed}T00:00:00` : trimmed);
  if (!m) return 'format';
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  const wall = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s ?? 0),
    ms,
  };
  if (
    wall.month < 1 ||
    wall.month > 12 ||
    wall.day < 1 ||
    wall.day > daysInMonth(wall.year, wall.month) ||
    wall.hour > 23 ||
    wall.minute > 59 ||
    wall.second > 59
  ) {
    return 'impossible';
  }
  let utc: number;
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, ms);
  if (offset) {
    if (offset.toUpperCase() === 'Z') utc = naive;
    else {
      const sign = offset.startsWith('-') ? -1 : 1;
      const digits = offset.slice(1).replace(':', '');
      const hours = Number(digits.slice(0, 2));
      const minutes = Number(digits.slice(2) || 0);
      if (hours > 23 || minutes > 59) return 'impossible';
      utc = naive - sign * (hours * 60 + minutes) * 60_000;
    }
  } else if (timeZone && isValidTimeZone(timeZone)) {
    utc = zonedToUtcMs(wall, timeZone);
  } else {
    utc = naive;
  }
  return Number.isFinite(utc) ? utc : 'impossible';
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Normalises a camera's date-time to `YYYY-MM-DDTHH:MM:SS.sssZ` (see the module comment for the rules). A date
 * alone is refused. Throws InputError (`errors.badTime`) when the text is not an ISO-8601 date-time or names an
 * impossible one.
 */
export function toUtcIso(raw: string, timeZone?: string): string {
  const utc = typeof raw === 'string' ? parseIso(raw, timeZone, false) : 'format';
  if (utc === 'format')
    throw new InputError(`not an ISO-8601 time: ${JSON.stringify(raw)?.slice(0, 60) ?? String(raw)}`, {
      key: 'errors.badTime',
    });
  if (utc === 'impossible') throw badTime(raw);
  return new Date(utc).toISOString();
}

/**
 * A time bound from a message, a node or a request: a Date, epoch milliseconds (a number or digits), or an
 * ISO-8601 text: a date-time (without offset: wall-clock time in `timeZone`, default UTC) or a date alone (its
 * midnight). Not set: undefined. Refused with an InputError naming `input.source`: anything else, and a date
 * or time that does not exist (Feb 30, month 13, 24:00:01), which is never rolled over.
 */
export function readInstant(input: OptionInput, timeZone = 'UTC'): number | undefined {
  const { value } = input;
  if (isUnset(value)) return undefined;
  let ms: number | Refusal;
  if (value instanceof Date) ms = Number.isNaN(value.getTime()) ? 'format' : value.getTime();
  else if (typeof value === 'number') ms = Number.isFinite(value) ? value : 'format';
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) ms = Number(value.trim());
  else if (typeof value === 'string') ms = parseIso(value, timeZone, true);
  else ms = 'format';
  if (ms === 'impossible') throw optionError(input, 'names a date or time that does not exist');
  if (ms === 'format' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw optionError(
      input,
      'must be a date: an ISO-8601 text (2024-05-01T08:00:00Z), epoch milliseconds or a Date',
    );
  }
  return ms;
}
