/**
 * The System screen's data (admin): local storage (disk and per camera), the backup backlog, and the retention
 * policy with a dry run of what it would delete next. The retention run itself belongs to lib/retention; the
 * dry run changes nothing.
 */
import type { Backlog } from '../store/backup-outbox';
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
