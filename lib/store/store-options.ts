/**
 * The settings of the `pfcam-store` config node and of the `pfcam-query` node, from their raw editor values to
 * checked, readonly options with defaults (pure functions, no Node-RED).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors';
import {
  configOption,
  optionError,
  readBoolean,
  readEnum,
  readNumber,
  readString,
} from '../config/option-reader';
import type { ExportFormat } from './export';
import { validateQuery, type Bucket, type EventQuery } from './query';
import { isValidTimeZone } from '../time/zoned-time';

// ------------------------------------------------------------------ pfcam-store

/** The `pfcam-store` node's settings as the editor stores them. */
export interface RawStoreConfig {
  name?: unknown;
  databaseFile?: unknown;
  mediaDir?: unknown;
  recoverOnStart?: unknown;
  verifyFiles?: unknown;
}

/** Where Node-RED keeps its data, as `RED.settings` tells. */
export interface StoreSettings {
  userDir?: unknown;
  /** `pfcam.dataDir` in settings.js. */
  pfcam?: unknown;
}

export interface StoreConfig {
  readonly name: string;
  /** Absolute. */
  readonly databaseFile: string;
  /** Absolute. */
  readonly mediaDir: string;
  /** Sweep temp files and check stored files when opening. */
  readonly recoverOnStart: boolean;
  /** With `recoverOnStart`: check that every stored recording's video is on disk (slower on big archives). */
  readonly verifyFiles: boolean;
}

export const STORE_DEFAULTS = {
  databaseFile: 'pfcam.sqlite',
  mediaDir: 'media',
} as const;

/** How long the store waits, when closing, for the nodes using it to finish (ms), unless settings say otherwise. */
export const STORE_CLOSE_TIMEOUT_MS = 10_000;

/**
 * `pfcam.storeCloseTimeout` (ms) from settings.js: how long a closing store waits for its users before it closes
 * the database anyway. Below Node-RED's own 15 s close limit by default.
 */
export function storeCloseTimeoutMs(settings: StoreSettings): number {
  const pfcam = settings.pfcam;
  const raw =
    pfcam !== null && typeof pfcam === 'object'
      ? (pfcam as { storeCloseTimeout?: unknown }).storeCloseTimeout
      : undefined;
  return typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? raw : STORE_CLOSE_TIMEOUT_MS;
}

function text(raw: object, name: string, max = 4096): string {
  return readString(configOption(raw, name), max);
}

/**
 * The folder relative paths are resolved against: `pfcam.dataDir` from settings.js when set, else
 * `<userDir>/pfcam`, else `~/.node-red/pfcam`.
 */
export function storeBaseDir(settings: StoreSettings): string {
  const pfcam = settings.pfcam;
  const dataDir =
    pfcam !== null && typeof pfcam === 'object' ? (pfcam as { dataDir?: unknown }).dataDir : undefined;
  if (typeof dataDir === 'string' && dataDir.trim() !== '') return resolve(dataDir.trim());
  const userDir =
    typeof settings.userDir === 'string' && settings.userDir !== ''
      ? settings.userDir
      : join(homedir(), '.node-red');
  return resolve(userDir, 'pfcam');
}

/** Checks the `pfcam-store` settings; empty paths take the defaults under `storeBaseDir`. */
export function parseStoreConfig(raw: RawStoreConfig, settings: StoreSettings): StoreConfig {
  const base = storeBaseDir(settings);
  const db = text(raw, 'databaseFile') || STORE_DEFAULTS.databaseFile;
  const media = text(raw, 'mediaDir') || STORE_DEFAULTS.mediaDir;
  const databaseFile = resolve(base, db);
  const mediaDir = resolve(base, media);
  const rel = relative(mediaDir, databaseFile);
  if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) {
    throw new InputError('the database file must not be inside the media folder', {
      key: 'errors.badOption',
      params: { option: 'databaseFile' },
    });
  }
  if (databaseFile === mediaDir) {
    throw new InputError('the database file and the media folder must differ', {
      key: 'errors.badOption',
      params: { option: 'mediaDir' },
    });
  }
  return {
    name: text(raw, 'name', 200),
    databaseFile,
    mediaDir,
    recoverOnStart: readBoolean(configOption(raw, 'recoverOnStart'), true),
    verifyFiles: readBoolean(configOption(raw, 'verifyFiles'), true),
  };
}

// ------------------------------------------------------------------ pfcam-query

