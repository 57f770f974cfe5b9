/**
 * `pfcam-media`: its options, the recording a message asks for, and where a file may be written: a name from
 * the recording is sanitised, a name from the message must resolve inside the node's folder (also after
 * following symbolic links), anything else is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import { checkFileName } from './event-filter';
import type { MediaOperation } from './messages';
import { typedProperty, type SourcedValue, type TypedProperty } from '../config/node-property';
import { configOption, readEnum, readNumber, showValue } from '../config/option-reader';

export const MEDIA_OPERATIONS: readonly MediaOperation[] = ['video', 'thumbnail', 'snapshot'];
export type MediaOutput = 'buffer' | 'file';

export interface MediaNodeOptions {
  readonly operation: MediaOperation;
  /** Which recording (`video`, `thumbnail`): a file name, or a recording object. */
  readonly fileName: TypedProperty;
  /** The stream a snapshot is taken from. */
  readonly stream: string;
  readonly output: MediaOutput;
  /** Absolute folder files are written to (`output` = `file`). */
  readonly folder: string;
  /** Largest media kept in memory (`output` = `buffer`), bytes. */
  readonly maxBytes: number;
}

export const DEFAULT_MAX_MEGABYTES = 64;
export const MAX_MAX_MEGABYTES = 1024;
const MB = 1024 * 1024;

/** Turns a `pfcam-media` node's raw config into checked options. */
export function mediaNodeOptions(config: Readonly<Record<string, unknown>>): MediaNodeOptions {
  const operation = readEnum(configOption(config, 'operation'), MEDIA_OPERATIONS, 'video');
  const output = readEnum(configOption(config, 'output'), ['buffer', 'file'] as const, 'buffer');
  const stream = config.stream === undefined || config.stream === '' ? 'hd' : config.stream;
  if (typeof stream !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(stream)) {
    throw new InputError(
      `The stream must be a stream name such as hd (letters, digits, '_', '-'), got ${showValue(stream)}`,
    );
  }
  const folderRaw = typeof config.folder === 'string' ? config.folder.trim() : '';
  if (output === 'file' && !path.isAbsolute(folderRaw)) {
    throw new InputError(
      `With "Output: file" the folder must be an absolute path (e.g. /data/recordings), got ${showValue(folderRaw)}`,
      { key: 'errors.badFolder' },
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(folderRaw))
    throw new InputError('The folder must not contain control characters');
  return Object.freeze({
    operation,
    fileName: typedProperty(config, 'fileName', { type: 'msg', value: 'payload' }, [
      'str',
      'msg',
      'flow',
      'global',
      'env',
    ]),
    stream,
    output,
    folder: folderRaw === '' ? '' : path.resolve(folderRaw),
    maxBytes:
      readNumber(configOption(config, 'maxMegabytes'), 1, MAX_MAX_MEGABYTES, DEFAULT_MAX_MEGABYTES) * MB,
  });
}

/** A recording as `pfcam-media` needs it: file name and extensions, checked. */
export interface MediaRecording {
  fileName: string;
  vidExt: string;
  thmbExt: string;
}

/** `.mp4`, also from `mp4`; letters and digits, 1 to 8 of them. */
export function normaliseExtension(ext: unknown, source: string, fallback: string): string {
  if (ext === undefined || ext === null || ext === '') return fallback;
  const withDot = typeof ext === 'string' && !ext.startsWith('.') ? `.${ext}` : ext;
  if (typeof withDot !== 'string' || !/^\.[A-Za-z0-9]{1,8}$/.test(withDot)) {
    throw new InputError(`${source} must be a file extension such as .mp4 or .jpg, got ${showValue(ext)}`, {
      params: { source },
    });
  }
  return withDot;
}

/**
 * The recording a message names: a file name (its extensions default to `.mp4` / `.jpg`) or a recording object
 * as `pfcam-events` lists it (its own extensions are used).
 */
export function readMediaRecording(input: SourcedValue): MediaRecording {
  const { value, source } = input;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    const r = value as { fileName?: unknown; vidExt?: unknown; thmbExt?: unknown };
    return {
      fileName: checkFileName({ value: r.fileName, source: `${source}.fileName` }),
      vidExt: normaliseExtension(r.vidExt, `${source}.vidExt`, '.mp4'),
      thmbExt: normaliseExtension(r.thmbExt, `${source}.thmbExt`, '.jpg'),
    };
  }
  return { fileName: checkFileName(input), vidExt: '.mp4', thmbExt: '.jpg' };
}

