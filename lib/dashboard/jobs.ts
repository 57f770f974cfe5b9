/**
 * Long actions started from the dashboard (a settings write that restarts the camera, a reboot, a clock fix, a
 * rebuild from S3): the request answers at once with a job id, and the page follows the job until it ends. Jobs
 * are kept in memory, bounded, and only their starter (or an admin) may read them.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/permissions';
import { errorText, PfcamError } from '../errors';
import { notFound } from './dashboard-errors';

export type JobState = 'running' | 'done' | 'failed';

export interface JobView {
  id: string;
  kind: string;
  camera: string | null;
  state: JobState;
  startedAt: string;
  endedAt: string | null;
  /** How far the work is, while it runs (public data only: the work reports it). */
  progress: unknown;
  /** What the work resolved with (public data only: the caller shapes it). */
  result: unknown;
  error: { key: string; message: string } | null;
}

interface Job extends JobView {
  owner: { kind: Principal['kind']; id: number };
  done: Promise<void>;
}

export const MAX_JOBS = 200;

export class JobBoard {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Starts `work` and returns its job at once; the work's rejection becomes the job's error. The work may report
   * its progress through the function it is given (what the job shows while it runs).
   */
  start(
    principal: Principal,
    kind: string,
    camera: string | null,
    work: (progress: (now: unknown) => void) => Promise<unknown>,
  ): JobView {
    const job: Job = {
      id: randomUUID(),
      kind,
      camera,
      state: 'running',
      startedAt: new Date(this.now()).toISOString(),
      endedAt: null,
      progress: null,
      result: null,
      error: null,
      owner: { kind: principal.kind, id: principal.id },
      done: Promise.resolve(),
    };
    this.jobs.set(job.id, job);
    this.prune();
    const progress = (now: unknown): void => {
      if (job.state === 'running') job.progress = now ?? null;
    };
    job.done = Promise.resolve()
      .then(() => work(progress))
      .then(
        (result) => {
          job.state = 'done';
          job.result = result ?? null;
        },
        (err: unknown) => {
          job.state = 'failed';
          job.error = { key: err instanceof PfcamError ? err.key : 'errors.failed', message: errorText(err) };
        },
      )
      .finally(() => {
        job.endedAt = new Date(this.now()).toISOString();
      });
    return view(job);
  }

  /** The job, for its starter or an admin; 404 for anyone else. */
  get(principal: Principal, id: string): JobView {
    const job = this.jobs.get(id);
    const mine = job && job.owner.kind === principal.kind && job.owner.id === principal.id;
    if (!job || !(mine || principal.role === 'admin')) throw notFound('job');
    return view(job);
  }

  /** The newest job of `kind` (running or ended), or undefined. */
  latest(kind: string): JobView | undefined {
    let found: Job | undefined;
    for (const job of this.jobs.values()) if (job.kind === kind) found = job;
    return found && view(found);
  }

  /** Resolves when the job has ended (tests, shutdown). */
  async settled(id: string): Promise<void> {
    await this.jobs.get(id)?.done;
  }

  /** Resolves when every running job has ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  /** Drops the oldest ended jobs beyond MAX_JOBS. */
  private prune(): void {
    if (this.jobs.size <= MAX_JOBS) return;
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS) break;
      if (job.state !== 'running') this.jobs.delete(id);
    }
  }
}

function view(job: Job): JobView {
  return {
    id: job.id,
    kind: job.kind,
    camera: job.camera,
    state: job.state,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    progress: job.progress,
    result: job.result,
    error: job.error,
  };
}
