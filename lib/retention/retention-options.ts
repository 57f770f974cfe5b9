/**
 * Options of a retention run: parsed from a `pfcam-retention` node's configuration, and overridden per run by
 * a message's payload. Pure functions (defaults + validation).
 */
import { InputError } from '../errors';
import {
  configOption,
  isUnset,
  readBoolean,
  readEnum,
  readNumber,
  type OptionNaming,
} from '../config/option-reader';
import type { MinFree, RetentionPolicy } from './retention-plan';

const GB = 1024 ** 3;

export interface RetentionOptions extends RetentionPolicy {
  /** Minutes between scheduled runs; 0: only on input. */
  intervalMinutes: number;
  /** Only report what would be done. */
  dryRun: boolean;
  /** Delete a recording on its camera once it is durable (stored, and backed up when backup is required). */
  deleteOnCamera: boolean;
}

/** The raw editor configuration of a `pfcam-retention` node (sizes in GB, as the editor shows them). */
export interface RawRetentionConfig {
  intervalMinutes?: unknown;
  maxAgeDays?: unknown;
  maxTotalGB?: unknown;
  minFreeMode?: unknown;
  minFreePercent?: unknown;
  minFreeGB?: unknown;
  keepFlagged?: unknown;
  requireBackup?: unknown;
  deleteOnCamera?: unknown;
}

/** Per-run overrides a message may carry in `msg.payload` (sizes in bytes). */
export interface RetentionOverrides {
  maxAgeDays?: number | null;
  maxTotalBytes?: number | null;
  minFreePercent?: number | null;
  minFreeBytes?: number | null;
  keepFlagged?: boolean;
  requireBackup?: boolean;
  deleteOnCamera?: boolean;
  dryRun?: boolean;
}

const NAMING: OptionNaming = { key: 'errors.retentionOption', param: 'name', source: (name) => name };

/** A non-negative number option (the shared option rules); undefined when not set. */
function optionalNumber(raw: object, name: string): number | undefined {
  const input = configOption(raw, name, NAMING);
  return isUnset(input.value) ? undefined : readNumber(input, 0, Infinity);
}

function bool(raw: object, name: string, fallback: boolean): boolean {
  return readBoolean(configOption(raw, name, NAMING), fallback);
}

function percent(value: number | undefined): MinFree | undefined {
  if (value === undefined) return undefined;
  if (value >= 100) {
    throw new InputError(`the minimum free space must be below 100 %, not ${value}`, {
      key: 'errors.retentionOption',
      params: { name: 'minFreePercent' },
    });
  }
  return value === 0 ? undefined : { percent: value };
}

/**
 * Turns the editor configuration into options. Defaults: run every 60 minutes, no limits, keep flagged
 * recordings, do not require a backup, do not delete on cameras. An empty or 0 limit means "no limit".
 */
export function parseRetentionOptions(raw: RawRetentionConfig): RetentionOptions {
  const interval = optionalNumber(raw, 'intervalMinutes') ?? 60;
  const maxAge = optionalNumber(raw, 'maxAgeDays');
  const maxTotalGB = optionalNumber(raw, 'maxTotalGB');
  const mode = readEnum(
    configOption(raw, 'minFreeMode', NAMING),
    ['none', 'percent', 'bytes'] as const,
    'none',
  );
  let minFree: MinFree | undefined;
  if (mode === 'percent') minFree = percent(optionalNumber(raw, 'minFreePercent'));
  if (mode === 'bytes') {
    const gb = optionalNumber(raw, 'minFreeGB');
    minFree = gb === undefined || gb === 0 ? undefined : { bytes: Math.round(gb * GB) };
  }
  return {
    intervalMinutes: interval,
    maxAgeDays: maxAge === 0 ? undefined : maxAge,
    maxTotalBytes: maxTotalGB === undefined || maxTotalGB === 0 ? undefined : Math.round(maxTotalGB * GB),
    minFree,
    keepFlagged: bool(raw, 'keepFlagged', true),
    requireBackup: bool(raw, 'requireBackup', false),
    deleteOnCamera: bool(raw, 'deleteOnCamera', false),
    dryRun: false,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const OVERRIDE_KEYS = new Set([
  'maxAgeDays',
  'maxTotalBytes',
  'minFreePercent',
  'minFreeBytes',
  'keepFlagged',
  'requireBackup',
  'deleteOnCamera',
  'dryRun',
]);

/**
 * Applies `msg.payload` overrides (an object; anything else means "no overrides"). `null` or 0 removes a limit.
 * Unknown keys and wrong types are refused, so a typo never silently runs the configured policy.
 */
export function applyRetentionOverrides(base: RetentionOptions, payload: unknown): RetentionOptions {
  if (!isRecord(payload)) return base;
  const key = 'errors.retentionOverride';
  for (const name of Object.keys(payload)) {
    if (!OVERRIDE_KEYS.has(name)) {
      throw new InputError(`unknown retention option "${name}" in msg.payload`, { key, params: { name } });
    }
  }
  const next: RetentionOptions = { ...base };
  const limit = (name: string): number | undefined | 'keep' => {
    if (!(name in payload)) return 'keep';
    const value = payload[name];
    if (value === null) return undefined;
    if (typeof value !== 'number') {
      throw new InputError(`msg.payload.${name} must be a number or null`, { key, params: { name } });
    }
    const n = readNumber({ value, source: `msg.payload.${name}`, key, params: { name } }, 0, Infinity);
    return n === 0 ? undefined : n;
  };
  const age = limit('maxAgeDays');
  if (age !== 'keep') next.maxAgeDays = age;
  const total = limit('maxTotalBytes');
  if (total !== 'keep') next.maxTotalBytes = total;
  const pct = limit('minFreePercent');
  const bytes = limit('minFreeBytes');
  if (pct !== 'keep' && bytes !== 'keep' && pct !== undefined && bytes !== undefined) {
    throw new InputError('give msg.payload.minFreePercent or msg.payload.minFreeBytes, not both', {
      key,
      params: { name: 'minFree' },
    });
  }
  if (pct !== 'keep' && pct !== undefined) next.minFree = percent(pct);
  else if (bytes !== 'keep' && bytes !== undefined) next.minFree = { bytes };
  else if (pct !== 'keep' || bytes !== 'keep') next.minFree = undefined;
  for (const name of ['keepFlagged', 'requireBackup', 'deleteOnCamera', 'dryRun'] as const) {
    if (!(name in payload)) continue;
    const value = payload[name];
    if (typeof value !== 'boolean') {
      throw new InputError(`msg.payload.${name} must be true or false`, { key, params: { name } });
    }
    next[name] = value;
  }
  return next;
}
