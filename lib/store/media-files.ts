/**
 * The media folder: where recordings' videos and thumbnails live on disk.
 *
 * Layout: `<mediaDir>/<serial>/<YYYY>/<MM>/<DD>/<fileName><ext>` (the date is the recording's UTC trigger date).
 * Names from cameras are never trusted: the serial number, the file name and the extension are reduced to
 * `[A-Za-z0-9._-]`; a name that had to change gets a short hash of the original appended, so two distinct
 * names never land on one file. Every path is checked to be inside the media folder before use.
 *
 * Writes are atomic: a `.part` temp file, fsync, rename, fsync of the folder. `sweepTemp` removes `.part` files
 * left by a crash.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { InputError, PfcamError } from '../errors';

/** Suffix of files being written. */
export const TEMP_SUFFIX = '.part';

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const SAFE_EXT = /^\.[A-Za-z0-9]{1,10}$/;
/** The suffix a sanitised name carries; a clean name that looks like it is hashed too, so none can collide. */
const HASH_SUFFIX = /~[0-9a-f]{12}$/;
const MAX_NAME = 120;

/** The few file operations MediaFiles uses (real `fs/promises` by default; tests may inject faults). */
export interface MediaIo {
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  open(path: string, flags: string | number, mode?: number): Promise<MediaFileHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  stat(path: string): Promise<{ size: number; isFile(): boolean; isDirectory(): boolean }>;
  statfs(path: string): Promise<{ bsize: number; blocks: number; bavail: number; bfree: number }>;
  realpath(path: string): Promise<string>;
}

export interface MediaFileHandle {
  write(data: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

const realIo: MediaIo = {
  mkdir: (p, o) => fsp.mkdir(p, o),
  open: (p, f, m) => fsp.open(p, f, m),
  rename: (a, b) => fsp.rename(a, b),
  rm: (p, o) => fsp.rm(p, o),
  stat: (p) => fsp.stat(p),
  statfs: (p) => fsp.statfs(p),
  realpath: (p) => fsp.realpath(p),
};

/** Free space of the file system holding the media folder. */
export interface DiskSpace {
  totalBytes: number;
  /** Bytes an unprivileged process may still write. */
  availableBytes: number;
  freeBytes: number;
}

/** Where one recording's files go, relative to the media folder. */
export interface MediaPaths {
  videoPath: string;
  thumbPath: string;
}

/** The parts of a recording that decide its paths. */
export interface MediaPathInput {
  serialNumber: string;
  fileName: string;
  vidExt: string;
  thmbExt: string;
  /** ISO-8601 UTC. */
  triggeredAtUtc: string;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);
}

/**
 * A file-system-safe form of a name from outside: kept as is when already safe, else reduced to
 * `[A-Za-z0-9._-]`, without leading dots, bounded in length, with `~<hash of the original>` appended.
 * Throws InputError for an empty name.
 */
export function safeName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InputError('a recording or camera name is empty', { key: 'errors.unsafeName' });
  }
  const clean =
    SAFE_NAME.test(name) && !name.startsWith('.') && name.length <= MAX_NAME && !HASH_SUFFIX.test(name);
  if (clean && !name.endsWith(TEMP_SUFFIX)) return name;
  const base = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.]+/, '')
    .slice(0, MAX_NAME);
  return `${base || '_'}~${shortHash(name)}`;
}

/** A safe file extension (with its dot); anything unusual becomes `.bin`-like `.<hash>`. */
export function safeExt(ext: string): string {
  const withDot = ext.startsWith('.') ? ext : `.${ext}`;
  if (SAFE_EXT.test(withDot)) return withDot.toLowerCase() === TEMP_SUFFIX ? `.x${shortHash(ext)}` : withDot;
  return `.x${shortHash(ext).slice(0, 8)}`;
}

const FS_ERRORS: Record<string, { key: string; text: string }> = {
  ENOSPC: { key: 'errors.diskFull', text: 'the disk holding the media folder is full' },
  EDQUOT: { key: 'errors.diskFull', text: 'the disk quota of the media folder is used up' },
  EACCES: { key: 'errors.permission', text: 'no permission to write in the media folder' },
  EPERM: { key: 'errors.permission', text: 'no permission to write in the media folder' },
  EROFS: { key: 'errors.permission', text: 'the media folder is on a read-only file system' },
  ENOTDIR: { key: 'errors.mediaFolder', text: 'a part of the media folder path is a file, not a folder' },
  EISDIR: { key: 'errors.mediaFolder', text: 'a media file path is a folder' },
  ENAMETOOLONG: { key: 'errors.mediaFolder', text: 'a media file path is too long' },
  ELOOP: { key: 'errors.mediaFolder', text: 'a media file path has a symbolic link loop' },
  ENOENT: { key: 'errors.fileMissing', text: 'a media file is missing' },
};

