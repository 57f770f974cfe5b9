/**
 * Options of a `pfcam-backup` node: parsed from its configuration by one pure function (defaults + validation).
 */
import { InputError } from '../errors';
import type { S3BackupOptions } from './s3-backup';

/** Which confirmations the first output carries. */
export type BackupEmit = 'recording' | 'object' | 'both';

export interface BackupNodeOptions {
  backup: Pick<S3BackupOptions, 'concurrency' | 'backoff' | 'backupAllStored' | 'failureThreshold'>;
  emit: BackupEmit;
}

/** The raw editor configuration (retry delays in seconds, as the editor shows them). */
export interface RawBackupConfig {
  concurrency?: unknown;
  backupAll?: unknown;
  retryBaseSeconds?: unknown;
  retryMaxSeconds?: unknown;
  failureThreshold?: unknown;
  emit?: unknown;
}

function number(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
    return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new InputError(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`, {
      key: 'errors.badOption',
      params: { option: name },
    });
  }
  return n;
}

/** Defaults: 2 uploads at once, retries from 2 s doubling to 5 min, red after 3 failures, back up all stored. */
export function parseBackupNodeOptions(raw: RawBackupConfig): BackupNodeOptions {
  const baseSeconds = number(raw.retryBaseSeconds, 'retryBaseSeconds', 2, 0.1, 3600, false);
  const maxSeconds = number(raw.retryMaxSeconds, 'retryMaxSeconds', 300, 1, 86_400, false);
  if (maxSeconds < baseSeconds) {
    throw new InputError('the longest retry delay must not be shorter than the first one', {
      key: 'errors.badOption',
      params: { option: 'retryMaxSeconds' },
    });
  }
  const emit = raw.emit === undefined || raw.emit === '' ? 'recording' : raw.emit;
  if (emit !== 'recording' && emit !== 'object' && emit !== 'both') {
    throw new InputError('emit must be recording, object or both', {
      key: 'errors.badOption',
      params: { option: 'emit' },
    });
  }
  return {
    backup: {
      concurrency: number(raw.concurrency, 'concurrency', 2, 1, 16, true),
      backoff: { baseMs: Math.round(baseSeconds * 1000), maxMs: Math.round(maxSeconds * 1000) },
      backupAllStored: !(raw.backupAll === false || raw.backupAll === 'false'),
      failureThreshold: number(raw.failureThreshold, 'failureThreshold', 3, 1, 1000, true),
    },
    emit,
  };
}
