import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { LiveState } from '../../lib/live/live-state';
import { UpstreamLifecycle, type UpstreamSession } from '../../lib/live/upstream-lifecycle';
import { waitFor } from '../integration/live-fixtures';

/** A session the test drives: each attempt waits for the test to end it, live or failed. */
function drivenSession(): {
  session: UpstreamSession;
  attempts: number;
  open: number;
  goLive(): void;
  fail(): void;
} {
  let end: ((delivered: boolean) => void) | undefined;
  let live: (() => void) | undefined;
  const driven = {
    attempts: 0,
    open: 0,
    session: ((signal, onLive) =>
      new Promise<boolean>((resolve) => {
        driven.attempts++;
        driven.open++;
        let delivered = false;
        live = () => {
          delivered = true;
          onLive();
        };
        end = (d) => {
          driven.open--;
          resolve(d);
        };
        signal.addEventListener('abort', () => end?.(delivered), { once: true });
      })) as UpstreamSession,
    goLive: () => live?.(),
    fail: () => end?.(false),
  };
  return driven;
}

describe('the upstream lifecycle shared by the live relays', () => {
  const options = { idleCloseMs: 30, reconnect: { baseMs: 5, maxMs: 20 }, offlineAfterFailures: 2 };
  let lifecycle: UpstreamLifecycle | undefined;
  afterEach(() => lifecycle?.close());

  it('opens on the first want, stays open while wanted, closes the idle time after the release', async () => {
    const driven = drivenSession();
    const states: LiveState[] = [];
    let stopped = 0;
    const relay = new EventEmitter();
    relay.on('upstream-closed', () => stopped++);
    lifecycle = new UpstreamLifecycle(options, driven.session, {
      relay,
      onState: (s) => states.push(s),
    });
    lifecycle.want();
    lifecycle.want();
    assert.equal(driven.attempts, 1, 'one upstream for every want');
    driven.goLive();
    assert.equal(lifecycle.state, 'live');
    let checks = 0;
    let idle = true;
    lifecycle.release(() => {
      checks++;
      return idle;
    });
    idle = false; // a viewer came back before the idle time ran out
    await waitFor('the idle check', () => checks === 1, 5000);
    assert.equal(driven.open, 1, 'still wanted at the idle check: kept open');
    lifecycle.release(() => true);
    await waitFor('closed', () => stopped === 1, 5000);
    assert.equal(driven.open, 0);
    assert.deepEqual(states, ['connecting', 'live', 'idle']);
  });

  it('retries with backoff, says offline after the failures in a row, and reconnecting once it was live', async () => {
    const driven = drivenSession();
    const states: LiveState[] = [];
    const relay = new EventEmitter();
    relay.on('state', (s: LiveState) => states.push(s));
    lifecycle = new UpstreamLifecycle(options, driven.session, { relay });
    lifecycle.want();
    driven.fail();
    await waitFor('attempt 2', () => driven.attempts === 2, 5000);
    assert.equal(lifecycle.state, 'reconnecting');
    driven.fail();
    await waitFor('attempt 3', () => driven.attempts === 3, 5000);
    assert.equal(lifecycle.state, 'offline');
    driven.goLive();
    driven.fail();
    await waitFor('attempt 4', () => driven.attempts === 4, 5000);
    assert.deepEqual(states, ['connecting', 'reconnecting', 'offline', 'live', 'reconnecting']);
  });

  it('a session that throws counts as a failed attempt; close stops for good and is idempotent', async () => {
    let attempts = 0;
    lifecycle = new UpstreamLifecycle(
      options,
      () => {
        attempts++;
        return Promise.reject(new Error('unreachable'));
      },
      { relay: new EventEmitter() },
    );
    lifecycle.want();
    await waitFor('offline', () => lifecycle!.state === 'offline', 5000);
    lifecycle.close();
    lifecycle.close();
    const after = attempts;
    lifecycle.want(); // an attempt would start synchronously here
    assert.equal(attempts, after, 'no attempt after close');
    assert.equal(lifecycle.state, 'idle');
  });
});
