import { strict as assert } from 'node:assert';
import { FetchQueue, QueueClosedError } from '../../lib/archive/fetch-queue';

/** A job whose end the test decides. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** Resolves once `predicate` holds (checked on every turn of the event loop), or fails. */
async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('archive fetch queue', () => {
  it('runs at most `perKey` jobs of one key and at most `overall` jobs in all', async () => {
    const q = new FetchQueue<string>({ overall: 3, perKey: 2 });
    const gates = new Map<string, ReturnType<typeof gate>>();
    let running = 0;
    let maxRunning = 0;
    const perKey = new Map<string, number>();
    let maxPerKey = 0;
    const jobs: Promise<string>[] = [];
    for (const key of ['a', 'b']) {
      for (let i = 0; i < 4; i++) {
        const id = `${key}${i}`;
        const g = gate();
        gates.set(id, g);
        jobs.push(
          q.push(id, key, async () => {
            running++;
            perKey.set(key, (perKey.get(key) ?? 0) + 1);
            maxRunning = Math.max(maxRunning, running);
            maxPerKey = Math.max(maxPerKey, perKey.get(key)!);
            await g.promise;
            running--;
            perKey.set(key, perKey.get(key)! - 1);
            return id;
          }),
        );
      }
    }
    await until(() => q.active === 3);
    for (const id of ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3']) {
      await until(() => running > 0);
      gates.get(id)!.open();
    }
    assert.deepEqual(await Promise.all(jobs), ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3']);
    assert.equal(maxRunning, 3);
    assert.equal(maxPerKey, 2);
    await q.idle();
    assert.equal(q.size, 0);
  });

  it('runs a job asked for twice while queued or running only once', async () => {
    const q = new FetchQueue<number>({ overall: 1, perKey: 1 });
    let runs = 0;
    const g = gate();
    const first = q.push('x', 'k', async () => {
      runs++;
      await g.promise;
      return 42;
    });
    const second = q.push('x', 'k', () => Promise.resolve(7));
    assert.equal(first, second);
    g.open();
    assert.equal(await second, 42);
    assert.equal(runs, 1);
  });

  it('passes a job failure to its caller and carries on with the next job', async () => {
    const q = new FetchQueue<string>({ overall: 1, perKey: 1 });
    const failing = q.push('1', 'k', () => Promise.reject(new Error('boom')));
    const next = q.push('2', 'k', () => Promise.resolve('ok'));
    await assert.rejects(failing, /boom/);
    assert.equal(await next, 'ok');
  });

  it('on close rejects the queued jobs, aborts the running ones and refuses new ones', async () => {
    const q = new FetchQueue<string>({ overall: 1, perKey: 1 });
    const running = q.push('1', 'k', (signal) => {
      return new Promise<string>((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    });
    const queued = q.push('2', 'k', () => Promise.resolve('never'));
    await until(() => q.active === 1);
    await q.close();
    await assert.rejects(running, /aborted/);
    await assert.rejects(queued, QueueClosedError);
    await assert.rejects(
      q.push('3', 'k', () => Promise.resolve('x')),
      QueueClosedError,
    );
    await q.close();
  });

  it('refuses bounds below one', () => {
    assert.throws(() => new FetchQueue({ overall: 0, perKey: 1 }), RangeError);
  });
});
