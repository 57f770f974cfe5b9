/**
 * Backup and restore of the application's data folder as one `.tar.gz` archive, while the application runs.
 *
 * The archive holds `data/...` (the data folder: every SQLite database as a consistent online snapshot taken
 * with `VACUUM INTO`, the media, the key files `credential-secret` and `auth-key`, any other file), `user-dir/...`
 * (the Node-RED flows: `flows.json`, `flows_cred.json`, `.config.runtime.json`) and, last, `pfcam-backup.json`: the
 * manifest with the size and SHA-256 of every other entry. Skipped: `node_modules` folders, temp files (`.part`),
 * a database's `-wal` / `-shm` / `-journal` files (the snapshot includes what they hold) and the archive itself.
 *
 * A restore reads the whole archive into a temp folder beside the target, refuses any entry whose name could
 * leave it (absolute, `..`, backslash, NUL, a type other than a regular file, a duplicate, an unknown root), checks
 * every file against the manifest (and that nothing is missing or extra), and only then renames the temp folder
 * into place. A refused or damaged archive leaves the target untouched.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Database } from '../store/database';
import { readTar, tarEnd, tarHeader, tarPadding } from './tar-archive';

export const MANIFEST_NAME = 'pfcam-backup.json';
export const BACKUP_FORMAT = 'pfcam-data-backup';
/** The Node-RED files of a user directory that a backup carries. */
export const USER_DIR_FILES = ['flows.json', 'flows_cred.json', '.config.runtime.json'] as const;

const DATA_ROOT = 'data';
const USER_ROOT = 'user-dir';
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

export interface BackupManifestFile {
  /** Entry name in the archive (`data/...` or `user-dir/...`). */
  path: string;
  bytes: number;
  sha256: string;
}

export interface DataBackupManifest {
  format: typeof BACKUP_FORMAT;
  version: 1;
  createdAt: string;
  /** Where the user directory was, relative to the data folder, when it was inside it (restored there). */
  userDirInData: string | null;
  /** Entry names of the databases (snapshots). */
  databases: string[];
  files: BackupManifestFile[];
}

export interface BackupDataOptions {
  dataDir: string;
  /** The Node-RED user directory whose flows are saved. Default: `<dataDir>/node-red` when it exists. */
  userDir?: string;
  /** The archive to write (replaced atomically). */
  archiveFile: string;
  now?: () => Date;
}

export interface RestoreDataOptions {
  archiveFile: string;
  dataDir: string;
  /**
   * Where the flows go. Default: the place they had inside the data folder; with no such place and no
   * `userDir`, the archive's flows (if any) are refused.
   */
  userDir?: string;
  /** Replace a non-empty data folder (and existing flow files). */
  force?: boolean;
}

export class DataBackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataBackupError';
  }
}

function posix(rel: string): string {
  return rel.split(sep).join('/');
}

function inside(parent: string, child: string): string | undefined {
  const rel = relative(parent, child);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function isSqlite(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SQLITE_MAGIC.length);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(SQLITE_MAGIC);
  } finally {
    await handle.close();
  }
}

/** Regular files under `root` (relative, native separators), skipping what `skip` refuses; sorted. */
async function walk(root: string, skip: (abs: string, isDir: boolean) => boolean): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!skip(abs, true)) await visit(abs);
      } else if (entry.isFile() && !skip(abs, false)) {
        out.push(relative(root, abs));
      }
    }
  };
  await visit(root);
  return out;
}

/** Writes tar entries into a gzip stream with the manifest's bookkeeping. */
class ArchiveWriter {
  readonly files: BackupManifestFile[] = [];
  private readonly tar = new PassThrough();
  private readonly done: Promise<void>;

  constructor(file: string) {
    this.done = pipeline(this.tar, createGzip({ level: 6 }), createWriteStream(file, { flags: 'wx' }));
    this.done.catch(() => undefined);
  }

  private async write(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    if (!this.tar.write(buf)) {
      await new Promise<void>((resolveDrain, reject) => {
        const onError = (err: Error): void => reject(err);
        this.tar.once('error', onError);
        this.tar.once('drain', () => {
          this.tar.off('error', onError);
          resolveDrain();
        });
      });
    }
  }

  /** Adds the first `size` bytes of `source` under `name`; fails if the source ends earlier. */
  async add(name: string, source: Readable, size: number, mtimeMs: number, mode: number): Promise<void> {
    await this.write(tarHeader(name, size, mtimeMs, mode));
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, Math.max(0, size - bytes));
      bytes += part.length;
      hash.update(part);
      await this.write(part);
      if (bytes >= size) break;
    }
    source.destroy();
    if (bytes !== size)
      throw new DataBackupError(`${name} changed while it was read (${bytes} of ${size} bytes)`);
    await this.write(tarPadding(size));
    if (name !== MANIFEST_NAME) this.files.push({ path: name, bytes: size, sha256: hash.digest('hex') });
  }

  async addFile(name: string, file: string): Promise<void> {
    const info = await stat(file);
    const stream =
      info.size === 0 ? PassThrough.from([]) : createReadStream(file, { start: 0, end: info.size - 1 });
    await this.add(name, stream, info.size, info.mtimeMs, info.mode & 0o777);
  }

  async finish(manifest: DataBackupManifest): Promise<void> {
    const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
    await this.add(MANIFEST_NAME, PassThrough.from([body]), body.length, Date.now(), 0o600);
    this.tar.end(tarEnd());
    await this.done;
  }

  async abort(): Promise<void> {
    this.tar.destroy();
    await this.done.catch(() => undefined);
  }
}

