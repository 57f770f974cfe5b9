/**
 * Time-zone arithmetic with IANA names, on the platform's Intl (no dependency): camera-local trigger times to
 * UTC, and UTC instants to local calendar buckets.
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

/**
 * Normalises a camera's `triggeredAt` to `YYYY-MM-DDTHH:MM:SS.sssZ`. A time with an offset (`Z`, `+01:00`) is
 * exact; one without is wall-clock time in `timeZone` (UTC when no valid zone is given).
 * Throws InputError when the text is not an ISO-8601 date-time.
 */
export function toUtcIso(raw: string, timeZone?: string): string {
  const m = typeof raw === 'string' ? ISO.exec(raw.trim()) : null;
  if (!m)
    throw new InputError(`not an ISO-8601 time: ${JSON.stringify(raw).slice(0, 60)}`, {
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
    wall.day > 31 ||
    wall.hour > 23 ||
    wall.minute > 59 ||
    wall.second > 60
  ) {
    throw new InputError(`not a valid time: ${JSON.stringify(raw).slice(0, 60)}`, { key: 'errors.badTime' });
  }
  let utc: number;
  if (offset) {
    const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, ms);
    if (offset.toUpperCase() === 'Z') utc = naive;
    else {
      const sign = offset.startsWith('-') ? -1 : 1;
      const digits = offset.slice(1).replace(':', '');
      const offMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
      utc = naive - sign * offMin * 60_000;
    }
  } else if (timeZone && isValidTimeZone(timeZone)) {
    utc = zonedToUtcMs(wall, timeZone);
  } else {
    utc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, ms);
  }
  if (!Number.isFinite(utc))
    throw new InputError(`not a valid time: ${JSON.stringify(raw).slice(0, 60)}`, { key: 'errors.badTime' });
  return new Date(utc).toISOString();
}
