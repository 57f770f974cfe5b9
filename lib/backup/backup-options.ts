/**
 * Options of a `pfcam-backup` node: parsed from its configuration by one pure function (defaults + validation).
 */
import { InputError } from '../errors';
import { configOption, readBoolean, readEnum, readInteger, readNumber } from '../config/option-reader';
import type { S3BackupOptions } from './s3-backup';

/** Which confirmations the first output carries. */
export const BACKUP_EMITS = ['recording', 'object', 'both'] as const;
export type BackupEmit = (typeof BACKUP_EMITS)[number];

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

/** Defaults: 2 uploads at once, retries from 2 s doubling to 5 min, red after 3 failures, back up all stored. */
export function parseBackupNodeOptions(raw: RawBackupConfig): BackupNodeOptions {
  const baseSeconds = readNumber(configOption(raw, 'retryBaseSeconds'), 0.1, 3600, 2);
  const maxSeconds = readNumber(configOption(raw, 'retryMaxSeconds'), 1, 86_400, 300);
  if (maxSeconds < baseSeconds) {
    throw new InputError('the longest retry delay must not be shorter than the first one', {
      key: 'errors.badOption',
      params: { option: 'retryMaxSeconds' },
    });
  }
  const emit = readEnum(configOption(raw, 'emit'), BACKUP_EMITS, 'recording');
  return {
    backup: {
      concurrency: readInteger(configOption(raw, 'concurrency'), 1, 16, 2),
      backoff: { baseMs: Math.round(baseSeconds * 1000), maxMs: Math.round(maxSeconds * 1000) },
      backupAllStored: readBoolean(configOption(raw, 'backupAll'), true),
      failureThreshold: readInteger(configOption(raw, 'failureThreshold'), 1, 1000, 3),
    },
    emit,
  };
}
