/**
 * The one time module: time-zone arithmetic with IANA names, on the platform's Intl (no dependency). Camera
 * times (a recording's `triggeredAt`, the camera clock) to UTC, and UTC instants to local calendar buckets.
 *
 * A date-time with an offset (`Z`, `+01:00`, `+0100`, `+01`) is exact; one without is wall-clock time in the
 * given zone, UTC when no zone or an unknown one is given. Impossible dates and times (Feb 30, 24:00, 12:60,
 * an offset of +25:00) are refused, never rolled over into the next day or month.
 */
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

/**
 * Normalises a camera's date-time to `YYYY-MM-DDTHH:MM:SS.sssZ` (see the module comment for the rules). A date
 * alone is refused. A local time that does not exist (skipped by a DST jump) is moved forward by the jump; one
 * that exists twice (clocks set back) resolves to the earlier instant. Throws InputError (`errors.badTime`) when
 * the text is not an ISO-8601 date-time or names an impossible one.
 */
export function toUtcIso(raw: string, timeZone?: string): string {
  const m = typeof raw === 'string' ? ISO.exec(raw.trim()) : null;
  if (!m)
    throw new InputError(`not an ISO-8601 time: ${JSON.stringify(raw)?.slice(0, 60) ?? String(raw)}`, {
      key: 'errors.badTime',
    });
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
    throw badTime(raw);
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
      if (hours > 23 || minutes > 59) throw badTime(raw);
      utc = naive - sign * (hours * 60 + minutes) * 60_000;
    }
  } else if (timeZone && isValidTimeZone(timeZone)) {
    utc = zonedToUtcMs(wall, timeZone);
  } else {
    utc = naive;
  }
  if (!Number.isFinite(utc)) throw badTime(raw);
  return new Date(utc).toISOString();
}
