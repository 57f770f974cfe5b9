/**
 * Runs async work one at a time, in call order. A camera restarts after a settings write, so two writes must
 * never be in flight to one camera: its config node holds one lock that every writer goes through.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** How many callers hold or wait for the lock. */
  get pending(): number {
    return this.waiting;
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(work, work);
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }
}
