/**
 * The System screen's data (admin): local storage (disk and per camera), the backup backlog, and the retention
 * policy with a dry run of what it would delete next. The retention run itself belongs to lib/retention; the
 * dry run changes nothing. "Rebuild the index from S3" adds the recordings of the backup bucket the index lacks.
 */
import type { Backlog } from '../store/backup-outbox';
import { rebuildIndexFromS3, type RebuildReport } from '../backup/rebuild';
import type { S3Objects } from '../backup/s3-objects';
import { Retention } from '../retention/retention';
import type { RetentionOptions } from '../retention/retention-options';
import type { EventStore } from '../store/event-store';
import type { DiskSpace } from '../store/media-files';
import { storageUse } from '../store/query';
import { localTimeText } from './recordings';

export interface SystemStatus {
  disk: DiskSpace | null;
  storedBytes: number;
  recordings: number;
  cameras: { camera: string; name: string | null; recordings: number; bytes: number }[];
  backup: Backlog;
  retention: { policy: RetentionOptions | null };
}

export async function systemStatus(
  store: EventStore,
  policy: RetentionOptions | null,
): Promise<SystemStatus> {
  const [disk, use, backup] = await Promise.all([
    store.media.diskSpace().catch(() => null),
    storageUse(store.db),
    store.outbox.backlog(),
  ]);
  return {
    disk,
    storedBytes: use.totalBytes,
    recordings: use.events,
    cameras: use.cameras.map((c) => ({
      camera: c.serialNumber,
      name: c.name,
      recordings: c.events,
      bytes: c.bytes,
    })),
    backup,
    retention: { policy },
  };
}

export interface RetentionPreview {
  removed: number;
  freedBytes: number;
  removedByReason: Record<string, number>;
  kept: Record<string, number>;
  /** The first recordings it would delete (oldest first, at most `limit`). */
  next: { id: number; camera: string; fileName: string; localTime: string; bytes: number; reason: string }[];
}

/** What the retention policy would delete if it ran now (a dry run: nothing is removed). */
export async function retentionDryRun(
  store: EventStore,
  policy: RetentionOptions,
  options: { timeZone: string; limit?: number },
): Promise<RetentionPreview> {
  const report = await new Retention({ store, actor: 'dashboard' }).run({ ...policy, dryRun: true });
  return {
    removed: report.removed,
    freedBytes: report.freedBytes,
    removedByReason: report.removedByReason,
    kept: report.kept,
    next: report.recordings.slice(0, options.limit ?? 50).map((r) => ({
      id: r.id,
      camera: r.cameraSerial,
      fileName: r.fileName,
      localTime: localTimeText(r.triggeredAt, options.timeZone),
      bytes: r.bytes,
      reason: r.reason,
    })),
  };
}

/** The bucket the backup writes to: what "Rebuild the index from S3" reads. */
export interface BackupBucket {
  objects: S3Objects;
  /** The site's key prefix ('' for none). */
  prefix: string;
}

/** "Rebuild the index from S3" as the System screen shows it: while it runs (progress) and at the end. */
export interface RebuildSummary {
  /** Recordings found in the bucket (manifests read). */
  found: number;
  /** Recordings added to the index. */
  added: number;
  /** Recordings skipped: the index has them already, or their manifest is not valid. */
  skipped: number;
  /** Recordings that could not be read or added. */
  errors: number;
  /** The first failures: the object key and why. */
  failures: { key: string; error: string }[];
}

export const REBUILD_JOB = 'rebuildIndex';
const FAILURES_SHOWN = 20;

function summary(report: RebuildReport): RebuildSummary {
  return {
    found: report.manifests,
    added: report.inserted,
    skipped: report.existing + report.invalid,
    errors: report.failures.length,
    failures: report.failures.slice(0, FAILURES_SHOWN),
  };
}

/**
 * Adds to the index every recording of the bucket it lacks (lib/backup/rebuild), reporting the figures after
 * each manifest. Only adds: no local file and no row is deleted or changed, and no media is downloaded (a
 * recording known only from the bucket is listed as archived there).
 */
export async function rebuildIndex(
  store: EventStore,
  bucket: BackupBucket,
  options: { actor: string; onProgress?: (now: RebuildSummary) => void; signal?: AbortSignal },
): Promise<RebuildSummary> {
  const report = await rebuildIndexFromS3(store, bucket.objects, bucket.prefix, {
    download: false,
    actor: options.actor,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (now) => options.onProgress?.(summary(now)),
  });
  return summary(report);
}