/** Renames, or copies then renames when the target is on another file system. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const temp = `${to}.${randomBytes(4).toString('hex')}.part`;
    await copyFile(from, temp);
    await fsyncFile(temp);
    await rename(temp, to);
  }
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Backs up the data folder (and the flows) into `archiveFile`; resolves with the manifest written. */
export async function backupDataFolder(options: BackupDataOptions): Promise<DataBackupManifest> {
  const dataDir = resolve(options.dataDir);
  if (!(await exists(dataDir))) throw new DataBackupError(`the data folder ${dataDir} does not exist`);
  const archiveFile = resolve(options.archiveFile);
  const defaultUserDir = join(dataDir, 'node-red');
  const userDir = options.userDir
    ? resolve(options.userDir)
    : (await exists(defaultUserDir))
      ? defaultUserDir
      : undefined;
  const temp = `${archiveFile}.${randomBytes(4).toString('hex')}.part`;
  const snapshots = await mkdtemp(join(tmpdir(), 'pfcam-backup-'));
  await mkdir(dirname(archiveFile), { recursive: true });
  const writer = new ArchiveWriter(temp);
  try {
    const files = await walk(dataDir, (abs, isDir) => {
      if (isDir) return basename(abs) === 'node_modules' || (userDir !== undefined && abs === userDir);
      return abs === archiveFile || abs.endsWith('.part') || /\.part$|-(wal|shm|journal)$/.test(abs);
    });
    const databases: string[] = [];
    for (const rel of files) {
      const abs = join(dataDir, rel);
      const name = `${DATA_ROOT}/${posix(rel)}`;
      try {
        if (await isSqlite(abs)) {
          const snapshot = join(snapshots, `${databases.length}.sqlite`);
          const db = await Database.open(abs);
          try {
            await db.run('VACUUM INTO ?', [snapshot]);
          } finally {
            await db.close();
          }
          await writer.addFile(name, snapshot);
          await rm(snapshot, { force: true });
          databases.push(name);
        } else {
          await writer.addFile(name, abs);
        }
      } catch (err) {
        // a media file retired while the backup ran is no longer part of the data
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
    if (userDir !== undefined) {
      for (const file of USER_DIR_FILES) {
        const abs = join(userDir, file);
        if (await exists(abs)) await writer.addFile(`${USER_ROOT}/${file}`, abs);
      }
    }
    const userRel = userDir === undefined ? undefined : inside(dataDir, userDir);
    const manifest: DataBackupManifest = {
      format: BACKUP_FORMAT,
      version: 1,
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      userDirInData: userRel === undefined ? null : posix(userRel),
      databases,
      files: writer.files,
    };
    await writer.finish(manifest);
    await fsyncFile(temp);
    await rename(temp, archiveFile);
    return manifest;
  } catch (err) {
    await writer.abort();
    await rm(temp, { force: true });
    throw err;
  } finally {
    await rm(snapshots, { recursive: true, force: true });
  }
}

/** Checks an entry name and maps it to a relative path under its root; throws on anything that could escape. */
export function checkEntryName(name: string): { root: 'data' | 'user-dir' | 'manifest'; rel: string } {
  if (name === MANIFEST_NAME) return { root: 'manifest', rel: '' };
  const refuse = (why: string): never => {
    throw new DataBackupError(`the archive entry "${name}" is refused: ${why}`);
  };
  if (name.includes('\0') || name.includes('\\')) refuse('forbidden character');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) refuse('absolute path');
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) refuse('not a plain relative path');
  const [root, ...rest] = parts;
  if ((root !== DATA_ROOT && root !== USER_ROOT) || rest.length === 0) refuse('unknown folder');
  if (root === USER_ROOT && (rest.length !== 1 || !(USER_DIR_FILES as readonly string[]).includes(rest[0]!)))
    refuse('not a flows file');
  return { root: root as 'data' | 'user-dir', rel: rest.join(sep) };
}

function parseManifest(text: string): DataBackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DataBackupError('the archive manifest is not JSON');
  }
  const m = value as Partial<DataBackupManifest>;
  if (m.format !== BACKUP_FORMAT || m.version !== 1 || !Array.isArray(m.files))
    throw new DataBackupError('the archive is not a pfcam data backup (unknown manifest)');
  for (const f of m.files as unknown[]) {
    const file = f as Partial<BackupManifestFile>;
    if (
      typeof file.path !== 'string' ||
      typeof file.bytes !== 'number' ||
      typeof file.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(file.sha256)
    )
      throw new DataBackupError('the archive manifest lists a malformed file');
  }
  if (m.userDirInData !== null && typeof m.userDirInData !== 'string')
    throw new DataBackupError('the archive manifest is malformed');
  return m as DataBackupManifest;
}

