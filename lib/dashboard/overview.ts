/**
 * The Overview screen's figures over the store, within the principal's camera scope: recordings today (in the
 * site's time zone), in the last 24 h and unviewed; recordings per hour per camera over 24 h and per day over
 * 30 days; storage per camera; backup backlog; the latest recordings.
 */
import type { Principal } from '../auth/permissions';
import type { EventStore } from '../store/event-store';
import {
  countEvents,
  queryEvents,
  storageUse,
  timeBuckets,
  type EventQuery,
  type TimeBucket,
} from '../store/query';
import { localParts, zonedToUtcMs } from '../time/zoned-time';
import { publicRecording, scoped, type PublicRecording } from './recordings';

export interface Overview {
  recordingsToday: number;
  recordingsLast24h: number;
  unviewed: number;
  flagged: number;
  /** Per camera serial: buckets `YYYY-MM-DDTHH` (site time) of the last 24 h. */
  perHour: Record<string, TimeBucket[]>;
  /** Buckets `YYYY-MM-DD` (site time) of the last 30 days, all visible cameras. */
  perDay: TimeBucket[];
  storage: { camera: string; name: string | null; recordings: number; bytes: number }[];
  storedBytes: number;
  /** Recordings waiting for / failed in the backup, and when the newest backed-up recording was confirmed. */
  backup: { pending: number; failed: number; newestBackedUpAt: string | null };
  latest: PublicRecording[];
}

const HOUR = 3_600_000;

/** The UTC instant of the local midnight that starts `nowMs`'s day in `timeZone`. */
export function startOfLocalDay(nowMs: number, timeZone: string): number {
  const p = localParts(nowMs, timeZone);
  return zonedToUtcMs({ year: p.year, month: p.month, day: p.day, hour: 0, minute: 0, second: 0 }, timeZone);
}

export async function overview(
  store: EventStore,
  principal: Principal,
  options: { timeZone: string; now?: number; latest?: number },
): Promise<Overview> {
  const now = options.now ?? Date.now();
  const base = scoped({}, principal);
  const empty: Overview = {
    recordingsToday: 0,
    recordingsLast24h: 0,
    unviewed: 0,
    flagged: 0,
    perHour: {},
    perDay: [],
    storage: [],
    storedBytes: 0,
    backup: { pending: 0, failed: 0, newestBackedUpAt: null },
    latest: [],
  };
  if (!base) return empty;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const with_ = (more: EventQuery): EventQuery => ({ ...base, ...more });
  const dayStart = startOfLocalDay(now, options.timeZone);
  const [today, last24h, unviewed, flagged, perDay, latest, storage, pending, failed, lastDone] =
    await Promise.all([
      countEvents(store.db, with_({ from: iso(dayStart) })),
      countEvents(store.db, with_({ from: iso(now - 24 * HOUR) })),
      countEvents(store.db, with_({ viewed: false })),
      countEvents(store.db, with_({ flagged: true })),
      timeBuckets(store.db, with_({ from: iso(now - 30 * 24 * HOUR) }), {
        bucket: 'day',
        timeZone: options.timeZone,
      }),
      queryEvents(store.db, with_({ limit: options.latest ?? 8 })),
      storageUse(store.db),
      countEvents(store.db, with_({ backupStates: ['pending'] })),
      countEvents(store.db, with_({ backupStates: ['failed'] })),
      queryEvents(store.db, with_({ backupStates: ['done'], limit: 1 })),
    ]);
  const visible = storage.cameras.filter(
    (c) => principal.cameras === null || principal.cameras.includes(c.serialNumber),
  );
  const perHour: Record<string, TimeBucket[]> = {};
  for (const c of visible) {
    perHour[c.serialNumber] = await timeBuckets(
      store.db,
      { cameras: [c.serialNumber], from: iso(now - 24 * HOUR) },
      { bucket: 'hour', timeZone: options.timeZone },
    );
  }
  return {
    recordingsToday: today,
    recordingsLast24h: last24h,
    unviewed,
    flagged,
    perHour,
    perDay,
    storage: visible.map((c) => ({
      camera: c.serialNumber,
      name: c.name,
      recordings: c.events,
      bytes: c.bytes,
    })),
    storedBytes: visible.reduce((s, c) => s + c.bytes, 0),
    backup: { pending, failed, newestBackedUpAt: lastDone.events[0]?.backedUpAt ?? null },
    latest: latest.events.map((e) => publicRecording(e, options.timeZone)),
  };
}
