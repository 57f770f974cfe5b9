/**
 * The authenticated health report (`GET /pfcam/api/health`, `application/health+json` in the format of
 * draft-inadarei-api-health-check): for the site's monitoring, unlike the liveness endpoint it looks at the parts.
 *
 * Checks and their rules:
 * - `store:writable`: a committed write to the database (the one row of `ops_health_probe`, owned here) and an
 *   atomic write of a small file in the media folder. Either failing: `fail`.
 * - `camera:state` (one entry per camera): `online` pass; `unknown` (not probed yet) and `restarting` warn;
 *   `offline` fail (its recordings are not fetched while it is offline).
 * - `backup:backlog`: objects not yet confirmed in S3; `warn` when some failed for good.
 * - `backup:lastSuccess`: when an object was last confirmed; `warn` when objects wait and none was confirmed
 *   for `BACKUP_STALE_MS` (or ever).
 * - `disk:free`: bytes still writable on the media folder's file system; `warn` under 10 %, `fail` under 2 %.
 * - `alerts:outbox`: undelivered alerts; `warn` when one has waited more than `OUTBOX_STALE_MS` or some failed
 *   for good.
 * The overall status is the worst check's; the HTTP status is 200 for pass and warn, 503 for fail.
 */
import type { HealthSnapshot } from '../camera/camera-health';
import { errorText } from '../errors';
import { outboxBacklog } from '../notify/outbox';
import type { Database, Migration } from '../store/database';
import type { EventStore } from '../store/event-store';

export const HEALTH_CONTENT_TYPE = 'application/health+json';
export const BACKUP_STALE_MS = 24 * 60 * 60_000;
export const OUTBOX_STALE_MS = 60 * 60_000;
export const DISK_WARN_RATIO = 0.1;
export const DISK_FAIL_RATIO = 0.02;
/** The media folder's probe file (a dot file: never a recording's path). */
export const MEDIA_PROBE = '.health-probe';

export type HealthStatus = 'pass' | 'warn' | 'fail';

export interface HealthCheck {
  componentId?: string;
  componentType?: string;
  observedValue?: string | number | null;
  observedUnit?: string;
  status: HealthStatus;
  time: string;
  output?: string;
}

export interface HealthReport {
  status: HealthStatus;
  description: string;
  checks: Record<string, HealthCheck[]>;
}

/** A camera as the report sees it (from the camera registry). */
export interface HealthCamera {
  id: string;
  displayName: string;
  snapshot: HealthSnapshot;
}

const PROBE_NAMESPACE = 'ops-health';
const PROBE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'health write probe',
    up: `CREATE TABLE ops_health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at TEXT NOT NULL)`,
  },
];

const RANK: Record<HealthStatus, number> = { pass: 0, warn: 1, fail: 2 };

function worst(statuses: Iterable<HealthStatus>): HealthStatus {
  let out: HealthStatus = 'pass';
  for (const s of statuses) if (RANK[s] > RANK[out]) out = s;
  return out;
}

/** Writes the probe row (a committed, synced transaction). */
async function probeDatabase(db: Database, now: string): Promise<void> {
  await db.migrate(PROBE_NAMESPACE, PROBE_MIGRATIONS);
  await db.run(
    `INSERT INTO ops_health_probe (id, checked_at) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`,
    [now],
  );
}

async function check<T>(
  time: string,
  work: () => Promise<T>,
  judge: (value: T) => Omit<HealthCheck, 'time'>,
): Promise<HealthCheck> {
  try {
    return { ...judge(await work()), time };
  } catch (err) {
    return { status: 'fail', time, output: errorText(err) };
  }
}

/** The health report of a store and the registered cameras. */
export async function healthReport(
  store: EventStore,
  cameras: readonly HealthCamera[],
  clock: () => number = Date.now,
): Promise<HealthReport> {
  const nowMs = clock();
  const time = new Date(nowMs).toISOString();
  const backup = store.outbox;

  const storeCheck = check(
    time,
    async () => {
      await probeDatabase(store.db, time);
      await store.media.writeAtomic(MEDIA_PROBE, `${time}\n`);
    },
    () => ({ componentType: 'datastore', status: 'pass' }),
  );
  const backlogCheck = check(
    time,
    () => backup.backlog(),
    (b) => ({
      componentType: 'component',
      observedValue: b.pendingCount,
      observedUnit: 'objects',
      status: b.failedCount > 0 ? 'warn' : 'pass',
      ...(b.failedCount > 0 ? { output: `${b.failedCount} objects failed for good` } : {}),
    }),
  );
  const lastSuccessCheck = check(
    time,
    async () => ({ at: await backup.lastSuccessAt(), backlog: await backup.backlog() }),
    ({ at, backlog }) => {
      const stale = backlog.pendingCount > 0 && (at === null || nowMs - Date.parse(at) > BACKUP_STALE_MS);
      return {
        componentType: 'component',
        observedValue: at,
        status: stale ? 'warn' : 'pass',
        ...(stale ? { output: 'objects wait and none was confirmed for a day' } : {}),
      };
    },
  );
  const diskCheck = check(
    time,
    () => store.media.diskSpace(),
    (d) => {
      const ratio = d.totalBytes > 0 ? d.availableBytes / d.totalBytes : 0;
      return {
        componentType: 'system',
        observedValue: d.availableBytes,
        observedUnit: 'bytes',
        status: ratio < DISK_FAIL_RATIO ? 'fail' : ratio < DISK_WARN_RATIO ? 'warn' : 'pass',
        output: `${(ratio * 100).toFixed(1)} % of ${d.totalBytes} bytes free`,
      };
    },
  );
  const outboxCheck = check(
    time,
    () => outboxBacklog(store.db),
    (o) => {
      if (o === null)
        return { componentType: 'component', observedValue: 0, observedUnit: 'alerts', status: 'pass' };
      const stale = o.oldestPendingAt !== null && nowMs - o.oldestPendingAt > OUTBOX_STALE_MS;
      return {
        componentType: 'component',
        observedValue: o.pending,
        observedUnit: 'alerts',
        status: stale || o.failed > 0 ? 'warn' : 'pass',
        ...(o.failed > 0 ? { output: `${o.failed} alerts failed for good` } : {}),
        ...(stale ? { output: 'an alert has waited more than an hour' } : {}),
      };
    },
  );

  const cameraChecks: HealthCheck[] = cameras.map((c) => {
    const s = c.snapshot;
    const status: HealthStatus = s.state === 'online' ? 'pass' : s.state === 'offline' ? 'fail' : 'warn';
    return {
      componentId: s.serialNumber ?? c.id,
      componentType: 'component',
      observedValue: s.state,
      status,
      time: s.since,
      output: c.displayName,
    };
  });

  const checks: Record<string, HealthCheck[]> = {
    'store:writable': [await storeCheck],
    'camera:state': cameraChecks,
    'backup:backlog': [await backlogCheck],
    'backup:lastSuccess': [await lastSuccessCheck],
    'disk:free': [await diskCheck],
    'alerts:outbox': [await outboxCheck],
  };
  return {
    status: worst(Object.values(checks).flatMap((list) => list.map((c) => c.status))),
    description: 'pfcam application health',
    checks,
  };
}

/** 200 for pass and warn, 503 for fail (draft-inadarei-api-health-check). */
export function healthStatusCode(report: HealthReport): number {
  return report.status === 'fail' ? 503 : 200;
}
