/**
 * The pure half of retention: given the local recordings, the disk figures and a policy, decide what to remove
 * and why. No I/O; the executor (retention.ts) carries the plan out.
 */

/** One local recording that retention may remove. */
export interface RetentionCandidate {
  id: number;
  cameraSerial: string;
  fileName: string;
  /** Trigger time, ISO-8601 UTC (the order of removal: oldest first). */
  triggeredAt: string;
  /** Bytes on disk (video + thumbnail). */
  bytes: number;
  flagged: boolean;
  /** The recording's objects are confirmed in the backup. */
  backedUp: boolean;
}

/** Free space on the media folder's file system. */
export interface DiskUsage {
  totalBytes: number;
  freeBytes: number;
}

/** A minimum of free space: a percentage of the file system, or a number of bytes. */
export type MinFree = { percent: number } | { bytes: number };

export interface RetentionPolicy {
  /** Remove recordings older than this many days (undefined: no age limit). */
  maxAgeDays: number | undefined;
  /** Keep the total of local recordings at or below this many bytes (undefined: no limit). */
  maxTotalBytes: number | undefined;
  /** Keep at least this much free on the media folder's file system (undefined: no limit). */
  minFree: MinFree | undefined;
  /** Never remove flagged recordings. */
  keepFlagged: boolean;
  /** Never remove a recording that is not confirmed in the backup. */
  requireBackup: boolean;
}

export type RemovalReason = 'age' | 'size' | 'disk';
export type KeepReason = 'flagged' | 'notBackedUp';

export interface PlannedRemoval {
  candidate: RetentionCandidate;
  /** The first policy, in the order age, size, disk, that selected the recording. */
  reason: RemovalReason;
}

export interface RetentionPlan {
  remove: PlannedRemoval[];
  freedBytes: number;
  /** Recordings a policy selected but a protection kept, by protection (a recording counts once). */
  kept: Record<KeepReason, number>;
  /** The ids behind `kept`. */
  keptIds: Record<KeepReason, number[]>;
  /** Bytes still above the size limit and still missing from the free-space minimum after the plan. */
  unmet: { sizeBytes: number; diskBytes: number };
  /** The minimum free space in bytes that applied (undefined: none). */
  minFreeBytes: number | undefined;
}

const DAY_MS = 86_400_000;

/** The minimum free space in bytes for a file system of `totalBytes`. */
export function minFreeBytes(minFree: MinFree, totalBytes: number): number {
  return 'percent' in minFree ? Math.ceil((totalBytes * minFree.percent) / 100) : minFree.bytes;
}

function protection(candidate: RetentionCandidate, policy: RetentionPolicy): KeepReason | undefined {
  if (policy.keepFlagged && candidate.flagged) return 'flagged';
  if (policy.requireBackup && !candidate.backedUp) return 'notBackedUp';
  return undefined;
}

/**
 * Plans a retention run. Oldest first: age removes every unprotected recording past the limit; size then removes
 * the oldest unprotected ones until the total fits; free disk removes more, oldest first, until the minimum is
 * reached (assuming each removal frees its bytes). Protected recordings are skipped and counted in `kept`.
 */
export function planRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  disk: DiskUsage | undefined,
  now: Date,
): RetentionPlan {
  const ordered = [...candidates].sort(
    (a, b) => Date.parse(a.triggeredAt) - Date.parse(b.triggeredAt) || a.id - b.id,
  );
  const removed = new Map<number, PlannedRemoval>();
  const kept = new Map<number, KeepReason>();
  let freed = 0;

  const select = (candidate: RetentionCandidate, reason: RemovalReason): boolean => {
    if (removed.has(candidate.id)) return false;
    const keep = protection(candidate, policy);
    if (keep !== undefined) {
      kept.set(candidate.id, keep);
      return false;
    }
    removed.set(candidate.id, { candidate, reason });
    freed += candidate.bytes;
    return true;
  };

  if (policy.maxAgeDays !== undefined) {
    const cutoff = now.getTime() - policy.maxAgeDays * DAY_MS;
    for (const candidate of ordered) {
      const at = Date.parse(candidate.triggeredAt);
      if (Number.isNaN(at) || at >= cutoff) continue;
      select(candidate, 'age');
    }
  }

  const total = ordered.reduce((sum, c) => sum + c.bytes, 0);
  let sizeExcess = 0;
  if (policy.maxTotalBytes !== undefined) {
    sizeExcess = total - freed - policy.maxTotalBytes;
    for (const candidate of ordered) {
      if (sizeExcess <= 0) break;
      if (select(candidate, 'size')) sizeExcess -= candidate.bytes;
    }
  }

  let diskShort = 0;
  let minimum: number | undefined;
  if (policy.minFree !== undefined && disk !== undefined) {
    minimum = minFreeBytes(policy.minFree, disk.totalBytes);
    diskShort = minimum - (disk.freeBytes + freed);
    for (const candidate of ordered) {
      if (diskShort <= 0) break;
      if (select(candidate, 'disk')) diskShort -= candidate.bytes;
    }
  }

  const keptIds: Record<KeepReason, number[]> = { flagged: [], notBackedUp: [] };
  for (const [id, reason] of kept) if (!removed.has(id)) keptIds[reason].push(id);
  return {
    remove: [...removed.values()],
    freedBytes: freed,
    kept: { flagged: keptIds.flagged.length, notBackedUp: keptIds.notBackedUp.length },
    keptIds,
    unmet: { sizeBytes: Math.max(0, sizeExcess), diskBytes: Math.max(0, diskShort) },
    minFreeBytes: minimum,
  };
}
