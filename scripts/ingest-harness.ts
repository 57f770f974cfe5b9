/**
 * The machinery shared by the ingest crash tests, `npm run soak` and the ingest benchmark: the flow a real
 * Node-RED runs (cameras -> watch -> archive [-> backup]), and the check of the archive against the simulated
 * cameras: every recording exactly once, with its exact bytes, no temp file, no row without its file, no file
 * without its row.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { validateEvent } from '../lib/camera/validate';
import type { CameraEvent } from '../lib/camera/types';
import { EventStore, type EventRecord } from '../lib/store/event-store';

/** What the checks need of a simulated camera (the simulator's SimulatedCamera has it). */
export interface CheckedCamera {
  readonly url: string;
  readonly serialNumber: string;
  readonly control: {
    recordings(): CameraEvent[];
    media(fileName: string, kind: 'video' | 'thumbnail'): { size: number; sha256: string };
  };
}

export interface IngestFlowOptions {
  cameras: readonly { url: string }[];
  databaseFile: string;
  mediaDir: string;
  /** Back up to this S3 endpoint and bucket (credentials from the environment). */
  s3?: { endpoint: string; bucket: string; prefix?: string };
  /** Watch node settings. */
  reconcileInterval?: number;
  useSse?: boolean;
  /** Archive node settings. */
  concurrency?: number;
  perCamera?: number;
  retryInterval?: number;
  /** Camera config: probe interval and call timeout (s). */
  probeInterval?: number;
  timeout?: number;
  connections?: number;
  /** Log `NEW <serial> <fileName>` / `STORED <serial> <fileName>` lines (for the duplicate check). */
  trace?: boolean;
}

/** Marks of the trace lines the flow logs. */
export const TRACE_NEW = 'PFCAM-TRACE-NEW';
export const TRACE_STORED = 'PFCAM-TRACE-STORED';

/** The flow: a tab with one watch per camera, one archive, optional backup, and trace function nodes. */
export function ingestFlow(options: IngestFlowOptions): Record<string, unknown>[] {
  const z = 'ingest-test';
  const nodes: Record<string, unknown>[] = [
    { id: z, type: 'tab', label: 'Ingest test' },
    {
      id: 'store',
      type: 'pfcam-store',
      name: 'Archive',
      databaseFile: options.databaseFile,
      mediaDir: options.mediaDir,
      recoverOnStart: true,
      verifyFiles: true,
    },
  ];
  const trace = options.trace !== false;
  const archiveWires: string[] = trace ? ['trace-stored'] : [];
  if (options.s3) {
    nodes.push({
      id: 's3',
      type: 'pfcam-s3',
      name: 'S3',
      endpoint: options.s3.endpoint,
      region: 'us-east-1',
      bucket: options.s3.bucket,
      prefix: options.s3.prefix ?? 'site',
      forcePathStyle: true,
      sse: 'none',
      kmsKeyId: '',
    });
    nodes.push({
      id: 'backup',
      type: 'pfcam-backup',
      z,
      store: 'store',
      s3: 's3',
      concurrency: 2,
      backupAll: true,
      retryBaseSeconds: 0.2,
      retryMaxSeconds: 2,
      failureThreshold: 1000,
      emit: 'recording',
      wires: [[], []],
    });
    archiveWires.push('backup');
  }
  options.cameras.forEach((camera, i) => {
    nodes.push({
      id: `cam-${i}`,
      type: 'pfcam-camera',
      name: `Camera ${i}`,
      url: camera.url,
      probeInterval: options.probeInterval ?? 2,
      timeout: options.timeout ?? 10,
      connections: options.connections ?? 4,
      tlsVerify: true,
      ca: '',
    });
    nodes.push({
      id: `watch-${i}`,
      type: 'pfcam-watch',
      z,
      camera: `cam-${i}`,
      store: 'store',
      useSse: options.useSse ?? true,
      reconcileInterval: options.reconcileInterval ?? 2,
      wires: [trace ? ['archive', 'trace-new'] : ['archive']],
    });
  });
  nodes.push({
    id: 'archive',
    type: 'pfcam-archive',
    z,
    store: 'store',
    concurrency: options.concurrency ?? 6,
    perCamera: options.perCamera ?? 2,
    fetchThumbnail: true,
    retryInterval: options.retryInterval ?? 1,
    maxAttempts: 0,
    recoverOnStart: true,
    stallTimeout: options.timeout ?? 10,
    wires: [archiveWires],
  });
  if (trace) {
    nodes.push({
      id: 'trace-new',
      type: 'function',
      z,
      func: `node.log('${TRACE_NEW} ' + msg.payload.cameraSerial + ' ' + JSON.stringify(msg.payload.fileName)); return null;`,
      outputs: 0,
      wires: [],
    });
    nodes.push({
      id: 'trace-stored',
      type: 'function',
      z,
      func: `if (msg.payload.fetched) node.log('${TRACE_STORED} ' + msg.payload.cameraSerial + ' ' + JSON.stringify(msg.payload.fileName)); return null;`,
      outputs: 0,
      wires: [],
    });
  }
  return nodes;
}

