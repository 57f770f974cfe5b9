/**
 * Retention: carries out the plan of retention-plan.ts on an event store, and deletes recordings on their
 * cameras once they are durable.
 *
 * Removing a recording, crash-safe in both directions:
 * 1. a journal row (`retention_journal`, namespace `retention`) records the recording and its file paths;
 * 2. `EventStore.retire` marks the row retired and clears its paths in one transaction (the row stays as the
 *    tombstone that keeps the recording from being discovered again), then removes the files;
 * 3. the journal's paths are removed (again: idempotent) and the journal row is deleted.
 * The row never points at a missing file (its paths go before the files do), and a crash between 2 and 3 leaves
 * the journal row, from which `recover()` (run at the start of every run) finishes the job: no orphan file.
 *
 * Deleting on the camera goes through a callback, so this module stays camera-agnostic. A recording qualifies
 * once it is stored here (and its backup confirmed when `requireBackup`); a 404 on the camera counts as done.
 */
import * as fsp from 'node:fs/promises';
import { errorText, PfcamError } from '../errors';
import type { EventStore } from '../store/event-store';
import { RetentionQueries, type DueCursor, type JournalRow } from '../store/retention-queries';
import {
  planRetention,
  type DiskUsage,
  type KeepReason,
  type RemovalReason,
  type RetentionCandidate,
  type RetentionPlan,
} from './retention-plan';
import type { RetentionOptions } from './retention-options';

export { RETENTION_MIGRATIONS, RETENTION_NAMESPACE } from '../store/retention-queries';

/**
 * Deletes one recording on its camera: resolves true when deleted, false when the camera no longer had it
 * (404). Throws CameraUnavailableError when no camera with that serial number is configured or reachable now.
 */
export type DeleteOnCamera = (cameraSerial: string, fileName: string) => Promise<boolean>;

/** No client for this camera (not configured here, or offline): its recordings wait for a later run. */
export class CameraUnavailableError extends PfcamError {
  constructor(cameraSerial: string, reason = 'not configured') {
    super('errors.cameraUnavailable', `camera ${cameraSerial} is not available (${reason})`, {
      params: { camera: cameraSerial },
    });
  }
}

/** `fs.statfs`'s shape (the part used), injectable: a full disk cannot be produced on demand. */
export type StatFs = (path: string) => Promise<{ bsize: number; blocks: number; bavail: number }>;

export interface RetentionDeps {
  store: EventStore;
  statfs?: StatFs;
  deleteOnCamera?: DeleteOnCamera;
  /** Who removes (audit). Default `retention`. */
  actor?: string;
  now?: () => number;
}

/** One recording removed (or, in a dry run, that would be). */
export interface RemovedRecording {
  id: number;
  cameraSerial: string;
  fileName: string;
  triggeredAt: string;
  bytes: number;
  reason: RemovalReason;
}

export interface RetentionReport {
  dryRun: boolean;
  /** Recordings removed (dry run: that would be). */
  removed: number;
  freedBytes: number;
  removedByReason: Record<RemovalReason, number>;
  /** Recordings a policy selected but a protection kept. */
  kept: Record<KeepReason, number>;
  /** Bytes still above the size limit / missing from the free-space minimum. */
  unmet: RetentionPlan['unmet'];
  /** The disk before the run (null when no free-space policy asked for it). */
  disk: DiskUsage | null;
  /** Recordings deleted on their camera (dry run: that would be), including those already gone there. */
  deletedOnCamera: number;
  /** Of those, how many the camera no longer had (404). */
  alreadyGoneOnCamera: number;
  /** Recordings whose camera is not configured or reachable: tried again next run. */
  cameraUnavailable: number;
  /** Half-done retirements finished at the start of the run. */
  recovered: number;
  failures: { id: number; fileName: string; error: string }[];
  /** The recordings removed, oldest first (at most 500 listed). */
  recordings: RemovedRecording[];
  recordingsTruncated: boolean;
}

const MAX_LISTED = 500;
const MAX_FAILURES = 100;
const CAMERA_BATCH = 500;

