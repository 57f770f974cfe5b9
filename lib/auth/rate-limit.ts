/**
 * Login throttling in memory: only failures count, per (IP, user) and per IP. After a few free failures each
 * further one doubles the wait (capped), and a success for the (IP, user) pair clears it. A user is never locked
 * out for good: the wait is bounded and keyed by the attacker's IP, so someone else's failures from another
 * address do not block the user.
 */
export interface RateLimitOptions {
  /** Failures allowed before a delay (per pair). */
  freePerPair?: number;
  /** Failures allowed before a delay (per IP, across users). */
  freePerIp?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Failures are forgotten after this quiet time. */
  forgetMs?: number;
  now?: () => number;
}

interface Bucket {
  failures: number;
  blockedUntil: number;
  lastAt: number;
}

export class LoginRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly o: Required<RateLimitOptions>;

  constructor(options: RateLimitOptions = {}) {
    this.o = {
      freePerPair: options.freePerPair ?? 5,
      freePerIp: options.freePerIp ?? 20,
      baseDelayMs: options.baseDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 15 * 60 * 1000,
      forgetMs: options.forgetMs ?? 60 * 60 * 1000,
      now: options.now ?? Date.now,
    };
  }

  private keys(ip: string, user: string): [string, number][] {
    return [
      [`p:${ip}\u0000${user.toLowerCase()}`, this.o.freePerPair],
      [`i:${ip}`, this.o.freePerIp],
    ];
  }

  /** Milliseconds to wait before an attempt is allowed (0 = now). */
  retryAfterMs(ip: string, user: string): number {
    const now = this.o.now();
    let wait = 0;
    for (const [key] of this.keys(ip, user)) {
      const b = this.buckets.get(key);
      if (b && b.blockedUntil > now) wait = Math.max(wait, b.blockedUntil - now);
    }
    return wait;
  }

  fail(ip: string, user: string): void {
    const now = this.o.now();
    if (this.buckets.size > 100_000) this.sweep(now);
    for (const [key, free] of this.keys(ip, user)) {
      let b = this.buckets.get(key);
      if (!b || now - b.lastAt > this.o.forgetMs) b = { failures: 0, blockedUntil: 0, lastAt: now };
      b.failures++;
      b.lastAt = now;
      if (b.failures >= free) {
        const delay = Math.min(this.o.baseDelayMs * 2 ** (b.failures - free), this.o.maxDelayMs);
        b.blockedUntil = now + delay;
      }
      this.buckets.set(key, b);
    }
  }

  succeed(ip: string, user: string): void {
    const first = this.keys(ip, user)[0];
    if (first) this.buckets.delete(first[0]);
  }

  private sweep(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.lastAt > this.o.forgetMs) this.buckets.delete(k);
  }
}
