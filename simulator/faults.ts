/**
 * Fault injection: the configuration, its validation, and the per-request decisions drawn from the camera's
 * seeded fault generator (a fixed number of draws per request, so that one fault's rate never shifts the
 * decisions of another, and the same seed gives the same decisions).
 */
import type { Random } from './prng';

export interface FaultConfig {
  /** Added before each response (ms). */
  latencyMs: number;
  /** 0 = unlimited; caps every response body (bytes per second). */
  bandwidthBytesPerSec: number;
  /** 0..1: answer 500/503 with {"error": "..."}. */
  errorRate: number;
  /** 0..1: destroy the socket before/while answering. */
  resetRate: number;
  /** 0..1: send Content-Length N but close after a part of the body. */
  truncateRate: number;
  /** 0..1: accept the request and never answer (until the client gives up). */
  stallRate: number;
  /** 0..1: media endpoints answer 200 + {"error": "..."} (JSON). */
  mediaJsonErrorRate: number;
  /** 0..1: JSON endpoints answer 200 with broken JSON. */
  malformedJsonRate: number;
  /** 0 = never; close SSE connections after this long (ms). */
  sseDropAfterMs: number;
  /** Added to the camera's clock (systemTime, triggeredAt), seconds. */
  clockSkewSeconds: number;
  /** New recordings get hostile values. */
  hostileRecordings: boolean;
  /** 0 = off; recordings created per second. */
  eventStormPerSecond: number;
}

export const NO_FAULTS: Readonly<FaultConfig> = Object.freeze({
  latencyMs: 0,
  bandwidthBytesPerSec: 0,
  errorRate: 0,
  resetRate: 0,
  truncateRate: 0,
  stallRate: 0,
  mediaJsonErrorRate: 0,
  malformedJsonRate: 0,
  sseDropAfterMs: 0,
  clockSkewSeconds: 0,
  hostileRecordings: false,
  eventStormPerSecond: 0,
});

export const FAULT_KEYS = Object.keys(NO_FAULTS) as (keyof FaultConfig)[];

const RATES = new Set<keyof FaultConfig>([
  'errorRate',
  'resetRate',
  'truncateRate',
  'stallRate',
  'mediaJsonErrorRate',
  'malformedJsonRate',
]);

/** Checks a partial fault configuration; throws a TypeError naming the first bad key. */
export function validateFaults(input: unknown): Partial<FaultConfig> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError('faults must be an object');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(FAULT_KEYS as string[]).includes(key)) throw new TypeError(`unknown fault: ${key}`);
    const name = key as keyof FaultConfig;
    if (name === 'hostileRecordings') {
      if (typeof value !== 'boolean') throw new TypeError(`${key} must be a boolean`);
    } else if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`${key} must be a finite number`);
    } else if (RATES.has(name) && (value < 0 || value > 1)) {
      throw new TypeError(`${key} must be between 0 and 1`);
    } else if (name !== 'clockSkewSeconds' && value < 0) {
      throw new TypeError(`${key} must not be negative`);
    }
    out[key] = value;
  }
  return out;
}

/** What happens to one request. */
export interface FaultPlan {
  stall: boolean;
  /** Destroy the socket (TCP reset) before answering... */
  reset: boolean;
  /** ...or right after the status line and headers. */
  resetAfterHeaders: boolean;
  error: boolean;
  errorStatus: 500 | 503;
  truncate: boolean;
  /** The fraction of the body sent before a truncation. */
  truncateAt: number;
  mediaJsonError: boolean;
  malformedJson: boolean;
}

/** Draws one request's fate: always the same 9 draws, whatever the rates. */
export function drawPlan(random: Random, faults: FaultConfig): FaultPlan {
  const [stall, reset, resetWhen, error, errorKind, truncate, truncateAt, mediaJson, malformed] = Array.from(
    { length: 9 },
    () => random(),
  ) as [number, number, number, number, number, number, number, number, number];
  return {
    stall: stall < faults.stallRate,
    reset: reset < faults.resetRate && resetWhen < 0.5,
    resetAfterHeaders: reset < faults.resetRate && resetWhen >= 0.5,
    error: error < faults.errorRate,
    errorStatus: errorKind < 0.5 ? 500 : 503,
    truncate: truncate < faults.truncateRate,
    truncateAt: 0.1 + truncateAt * 0.8,
    mediaJsonError: mediaJson < faults.mediaJsonErrorRate,
    malformedJson: malformed < faults.malformedJsonRate,
  };
}
