/**
 * A work queue with two bounds: at most `overall` jobs at once, and at most `perKey` jobs at once for one key
 * (one camera: its link is slow, two parallel downloads already fill it). Jobs with the same id share one run
 * (a recording asked for twice while queued or running is fetched once). First in, first out within the bounds.
 *
 * The waiting jobs are kept in one first-in-first-out list per key, so that queuing and starting a job costs
 * a look at each key's first job, never a walk over every waiting job (a camera listing 50,000 recordings
 * queues 50,000 jobs behind its two download slots). Each running job gets its own abort signal (aborted when
 * the queue closes): nothing accumulates listeners on a signal shared by every job.
 */

export interface FetchQueueOptions {
  /** Jobs running at once over all keys (>= 1). */
  overall: number;
  /** Jobs running at once for one key (>= 1). */
  perKey: number;
}

interface Entry<T> {
  /** Arrival order (first in, first out across keys). */
  seq: number;
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

/** A first-in-first-out list with O(1) push and shift (no `Array.prototype.shift` over a long array). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compacts once the consumed half dominates (amortised O(1)).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  drain(): T[] {
    const out = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}

/** Work counters of a queue (what its cost is made of; tests and benches read them). */
export interface FetchQueueCounters {
  /** Jobs pushed (new ones, not the calls joining a queued or running job). */
  pushed: number;
  /** Waiting keys looked at while choosing the next job to start. */
  inspected: number;
}

export class FetchQueue<T> {
  /** Waiting jobs per key, each list first in, first out. */
  private readonly waiting = new Map<string, Fifo<Entry<T>>>();
  private readonly byId = new Map<string, Entry<T>>();
  private readonly runningPerKey = new Map<string, number>();
  /** The abort controllers of the running jobs (aborted on close). */
  private readonly controllers = new Set<AbortController>();
  private running = 0;
  private seq = 0;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly work: FetchQueueCounters = { pushed: 0, inspected: 0 };

  constructor(private readonly options: FetchQueueOptions) {
    if (!(options.overall >= 1) || !(options.perKey >= 1))
      throw new RangeError('concurrency bounds must be >= 1');
  }

  /** What the queue did so far. */
  get counters(): Readonly<FetchQueueCounters> {
    return { ...this.work };
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
    const entry: Entry<T> = { seq: this.seq++, id, key, run, promise, resolve, reject };
    this.byId.set(id, entry);
    let list = this.waiting.get(key);
    if (!list) {
      list = new Fifo();
      this.waiting.set(key, list);
    }
    list.push(entry);
    this.work.pushed++;
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
      const lists = [...this.waiting.values()];
      this.waiting.clear();
      for (const entry of lists.flatMap((l) => l.drain()).sort((a, b) => a.seq - b.seq)) {
        this.byId.delete(entry.id);
        entry.reject(new QueueClosedError());
      }
      for (const controller of this.controllers) controller.abort(new QueueClosedError());
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

  /** Starts jobs while there is room: each time the oldest first job among the keys below their bound. */
  private pump(): void {
    while (this.running < this.options.overall) {
      let next: Entry<T> | undefined;
      for (const [key, list] of this.waiting) {
        this.work.inspected++;
        if ((this.runningPerKey.get(key) ?? 0) >= this.options.perKey) continue;
        const head = list.peek();
        if (head && (!next || head.seq < next.seq)) next = head;
      }
      if (!next) return;
      const list = this.waiting.get(next.key)!;
      list.shift();
      if (list.length === 0) this.waiting.delete(next.key);
      this.start(next, this.runningPerKey.get(next.key) ?? 0);
    }
  }

  private start(entry: Entry<T>, busy: number): void {
    this.running++;
    this.runningPerKey.set(entry.key, busy + 1);
    const controller = new AbortController();
    this.controllers.add(controller);
    let result: Promise<T>;
    try {
      result = entry.run(controller.signal);
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    result
      .then(entry.resolve, entry.reject)
      .finally(() => {
        this.controllers.delete(controller);
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