/** The recordings of a camera that the camera client accepts (hostile entries it refuses are not expected). */
export function expectedRecordings(camera: CheckedCamera): { accepted: CameraEvent[]; refused: number } {
  const accepted: CameraEvent[] = [];
  let refused = 0;
  for (const r of camera.control.recordings()) {
    if (validateEvent(r).ok) accepted.push(r);
    else refused++;
  }
  return { accepted, refused };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function listFiles(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export interface ArchiveCheck {
  /** Recordings on the cameras that the client accepts (the ones that must be archived). */
  recordings: number;
  /** Hostile entries the client refused (never archived, by design). */
  refused: number;
  /** Expected recordings not stored. */
  lost: number;
  /** Recordings announced or stored more than once (trace lines), or with more than one row. */
  duplicated: number;
  /** Bad bytes, missing or wrong-size files, leftover temp files, files without a row. */
  corrupt: number;
  partFiles: string[];
  orphans: string[];
  problems: string[];
}

/**
 * Checks the archive (database + media folder) against the cameras. `log` is Node-RED's output of every run
 * (for the trace lines). Run it with Node-RED stopped, or at least idle.
 */
export async function checkArchive(options: {
  databaseFile: string;
  mediaDir: string;
  cameras: readonly CheckedCamera[];
  log?: string;
  /** Hash every stored file (default true). */
  hashFiles?: boolean;
}): Promise<ArchiveCheck> {
  const problems: string[] = [];
  const store = await EventStore.open({ databaseFile: options.databaseFile, mediaDir: options.mediaDir });
  let recordings = 0;
  let refused = 0;
  let lost = 0;
  let duplicated = 0;
  let corrupt = 0;
  const referenced = new Set<string>();
  try {
    // Every row: stored ones must have their files, with the recorded sizes and hashes.
    const rows = await store.db.all<{ id: number }>('SELECT id FROM events');
    const byKey = new Map<string, EventRecord>();
    for (const { id } of rows) {
      const row = (await store.get(id))!;
      const key = `${row.cameraSerial}\0${row.fileName}`;
      if (byKey.has(key)) {
        duplicated++;
        problems.push(`two rows for ${row.cameraSerial}/${row.fileName}`);
      }
      byKey.set(key, row);
      if (row.state !== 'stored' || row.retiredAt !== null) continue;
      for (const [path, size, sha] of [
        [row.videoPath, row.videoSize, row.videoSha256],
        [row.thumbPath, row.thumbSize, row.thumbSha256],
      ] as const) {
        if (path === null || sha === null) continue;
        referenced.add(path);
        const abs = store.media.resolve(path);
        let actual: number | undefined;
        try {
          actual = (await stat(abs)).size;
        } catch {
          actual = undefined;
        }
        if (actual === undefined) {
          corrupt++;
          problems.push(`row ${row.id} points at a missing file ${path}`);
        } else if (actual !== size) {
          corrupt++;
          problems.push(`row ${row.id}: ${path} has ${actual} bytes, the row says ${size}`);
        } else if (options.hashFiles !== false && (await sha256File(abs)) !== sha) {
          corrupt++;
          problems.push(`row ${row.id}: ${path} does not match its SHA-256`);
        }
      }
    }
    // Every recording of every camera: stored once, with the camera's exact bytes.
    for (const camera of options.cameras) {
      const { accepted, refused: r } = expectedRecordings(camera);
      refused += r;
      recordings += accepted.length;
      for (const rec of accepted) {
        const row = byKey.get(`${camera.serialNumber}\0${rec.fileName}`);
        if (!row || row.state !== 'stored') {
          lost++;
          problems.push(`${camera.serialNumber}/${rec.fileName} not stored (${row ? row.state : 'no row'})`);
          continue;
        }
        const video = camera.control.media(rec.fileName, 'video');
        if (row.videoSha256 !== video.sha256 || row.videoSize !== video.size) {
          corrupt++;
          problems.push(`${camera.serialNumber}/${rec.fileName}: stored video differs from the camera's`);
        }
        const thumb = camera.control.media(rec.fileName, 'thumbnail');
        if (row.thumbSha256 !== null && row.thumbSha256 !== thumb.sha256) {
          corrupt++;
          problems.push(`${camera.serialNumber}/${rec.fileName}: stored thumbnail differs from the camera's`);
        }
      }
    }
  } finally {
    await store.close();
  }
  // The media folder: no temp file, no file without its row.
  const partFiles: string[] = [];
  const orphans: string[] = [];
  for (const abs of await listFiles(options.mediaDir)) {
    const rel = relative(options.mediaDir, abs).split(sep).join('/');
    if (rel.endsWith('.part')) partFiles.push(rel);
    else if (!referenced.has(rel)) orphans.push(rel);
  }
  corrupt += partFiles.length + orphans.length;
  for (const p of partFiles) problems.push(`temp file left: ${p}`);
  for (const o of orphans) problems.push(`file without a stored row: ${o}`);
  // Trace lines: each recording announced once and stored (downloaded) once over all runs.
  if (options.log) {
    for (const mark of [TRACE_NEW, TRACE_STORED]) {
      const counts = new Map<string, number>();
      for (const m of options.log.matchAll(new RegExp(`${mark} (\\S+) (".*")$`, 'gm'))) {
        const key = `${m[1]} ${m[2]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) {
        if (n > 1) {
          duplicated++;
          problems.push(`${mark === TRACE_NEW ? 'announced' : 'stored'} ${n} times: ${key}`);
        }
      }
    }
  }
  return { recordings, refused, lost, duplicated, corrupt, partFiles, orphans, problems };
}

/** Count of events rows by state, read from a running or stopped store. */
export async function storeCounts(databaseFile: string, mediaDir: string): Promise<Record<string, number>> {
  const store = await EventStore.open({ databaseFile, mediaDir });
  try {
    const rows = await store.db.all<{ state: string; n: number }>(
      'SELECT state, count(*) AS n FROM events GROUP BY state',
    );
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  } finally {
    await store.close();
  }
}

/** Polls `predicate` every `everyMs` until it holds; rejects after `timeoutMs` with `what`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** `.part` files under the media folder (relative paths). */
export async function partFiles(mediaDir: string): Promise<string[]> {
  return (await listFiles(mediaDir)).filter((f) => f.endsWith('.part')).map((f) => relative(mediaDir, f));
}