/** Turns a file-system error into a PfcamError with a key users can act on (other errors pass through). */
export function mediaError(err: unknown, path: string): unknown {
  if (err instanceof PfcamError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? FS_ERRORS[code] : undefined;
  if (!known) return err;
  return new PfcamError(known.key, `${known.text} (${String(code)}: ${path})`, {
    cause: err,
    params: { path },
  });
}

function utcDateParts(iso: string): [string, string, string] {
  const m = /^(\d{4})-(\d{2})-(\d{2})T/.exec(iso);
  if (!m) throw new InputError(`not an ISO-8601 UTC time: ${JSON.stringify(iso).slice(0, 60)}`);
  return [m[1]!, m[2]!, m[3]!];
}

/** A camera-supplied name the media folder had to change to store it. */
export interface SanitisedName {
  readonly what: 'serialNumber' | 'fileName';
  /** The name as the camera gave it, as JSON text with everything outside printable ASCII escaped. */
  readonly original: string;
  /** The name it is stored under. */
  readonly stored: string;
}

/** Where the media folder reports, once per name, a camera-supplied name it had to change (for the log). */
export interface MediaLog {
  sanitised(name: SanitisedName): void;
}

/** How many sanitised names are remembered as already reported (the oldest is forgotten first). */
export const SANITISED_NAMES_REMEMBERED = 4096;
const SHOWN_NAME = 200;

/** A name as JSON text with every character outside printable ASCII escaped (a log line cannot be forged). */
function escapedName(name: string): string {
  const shown = name.length > SHOWN_NAME ? name.slice(0, SHOWN_NAME) : name;
  const text = JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return name.length > SHOWN_NAME ? `${text} (first ${SHOWN_NAME} of ${name.length} characters)` : text;
}

export class MediaFiles {
  /** Absolute, normalised media folder. */
  readonly root: string;
  private readonly io: MediaIo;
  private readonly log: MediaLog | undefined;
  /** Stored forms of the sanitised names already reported, oldest first (bounded). */
  private readonly reported = new Set<string>();

  constructor(mediaDir: string, options: { io?: Partial<MediaIo>; log?: MediaLog } = {}) {
    if (!mediaDir) throw new InputError('the media folder is not set', { key: 'errors.mediaFolder' });
    this.root = resolve(mediaDir);
    this.io = { ...realIo, ...options.io };
    this.log = options.log;
  }

  /**
   * Logs, once per name, that a camera-supplied name had to be changed to be stored: the original (escaped)
   * and the stored name. Remembers the last SANITISED_NAMES_REMEMBERED names.
   */
  private reportSanitised(what: SanitisedName['what'], original: string, stored: string): void {
    if (original === stored || !this.log) return;
    if (this.reported.has(stored)) {
      this.reported.delete(stored);
      this.reported.add(stored);
      return;
    }
    this.reported.add(stored);
    if (this.reported.size > SANITISED_NAMES_REMEMBERED) {
      const oldest = this.reported.values().next();
      if (!oldest.done) this.reported.delete(oldest.value);
    }
    this.log.sanitised({ what, original: escapedName(original), stored });
  }

  /** Creates the media folder if needed. */
  async init(): Promise<void> {
    try {
      await this.io.mkdir(this.root, { recursive: true });
    } catch (err) {
      throw mediaError(err, this.root);
    }
  }

  /**
   * The relative paths of a recording's video and thumbnail. With `storing` (the recording is about to be
   * stored), a camera-supplied name that had to be sanitised is logged, once per name.
   */
  pathsFor(input: MediaPathInput, storing = false): MediaPaths {
    const [y, m, d] = utcDateParts(input.triggeredAtUtc);
    const serial = safeName(input.serialNumber);
    const folder = [serial, y, m, d].join('/');
    const base = safeName(input.fileName);
    if (storing) {
      this.reportSanitised('serialNumber', input.serialNumber, serial);
      this.reportSanitised('fileName', input.fileName, base);
    }
    return {
      videoPath: `${folder}/${base}${safeExt(input.vidExt)}`,
      thumbPath: `${folder}/${base}${safeExt(input.thmbExt)}`,
    };
  }

  /**
   * The absolute path of a relative media path; throws PfcamError `errors.pathOutsideMedia` when it would leave
   * the media folder (or is the folder itself).
   */
  resolve(relPath: string): string {
    if (typeof relPath !== 'string' || relPath.length === 0 || relPath.includes('\0')) {
      throw new PfcamError('errors.pathOutsideMedia', 'a media path is empty or invalid');
    }
    const abs = resolve(this.root, relPath);
    const rel = relative(this.root, abs);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new PfcamError('errors.pathOutsideMedia', `a media path leaves the media folder: ${relPath}`, {
        params: { path: relPath },
      });
    }
    return abs;
  }

  /** The relative form (with `/`) of an absolute path inside the media folder. */
  relativize(absPath: string): string {
    const rel = relative(this.root, resolve(absPath));
    this.resolve(rel);
    return rel.split(sep).join('/');
  }

  /**
   * Like `resolve`, for a file that must exist: also follows symbolic links and checks that the real file is in
   * the real media folder and is a regular file.
   */
  async resolveExisting(relPath: string): Promise<{ path: string; size: number }> {
    const abs = this.resolve(relPath);
    try {
      const [realRoot, real] = await Promise.all([this.io.realpath(this.root), this.io.realpath(abs)]);
      const rel = relative(realRoot, real);
      if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
        throw new PfcamError(
          'errors.pathOutsideMedia',
          `a media file links outside the media folder: ${relPath}`,
          {
            params: { path: relPath },
          },
        );
      }
      const st = await this.io.stat(real);
      if (!st.isFile()) throw new PfcamError('errors.mediaFolder', `not a file: ${relPath}`);
      return { path: real, size: st.size };
    } catch (err) {
      throw mediaError(err, relPath);
    }
  }

  /** Creates the folder of a relative path and returns the absolute path (for a download to write to). */
  async prepare(relPath: string): Promise<string> {
    const abs = this.resolve(relPath);
    try {
      await this.io.mkdir(dirname(abs), { recursive: true });
    } catch (err) {
      throw mediaError(err, relPath);
    }
    return abs;
  }

  /** Whether a relative path is an existing regular file, and its size. */
  async fileSize(relPath: string): Promise<number | undefined> {
    try {
      const st = await this.io.stat(this.resolve(relPath));
      return st.isFile() ? st.size : undefined;
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR') {
        return undefined;
      }
      throw mediaError(err, relPath);
    }
  }

  /**
   * Writes `data` to a relative path atomically (temp `.part`, fsync, rename, fsync of the folder): the path
   * holds either the old content or the whole new one. Returns the size and SHA-256. On failure the temp file is
   * removed and the error carries `errors.diskFull` / `errors.permission` / `errors.mediaFolder` when it is one.
   */
  async writeAtomic(
    relPath: string,
    data: Uint8Array | string | Readable | AsyncIterable<Uint8Array | string>,
  ): Promise<{ bytes: number; sha256: string }> {
    const abs = await this.prepare(relPath);
    const temp = abs + TEMP_SUFFIX;
    const hash = createHash('sha256');
    let bytes = 0;
    let handle: MediaFileHandle | undefined;
    try {
      handle = await this.io.open(
        temp,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW,
        0o644,
      );
      const chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string> =
        typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
      for await (const chunk of chunks) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        if (buf.length === 0) continue;
        await handle.write(buf);
        hash.update(buf);
        bytes += buf.length;
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      await this.io.rename(temp, abs);
      await this.syncDir(dirname(abs));
      return { bytes, sha256: hash.digest('hex') };
    } catch (err) {
      if (handle) await handle.close().catch(() => undefined);
      await this.io.rm(temp, { force: true }).catch(() => undefined);
      throw mediaError(err, relPath);
    }
  }

  /** Removes only the `.part` of a relative file (never the file itself); a missing part is not an error. */
  async removeTemp(relPath: string): Promise<void> {
    const abs = this.resolve(relPath);
    try {
      await this.io.rm(abs + TEMP_SUFFIX, { force: true });
    } catch (err) {
      throw mediaError(err, relPath);
    }
  }

  /**
   * Removes a relative file and, unless `keepTemp`, its `.part`; a missing file is not an error. Emptied day
   * folders are pruned.
   */
  async remove(relPath: string, options: { keepTemp?: boolean } = {}): Promise<void> {
    const abs = this.resolve(relPath);
    try {
      await this.io.rm(abs, { force: true });
      if (!options.keepTemp) await this.io.rm(abs + TEMP_SUFFIX, { force: true });
    } catch (err) {
      throw mediaError(err, relPath);
    }
    await this.pruneEmptyDirs(dirname(abs));
  }

  /** Free space on the media folder's file system. */
  async diskSpace(): Promise<DiskSpace> {
    try {
      const s = await this.io.statfs(this.root);
      return {
        totalBytes: s.blocks * s.bsize,
        availableBytes: s.bavail * s.bsize,
        freeBytes: s.bfree * s.bsize,
      };
    } catch (err) {
      throw mediaError(err, this.root);
    }
  }

  /**
   * Deletes every `.part` temp file under the media folder whose relative path (without `.part`) is not in
   * `keep` (downloads that may still resume). Returns the relative paths removed.
   */
  async sweepTemp(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return;
        throw mediaError(err, dir);
      }
      for (const entry of entries) {
        const abs = join(dir, entry.name);
        if (entry.isDirectory()) await walk(abs);
        else if (entry.name.endsWith(TEMP_SUFFIX) && (entry.isFile() || entry.isSymbolicLink())) {
          const rel = this.relativize(abs);
          if (keep.has(rel.slice(0, -TEMP_SUFFIX.length))) continue;
          await this.io.rm(abs, { force: true });
          removed.push(rel);
        }
      }
    };
    await walk(this.root);
    return removed;
  }

  private async syncDir(dir: string): Promise<void> {
    let handle: MediaFileHandle | undefined;
    try {
      handle = await this.io.open(dir, fsConstants.O_RDONLY);
      await handle.sync();
    } catch (err) {
      // Some file systems refuse fsync on a folder; the rename itself is still atomic.
      const code = (err as { code?: string }).code;
      if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    while (
      current !== this.root &&
      relative(this.root, current) !== '' &&
      !relative(this.root, current).startsWith('..')
    ) {
      try {
        await fsp.rmdir(current);
      } catch {
        return;
      }
      current = dirname(current);
    }
  }
}