export type QueryOperation = 'query' | 'stats' | 'export';
export type StatsKind = 'time' | 'cameras' | 'storage' | 'store';
export type ExportTarget = 'payload' | 'file';

/** The `pfcam-query` node's settings as the editor stores them. */
export interface RawQueryNodeConfig {
  name?: unknown;
  operation?: unknown;
  /** JSON text of a default query (same shape as msg.query). */
  query?: unknown;
  stats?: unknown;
  bucket?: unknown;
  timeZone?: unknown;
  format?: unknown;
  target?: unknown;
  exportDir?: unknown;
  fileName?: unknown;
  maxPayloadMB?: unknown;
}

export interface QueryNodeConfig {
  readonly name: string;
  readonly operation: QueryOperation;
  /** Defaults msg.query is merged over. */
  readonly query: EventQuery;
  readonly stats: StatsKind;
  readonly bucket: Bucket;
  readonly timeZone: string;
  readonly format: ExportFormat;
  readonly target: ExportTarget;
  /** Absolute folder file exports go to (required for `target: 'file'`). */
  readonly exportDir: string;
  /** Default export file name (without folder). */
  readonly fileName: string;
  readonly maxPayloadBytes: number;
}

export const QUERY_NODE_DEFAULTS = {
  maxPayloadMB: 16,
  timeZone: 'UTC',
} as const;

/** Checks the `pfcam-query` settings. `exportDir` may be relative to `storeBaseDir`. */
export function parseQueryNodeConfig(raw: RawQueryNodeConfig, settings: StoreSettings): QueryNodeConfig {
  let query: EventQuery = {};
  const queryText = text(raw, 'query', 10_000);
  if (queryText !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(queryText);
    } catch {
      throw new InputError('the default query is not valid JSON', {
        key: 'errors.badOption',
        params: { option: 'query' },
      });
    }
    query = validateQuery(parsed);
  }
  const timeZone = text(raw, 'timeZone', 64) || QUERY_NODE_DEFAULTS.timeZone;
  if (!isValidTimeZone(timeZone)) {
    throw new InputError(`"${timeZone}" is not an IANA time zone name`, {
      key: 'errors.badOption',
      params: { option: 'timeZone' },
    });
  }
  const target = readEnum<ExportTarget>(configOption(raw, 'target'), ['payload', 'file'], 'payload');
  const dirText = text(raw, 'exportDir');
  const exportDir = dirText
    ? resolve(storeBaseDir(settings), dirText)
    : resolve(storeBaseDir(settings), 'exports');
  const fileName = text(raw, 'fileName', 200);
  if (fileName) safeExportName(fileName);
  const mbOption = configOption(raw, 'maxPayloadMB');
  const mb = readNumber(mbOption, 0, 1024, QUERY_NODE_DEFAULTS.maxPayloadMB);
  if (mb === 0) throw optionError(mbOption, 'must be above 0 MB');
  return {
    name: text(raw, 'name', 200),
    operation: readEnum<QueryOperation>(
      configOption(raw, 'operation'),
      ['query', 'stats', 'export'],
      'query',
    ),
    query,
    stats: readEnum<StatsKind>(configOption(raw, 'stats'), ['time', 'cameras', 'storage', 'store'], 'time'),
    bucket: readEnum<Bucket>(configOption(raw, 'bucket'), ['hour', 'day'], 'day'),
    timeZone,
    format: readEnum<ExportFormat>(configOption(raw, 'format'), ['csv', 'json', 'zip'], 'csv'),
    target,
    exportDir,
    fileName,
    maxPayloadBytes: Math.round(mb * 1024 * 1024),
  };
}

/**
 * A plain export file name (no folder part): `[A-Za-z0-9._-]`, 1-200 characters, not starting with a dot.
 * Throws InputError otherwise.
 */
export function safeExportName(name: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/.test(name) || name.endsWith('.part')) {
    throw new InputError(`"${name.slice(0, 60)}" is not a plain file name (letters, digits, . _ - only)`, {
      key: 'errors.badFileName',
    });
  }
  return name;
}

/** The absolute path of an export file inside `dir`, refusing anything that would leave it. */
export function exportFilePath(dir: string, name: string): string {
  const file = resolve(dir, safeExportName(name));
  const rel = relative(dir, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
    throw new InputError('the export file must be inside the export folder', { key: 'errors.badFileName' });
  }
  return file;
}
