/** Retry timing and the throughput figure of the backup. Pure, clock passed in. */

export interface BackoffOptions {
  /** Delay after the first failure, ms. */
  baseMs: number;
  /** Ceiling of the delay, ms. */
  maxMs: number;
}

/**
 * Delay before attempt `failures + 1` after `failures` consecutive failures (>= 1): exponential (base * 2^(n-1),
 * capped at max) with "equal jitter": half fixed, half random, so retries of many objects spread out after an
 * outage yet never come back immediately. `random` returns [0, 1).
 */
export function backoffDelay(
  failures: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(failures));
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(n - 1, 40));
  const half = exp / 2;
  return Math.round(half + half * Math.min(Math.max(random(), 0), 1));
}

/** Bytes per second over a sliding window (default the last minute). */
export class ThroughputMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 60_000) {}

  add(bytes: number, at: number): void {
    if (bytes > 0) this.samples.push({ at, bytes });
    this.prune(at);
  }

  /** Bytes per second averaged over the window ending at `now`. */
  rate(now: number): number {
    this.prune(now);
    const total = this.samples.reduce((sum, s) => sum + s.bytes, 0);
    return Math.round((total * 1000) / this.windowMs);
  }

  private prune(now: number): void {
    while (this.samples.length > 0 && this.samples[0]!.at <= now - this.windowMs) this.samples.shift();
  }
}