/**
 * A safe file name from any text: characters outside `[A-Za-z0-9._-]` become `_`, `..` runs become `_`, no
 * leading dot, at most 200 characters; never empty.
 */
export function sanitiseFileName(name: string): string {
  let safe = name
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^[.]+/, '_');
  if (safe.length > 200) safe = safe.slice(0, 200);
  return safe === '' ? '_' : safe;
}

/** The default file name of a fetched medium. */
export function defaultMediaName(
  operation: MediaOperation,
  recording: MediaRecording | undefined,
  snapshot: { serialNumber: string | undefined; stream: string; at: Date },
): string {
  if (operation === 'snapshot' || recording === undefined) {
    const stamp = snapshot.at
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return sanitiseFileName(`snapshot-${snapshot.serialNumber ?? 'camera'}-${snapshot.stream}-${stamp}.jpg`);
  }
  const ext = operation === 'video' ? recording.vidExt : recording.thmbExt;
  return sanitiseFileName(`${recording.fileName}${ext}`);
}

/** True when `child` is `parent` itself or below it (both absolute, normalised). */
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/**
 * The absolute path of `name` in `folder`. `name` comes from the message (`msg.filename`): relative to the
 * folder (sub-folders allowed) or absolute, but it must resolve inside the folder.
 */
export function resolveInsideFolder(folder: string, name: unknown, source = 'msg.filename'): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InputError(`${source} must be a file name (text), got ${showValue(name)}`, {
      key: 'errors.pathOutside',
      params: { source },
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(name)) {
    throw new InputError(`${source} must not contain control characters`, {
      key: 'errors.pathOutside',
      params: { source },
    });
  }
  const target = path.resolve(folder, name);
  if (!isInside(folder, target)) {
    throw new InputError(`${source} must name a file inside the folder ${folder}, got ${showValue(name)}`, {
      key: 'errors.pathOutside',
      params: { source },
    });
  }
  return target;
}

/**
 * Creates the target's folders (inside `folder`) and checks, with symbolic links followed, that the target's
 * folder is still inside `folder`. Returns the target path to write.
 */
export async function prepareTarget(folder: string, target: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const realFolder = await realpath(folder);
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  const realParent = await realpath(parent);
  if (realParent !== realFolder && !isInside(realFolder, realParent)) {
    throw new InputError(
      `The file ${target} would be written outside the folder ${folder} (through a link)`,
      {
        key: 'errors.pathOutside',
      },
    );
  }
  return path.join(realParent, path.basename(target));
}

/** Figures of a transfer for the node status. */
export interface ProgressFigures {
  /** Whole percent, when the size is known. */
  percent?: number;
  /** Megabytes received, one decimal. */
  receivedMb: string;
  /** Megabytes expected, one decimal, when known. */
  totalMb?: string;
}

export function progressFigures(receivedBytes: number, totalBytes: number | undefined): ProgressFigures {
  const mb = (n: number): string => (n / MB).toFixed(1);
  if (totalBytes !== undefined && totalBytes > 0) {
    return {
      percent: Math.min(100, Math.floor((receivedBytes / totalBytes) * 100)),
      receivedMb: mb(receivedBytes),
      totalMb: mb(totalBytes),
    };
  }
  return { receivedMb: mb(receivedBytes) };
}

/** Lets an update through at most once per `intervalMs` (the first at once). */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  ready(): boolean {
    const t = this.now();
    if (t - this.last < this.intervalMs) return false;
    this.last = t;
    return true;
  }
}

/** Writes `data` to `target` through a temporary file in the same folder: fsynced, then renamed into place. */
export async function writeFileAtomic(target: string, data: Buffer): Promise<void> {
  const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
