/**
 * Camera-local time: the offset of an IANA zone at an instant, and the formats the camera uses
 * (`triggeredAt` with or without an offset, and the `20261124T103000_123` file names).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
const zones = new Map<string, boolean>();
/** Offsets by zone and quarter hour (zone transitions fall on quarter hours). */
const offsets = new Map<string, number>();
const QUARTER_HOUR_MS = 15 * 60 * 1000;

/** True when `zone` is an IANA time zone name this runtime knows. */
export function isTimeZone(zone: string): boolean {
  let known = zones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (zones.size > 1000) zones.clear();
    zones.set(zone, known);
  }
  return known;
}

/** The IANA zone names, as `GET /api/system/timezones` lists them. */
export function timeZones(): string[] {
  const zones = Intl.supportedValuesOf('timeZone');
  return zones.includes('UTC') ? zones : [...zones, 'UTC'];
}

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, found);
  }
  return found;
}

/** The offset of `zone` from UTC at the instant `ms`, in minutes (unknown zones count as UTC). */
export function offsetMinutes(ms: number, zone: string): number {
  if (zone === 'UTC' || zone === '' || !isTimeZone(zone)) return 0;
  const bucket = Math.floor(ms / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
  const key = `${zone}@${bucket}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(bucket))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  const minutes = Math.round((asUtc - bucket) / 60000);
  if (offsets.size > 20000) offsets.clear();
  offsets.set(key, minutes);
  return minutes;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** The wall-clock fields of `ms` in `zone`. */
function local(ms: number, zone: string): { date: Date; offset: number } {
  const offset = offsetMinutes(ms, zone);
  return { date: new Date(ms + offset * 60000), offset };
}

/** `2026-11-24T10:30:00+01:00` (or without the offset: camera-local time). */
export function isoLocal(ms: number, zone: string, withOffset = true): string {
  const { date, offset } = local(ms, zone);
  const text =
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (!withOffset) return text;
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${text}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A recording's file name: camera-local `20261124T103000_123` (no extension). */
export function fileNameAt(ms: number, zone: string): string {
  const { date } = local(ms, zone);
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}` +
    `_${pad(date.getUTCMilliseconds(), 3)}`
  );
}