async function isEmptyDir(dir: string): Promise<boolean | undefined> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Restores an archive made by `backupDataFolder` into `dataDir`; resolves with its manifest. */
export async function restoreDataFolder(options: RestoreDataOptions): Promise<DataBackupManifest> {
  const dataDir = resolve(options.dataDir);
  const empty = await isEmptyDir(dataDir);
  if (empty === false && !options.force)
    throw new DataBackupError(`the data folder ${dataDir} is not empty (use --force to replace it)`);
  const outsideUserDir = options.userDir ? resolve(options.userDir) : undefined;
  if (outsideUserDir !== undefined && inside(dataDir, outsideUserDir) === undefined && !options.force) {
    for (const file of USER_DIR_FILES)
      if (await exists(join(outsideUserDir, file)))
        throw new DataBackupError(`${join(outsideUserDir, file)} exists (use --force to replace it)`);
  }
  await mkdir(dirname(dataDir), { recursive: true });
  const staging = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  const seen = new Map<string, { bytes: number; sha256: string }>();
  let manifestText: string | undefined;
  try {
    await readTar(
      createReadStream(resolve(options.archiveFile)).pipe(createGunzip()),
      async (header, body) => {
        if (header.type !== '0')
          throw new DataBackupError(`the archive entry "${header.name}" is not a regular file`);
        const entry = checkEntryName(header.name);
        if (seen.has(header.name) || (entry.root === 'manifest' && manifestText !== undefined))
          throw new DataBackupError(`the archive entry "${header.name}" appears twice`);
        if (entry.root === 'manifest') {
          if (header.size > MAX_MANIFEST_BYTES)
            throw new DataBackupError('the archive manifest is too large');
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(chunk);
          manifestText = Buffer.concat(chunks).toString('utf8');
          return;
        }
        if (manifestText !== undefined)
          throw new DataBackupError('the archive has entries after its manifest');
        const target = join(staging, entry.root, entry.rel);
        if (inside(staging, target) === undefined)
          throw new DataBackupError(`the archive entry "${header.name}" is refused`);
        await mkdir(dirname(target), { recursive: true });
        const hash = createHash('sha256');
        let bytes = 0;
        const out = createWriteStream(target, { flags: 'wx', mode: 0o600 });
        await pipeline(
          (async function* () {
            for await (const chunk of body) {
              hash.update(chunk);
              bytes += chunk.length;
              yield chunk;
            }
          })(),
          out,
        );
        await fsyncFile(target);
        seen.set(header.name, { bytes, sha256: hash.digest('hex') });
      },
    );
    if (manifestText === undefined) throw new DataBackupError('the archive has no manifest');
    const manifest = parseManifest(manifestText);
    const listed = new Set<string>();
    for (const file of manifest.files) {
      listed.add(file.path);
      const got = seen.get(file.path);
      if (!got) throw new DataBackupError(`the archive lacks ${file.path}, which its manifest lists`);
      if (got.bytes !== file.bytes || got.sha256 !== file.sha256)
        throw new DataBackupError(`${file.path} does not match its SHA-256 in the manifest`);
    }
    for (const name of seen.keys())
      if (!listed.has(name)) throw new DataBackupError(`the archive entry "${name}" is not in its manifest`);

    // Lay out the final data folder inside the staging folder, then move it into place.
    const dataStage = join(staging, DATA_ROOT);
    await mkdir(dataStage, { recursive: true });
    const userStage = join(staging, USER_ROOT);
    const hasFlows = (await isEmptyDir(userStage)) === false;
    let flowsTarget: string | undefined;
    if (hasFlows) {
      const inData =
        outsideUserDir !== undefined
          ? inside(dataDir, outsideUserDir)
          : manifest.userDirInData !== null
            ? manifest.userDirInData.split('/').join(sep)
            : undefined;
      if (inData !== undefined) {
        checkEntryName(`${DATA_ROOT}/${inData.split(sep).join('/')}/flows.json`);
        await mkdir(join(dataStage, inData), { recursive: true });
        for (const file of await readdir(userStage))
          await rename(join(userStage, file), join(dataStage, inData, file));
      } else if (outsideUserDir !== undefined) {
        flowsTarget = outsideUserDir;
      } else {
        throw new DataBackupError(
          'the archive holds flows from a user directory outside the data folder: name it with --user-dir',
        );
      }
    }
    if (empty === undefined) {
      await rename(dataStage, dataDir);
    } else if (empty) {
      await rmdir(dataDir);
      await rename(dataStage, dataDir);
    } else {
      const old = join(staging, 'previous');
      await rename(dataDir, old);
      try {
        await rename(dataStage, dataDir);
      } catch (err) {
        await rename(old, dataDir);
        throw err;
      }
    }
    if (flowsTarget !== undefined) {
      await mkdir(flowsTarget, { recursive: true });
      for (const file of await readdir(userStage))
        await moveFile(join(userStage, file), join(flowsTarget, file));
    }
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
