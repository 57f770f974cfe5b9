/**
 * Options of the `pfcam-watch` and `pfcam-archive` nodes: the raw editor configuration turned into readonly,
 * validated values (one pure function per node, with the defaults).
 */
import { InputError } from '../errors';

export interface WatchOptions {
  /** Listen to the camera's SSE recordings feed (when it has one). */
  readonly useSse: boolean;
  /** Interval of the `GET /api/events` reconciliation (ms). A reconciliation also runs after every reconnect. */
  readonly reconcileIntervalMs: number;
  /** Wait before retrying after a failed reconciliation or identification (ms); at most the interval. */
  readonly retryMs: number;
}

export interface ArchiveOptions {
  /** Downloads at once over all cameras. */
  readonly concurrency: number;
  /** Downloads at once from one camera (its link is slow). */
  readonly perCamera: number;
  /** Also download the thumbnail. */
  readonly fetchThumbnail: boolean;
  /** How often recordings whose download failed are tried again, and pending ones picked up (ms). */
  readonly retryIntervalMs: number;
  /** After this many failed attempts a recording is left in `failed` (0: never give up). */
  readonly maxAttempts: number;
  /** Fetch the recordings left pending by a previous run (crash, restart, redeploy) at start. */
  readonly recoverOnStart: boolean;
  /** A download that receives nothing for this long is abandoned (its part kept) and tried again later (ms). */
  readonly stallTimeoutMs: number;
}

export interface RawWatchConfig {
  useSse?: unknown;
  reconcileInterval?: unknown;
}

export interface RawArchiveConfig {
  concurrency?: unknown;
  perCamera?: unknown;
  fetchThumbnail?: unknown;
  retryInterval?: unknown;
  maxAttempts?: unknown;
  recoverOnStart?: unknown;
  stallTimeout?: unknown;
}

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new InputError(`expected true or false, got ${JSON.stringify(value)}`);
}

/** A number from the editor (number or numeric text) within [min, max]; `fallback` when empty. */
function numberIn(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new InputError(
      `${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`,
      { key: 'errors.badOption', params: { option: name, min, max } },
    );
  }
  return n;
}

/** `pfcam-watch`: SSE on, reconciliation every 30 s (0.05 s to 1 day). */
export function parseWatchOptions(raw: RawWatchConfig): WatchOptions {
  const seconds = numberIn('reconcileInterval', raw.reconcileInterval, 30, 0.05, 86_400, false);
  const reconcileIntervalMs = Math.round(seconds * 1000);
  return Object.freeze({
    useSse: flag(raw.useSse, true),
    reconcileIntervalMs,
    retryMs: Math.min(reconcileIntervalMs, 5000),
  });
}

/**
 * `pfcam-archive`: 4 downloads at once, 2 per camera, thumbnails on, retry every 30 s, never give up, a download
 * silent for 60 s abandoned.
 */
export function parseArchiveOptions(raw: RawArchiveConfig): ArchiveOptions {
  const concurrency = numberIn('concurrency', raw.concurrency, 4, 1, 64, true);
  const perCamera = numberIn('perCamera', raw.perCamera, 2, 1, 16, true);
  return Object.freeze({
    concurrency,
    perCamera: Math.min(perCamera, concurrency),
    fetchThumbnail: flag(raw.fetchThumbnail, true),
    retryIntervalMs: Math.round(numberIn('retryInterval', raw.retryInterval, 30, 0.05, 86_400, false) * 1000),
    maxAttempts: numberIn('maxAttempts', raw.maxAttempts, 0, 0, 1_000_000, true),
    recoverOnStart: flag(raw.recoverOnStart, true),
    stallTimeoutMs: Math.round(numberIn('stallTimeout', raw.stallTimeout, 60, 0.1, 86_400, false) * 1000),
  });
}