export class Retention {
  private readonly store: EventStore;
  private readonly statfs: StatFs;
  private readonly actor: string;
  private readonly now: () => number;
  private readonly queries: RetentionQueries;

  constructor(private readonly deps: RetentionDeps) {
    this.store = deps.store;
    this.statfs = deps.statfs ?? ((path) => fsp.statfs(path));
    this.actor = deps.actor ?? 'retention';
    this.now = deps.now ?? Date.now;
    this.queries = new RetentionQueries(deps.store.db);
  }

  /** Applies the journal's migration (once). */
  init(): Promise<void> {
    return this.queries.init();
  }

  /** Free space of the media folder's file system (what an unprivileged process may still write). */
  async diskUsage(): Promise<DiskUsage> {
    const s = await this.statfs(this.store.media.root);
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  }

  /** Finishes retirements a crash interrupted. Returns how many. */
  async recover(): Promise<number> {
    await this.init();
    const rows = await this.queries.journal();
    let done = 0;
    for (const row of rows) {
      try {
        await this.finish(row);
        done += 1;
      } catch {
        // left in the journal for the next run
      }
    }
    return done;
  }

  /** Local recordings retention may consider, with what the planner needs. */
  candidates(): Promise<RetentionCandidate[]> {
    return this.queries.candidates();
  }

  /** Plans without doing anything. */
  async plan(options: RetentionOptions): Promise<{ plan: RetentionPlan; disk: DiskUsage | null }> {
    const disk = options.minFree !== undefined ? await this.diskUsage() : null;
    const plan = planRetention(await this.candidates(), options, disk ?? undefined, new Date(this.now()));
    return { plan, disk };
  }

  /** One run: recovery, deletion on cameras (when enabled), then removal by the policies. */
  async run(options: RetentionOptions, signal?: AbortSignal): Promise<RetentionReport> {
    await this.init();
    const recovered = options.dryRun ? 0 : await this.recover();
    const report: RetentionReport = {
      dryRun: options.dryRun,
      removed: 0,
      freedBytes: 0,
      removedByReason: { age: 0, size: 0, disk: 0 },
      kept: { flagged: 0, notBackedUp: 0 },
      unmet: { sizeBytes: 0, diskBytes: 0 },
      disk: null,
      deletedOnCamera: 0,
      alreadyGoneOnCamera: 0,
      cameraUnavailable: 0,
      recovered,
      failures: [],
      recordings: [],
      recordingsTruncated: false,
    };
    const fail = (id: number, fileName: string, err: unknown): void => {
      if (report.failures.length < MAX_FAILURES)
        report.failures.push({ id, fileName, error: errorText(err) });
    };

    if (options.deleteOnCamera) await this.deleteOnCameras(options, report, fail, signal);

    const { plan, disk } = await this.plan(options);
    report.disk = disk;
    report.kept = plan.kept;
    report.unmet = plan.unmet;
    for (const { candidate, reason } of plan.remove) {
      signal?.throwIfAborted();
      if (!options.dryRun) {
        try {
          if (!(await this.retireOne(candidate.id, reason, options))) continue;
        } catch (err) {
          fail(candidate.id, candidate.fileName, err);
          continue;
        }
      }
      report.removed += 1;
      report.freedBytes += candidate.bytes;
      report.removedByReason[reason] += 1;
      if (report.recordings.length < MAX_LISTED) {
        report.recordings.push({
          id: candidate.id,
          cameraSerial: candidate.cameraSerial,
          fileName: candidate.fileName,
          triggeredAt: candidate.triggeredAt,
          bytes: candidate.bytes,
          reason,
        });
      } else report.recordingsTruncated = true;
    }
    return report;
  }

