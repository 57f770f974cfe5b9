/**
 * A work queue with two bounds: at most `overall` jobs at once, and at most `perKey` jobs at once for one key
 * (one camera: its link is slow, two parallel downloads already fill it). Jobs with the same id share one run
 * (a recording asked for twice while queued or running is fetched once). First in, first out within the bounds.
 */
import { setMaxListeners } from 'node:events';

export interface FetchQueueOptions {
  /** Jobs running at once over all keys (>= 1). */
  overall: number;
  /** Jobs running at once for one key (>= 1). */
  perKey: number;
}

interface Entry<T> {
  id: string;
  key: string;
  run: (signal: AbortSignal) => Promise<T>;
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export class QueueClosedError extends Error {
  constructor() {
    super('the fetch queue is closed');
    this.name = 'QueueClosedError';
  }
}

export class FetchQueue<T> {
  private readonly waiting: Entry<T>[] = [];
  private readonly byId = new Map<string, Entry<T>>();
  private readonly runningPerKey = new Map<string, number>();
  private running = 0;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly options: FetchQueueOptions) {
    if (!(options.overall >= 1) || !(options.perKey >= 1))
      throw new RangeError('concurrency bounds must be >= 1');
    // Every running job listens to the one signal.
    setMaxListeners(0, this.abort.signal);
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.byId.size;
  }

  get active(): number {
    return this.running;
  }

  /** True when a job with this id is queued or running. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * Queues `run` under `key` unless a job with `id` is already queued or running, in which case its promise is
   * returned. `run` receives a signal that aborts when the queue closes.
   */
  push(id: string, key: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const existing = this.byId.get(id);
    if (existing) return existing.promise;
    if (this.closed) return Promise.reject(new QueueClosedError());
    let resolve!: (value: T) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = (err: unknown) => rej(err instanceof Error ? err : new Error(String(err)));
    });
    const entry: Entry<T> = { id, key, run, promise, resolve, reject };
    this.byId.set(id, entry);
    this.waiting.push(entry);
    this.pump();
    return promise;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.byId.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking jobs, rejects the queued ones, aborts the running ones and waits (at most `graceMs`) for them
   * to settle. Idempotent.
   */
  async close(graceMs = 5000): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const entry of this.waiting.splice(0)) {
        this.byId.delete(entry.id);
        entry.reject(new QueueClosedError());
      }
      this.abort.abort(new QueueClosedError());
    }
    if (this.running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.options.overall;) {
      const entry = this.waiting[i]!;
      const busy = this.runningPerKey.get(entry.key) ?? 0;
      if (busy >= this.options.perKey) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.start(entry, busy);
    }
  }

  private start(entry: Entry<T>, busy: number): void {
    this.running++;
    this.runningPerKey.set(entry.key, busy + 1);
    let result: Promise<T>;
    try {
      result = entry.run(this.abort.signal);
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    result
      .then(entry.resolve, entry.reject)
      .finally(() => {
        this.running--;
        const left = (this.runningPerKey.get(entry.key) ?? 1) - 1;
        if (left > 0) this.runningPerKey.set(entry.key, left);
        else this.runningPerKey.delete(entry.key);
        this.byId.delete(entry.id);
        if (this.byId.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        this.pump();
      })
      .catch(() => undefined);
  }
}
