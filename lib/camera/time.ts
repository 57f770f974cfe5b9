/**
 * Camera time. A recording's `triggeredAt` may carry an offset (`Z`, `+01:00`) or not; without one it is the
 * camera's local wall-clock time in its IANA `timezone` (from `GET /api/system`). `toUtcIso` turns either into
 * a UTC instant with the platform's Intl time-zone data (no library).
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?$/;
const HAS_OFFSET = /\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the platform knows `timeZone` as an IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant` (ms since the epoch), in ms (east positive). */
export function zoneOffsetMs(timeZone: string, instant: number): number {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const whole = instant - (((instant % 1000) + 1000) % 1000);
  return wall - whole;
}

const DAY = 86_400_000;

/**
 * `triggeredAt` as a UTC ISO string (`2024-03-31T00:30:00.000Z`). With an offset the instant is kept; without
 * one it is read as wall-clock time in `timezone`. A local time that does not exist (skipped by a DST jump)
 * is moved forward by the jump; one that exists twice (clocks set back) resolves to the earlier instant
 * (the "compatible" rule of Temporal and of most calendars). Throws RangeError on an unreadable date or an
 * unknown zone.
 */
export function toUtcIso(triggeredAt: string, timezone: string): string {
  const text = triggeredAt.trim();
  if (HAS_OFFSET.test(text)) {
    const ms = Date.parse(normaliseOffset(text));
    if (Number.isNaN(ms)) throw new RangeError(`unreadable date-time: ${triggeredAt}`);
    return new Date(ms).toISOString();
  }
  const m = LOCAL.exec(text);
  if (!m) throw new RangeError(`unreadable date-time: ${triggeredAt}`);
  if (!isValidTimeZone(timezone)) throw new RangeError(`unknown time zone: ${timezone}`);
  const n = (i: number): number => Number(m[i] ?? 0);
  const fraction = Number(((m[7] ?? '') + '000').slice(0, 3));
  const wall = Date.UTC(n(1), n(2) - 1, n(3), n(4), n(5), n(6), fraction);
  if (Number.isNaN(wall)) throw new RangeError(`unreadable date-time: ${triggeredAt}`);

  const before = zoneOffsetMs(timezone, wall - DAY);
  const after = zoneOffsetMs(timezone, wall + DAY);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((utc) => wall - zoneOffsetMs(timezone, utc) === utc)
    .sort((a, b) => a - b);
  // none valid: the wall time fell in a gap; the offset in force before it moves it forward
  const utc = candidates[0] ?? wall - before;
  return new Date(utc).toISOString();
}

/** `+0100` / `+01` -> `+01:00` (Date.parse wants the colon form). */
function normaliseOffset(text: string): string {
  return text
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    .replace(/([+-]\d{2})$/, '$1:00')
    .replace(' ', 'T')
    .replace(',', '.');
}
