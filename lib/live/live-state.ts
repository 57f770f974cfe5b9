/**
 * What every live relay (MJPEG, fMP4) shares: its observable state and the reconnect backoff (the lifecycle that
 * uses them is upstream-lifecycle.ts).
 */

/**
 * - `idle`: nobody watches, no upstream connection.
 * - `connecting`: the first connection of a viewing session is being opened.
 * - `live`: frames arrive.
 * - `reconnecting`: the upstream dropped and is being reopened.
 * - `offline`: several attempts in a row failed; the relay keeps retrying with backoff.
 */
export const LIVE_STATES = ['idle', 'connecting', 'live', 'reconnecting', 'offline'] as const;
export type LiveState = (typeof LIVE_STATES)[number];

export interface BackoffOptions {
  /** First retry delay (ms), default 500. */
  baseMs: number;
  /** Largest retry delay (ms), default 15 000. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };

/** The delay before retry number `failures` (1-based): exponential, capped, with +-20 % jitter. */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  const raw = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}

/** A sleep that ends early (resolving) when `signal` aborts. */
export function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
