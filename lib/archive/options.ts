/**
 * Options of the `pfcam-watch` and `pfcam-archive` nodes: the raw editor configuration turned into readonly,
 * validated values (one pure function per node, with the defaults).
 */
import { configOption, readBoolean, readInteger, readNumber } from '../config/option-reader';

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

/** `pfcam-watch`: SSE on, reconciliation every 30 s (0.05 s to 1 day). */
export function parseWatchOptions(raw: RawWatchConfig): WatchOptions {
  const seconds = readNumber(configOption(raw, 'reconcileInterval'), 0.05, 86_400, 30);
  const reconcileIntervalMs = Math.round(seconds * 1000);
  return Object.freeze({
    useSse: readBoolean(configOption(raw, 'useSse'), true),
    reconcileIntervalMs,
    retryMs: Math.min(reconcileIntervalMs, 5000),
  });
}

/**
 * `pfcam-archive`: 4 downloads at once, 2 per camera, thumbnails on, retry every 30 s, never give up, a download
 * silent for 60 s abandoned.
 */
export function parseArchiveOptions(raw: RawArchiveConfig): ArchiveOptions {
  const concurrency = readInteger(configOption(raw, 'concurrency'), 1, 64, 4);
  const perCamera = readInteger(configOption(raw, 'perCamera'), 1, 16, 2);
  return Object.freeze({
    concurrency,
    perCamera: Math.min(perCamera, concurrency),
    fetchThumbnail: readBoolean(configOption(raw, 'fetchThumbnail'), true),
    retryIntervalMs: Math.round(readNumber(configOption(raw, 'retryInterval'), 0.05, 86_400, 30) * 1000),
    maxAttempts: readInteger(configOption(raw, 'maxAttempts'), 0, 1_000_000, 0),
    recoverOnStart: readBoolean(configOption(raw, 'recoverOnStart'), true),
    stallTimeoutMs: Math.round(readNumber(configOption(raw, 'stallTimeout'), 0.1, 86_400, 60) * 1000),
  });
}