  /**
   * Removes one recording (journal, retire, files, journal cleared). Re-checks the protections inside the
   * journal's transaction, so a recording flagged or re-queued for backup since the plan is kept. Resolves
   * false when it was kept or already retired.
   */
  private async retireOne(id: number, reason: RemovalReason, options: RetentionOptions): Promise<boolean> {
    const started = new Date(this.now()).toISOString();
    const journal = await this.queries.beginRetirement(id, reason, started, {
      keepFlagged: options.keepFlagged,
      requireBackup: options.requireBackup,
    });
    if (!journal) return false;
    await this.finish(journal, !options.keepFlagged);
    return true;
  }

  /** Steps 2 and 3 of a removal (also the recovery of a journal row). */
  private async finish(row: JournalRow, force = false): Promise<void> {
    const event = await this.store.get(row.event_id);
    if (event && event.retiredAt === null) {
      try {
        await this.store.retire(row.event_id, { actor: this.actor, reason: row.reason, force });
      } catch (err) {
        if (err instanceof PfcamError && err.key === 'errors.flagged') {
          // flagged since the decision: kept, and so are its files
          await this.queries.endRetirement(row.event_id);
          return;
        }
        throw err;
      }
    }
    for (const path of [row.video_path, row.thumb_path]) {
      if (path !== null) await this.store.media.remove(path);
    }
    await this.queries.endRetirement(row.event_id);
  }

  private async deleteOnCameras(
    options: RetentionOptions,
    report: RetentionReport,
    fail: (id: number, fileName: string, err: unknown) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const callback = this.deps.deleteOnCamera;
    const cameras = await this.queries.cameras();
    const unavailable = new Set<string>();
    const failuresBySerial = new Map<string, number>();
    // Camera by camera, each through its rows with a cursor: a camera that is down (its rows are never marked)
    // only stops its own deletions, never another camera's.
    for (const camera of cameras) {
      let cursor: DueCursor | undefined;
      for (;;) {
        signal?.throwIfAborted();
        if (!options.dryRun && (!callback || unavailable.has(camera.serial_number))) {
          // the camera's recordings not tried wait for the next run
          report.cameraUnavailable += await this.queries.countDueOnCamera(
            camera.id,
            options.requireBackup,
            cursor,
          );
          break;
        }
        const rows = await this.queries.duePageOnCamera(
          camera.id,
          options.requireBackup,
          cursor,
          CAMERA_BATCH,
        );
        for (const row of rows) {
          signal?.throwIfAborted();
          cursor = { at: row.triggered_at_utc, id: row.id };
          if (options.dryRun) report.deletedOnCamera += 1;
          else if (callback) {
            await this.deleteOneOnCamera(callback, camera.serial_number, row, report, fail, {
              unavailable,
              failuresBySerial,
            });
            if (unavailable.has(camera.serial_number)) break;
          }
        }
        if (rows.length < CAMERA_BATCH && !unavailable.has(camera.serial_number)) break;
      }
    }
  }

  /** Deletes one recording on its camera and marks it; a camera unavailable or failing 3 times is left alone. */
  private async deleteOneOnCamera(
    callback: DeleteOnCamera,
    serial: string,
    row: { id: number; file_name: string },
    report: RetentionReport,
    fail: (id: number, fileName: string, err: unknown) => void,
    cameras: { unavailable: Set<string>; failuresBySerial: Map<string, number> },
  ): Promise<void> {
    try {
      const deleted = await callback(serial, row.file_name);
      await this.store.markDeletedOnCamera(row.id);
      await this.store.audit(this.actor, 'delete-on-camera', `event:${row.id}`, {
        cameraSerial: serial,
        fileName: row.file_name,
        alreadyGone: !deleted,
      });
      report.deletedOnCamera += 1;
      if (!deleted) report.alreadyGoneOnCamera += 1;
    } catch (err) {
      if (err instanceof CameraUnavailableError) {
        cameras.unavailable.add(serial);
        report.cameraUnavailable += 1;
      } else {
        fail(row.id, row.file_name, err);
        // a camera that keeps failing is left alone for this run
        const n = (cameras.failuresBySerial.get(serial) ?? 0) + 1;
        cameras.failuresBySerial.set(serial, n);
        if (n >= 3) cameras.unavailable.add(serial);
      }
    }
  }
}
