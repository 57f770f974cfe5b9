/**
 * "Rebuild index from S3": reads the manifests under a site's prefix (paginated listing) and adds the recordings
 * a store does not know (a new machine, a central instance), optionally downloading their media back.
 *
 * The store's `events.state` has no value for "archived elsewhere, not on this disk". A recording known only from
 * the bucket is inserted as `state = 'stored'` with `retired_at` set (the store's meaning: no local files, the row
 * is kept as the index entry), `backup_state = 'done'`, no file paths, and `metadata.archive =
 * { location: 'remote', manifestKey, objects }`. Its sizes stay out of the size columns (those count bytes on
 * this disk) and are in `metadata.archive.objects`. When the media are downloaded back (now or by a later run
 * with `download`), the files are written atomically and verified (size and SHA-256 against the manifest), then
 * the row becomes a normal stored recording (`retired_at` cleared, paths and sizes set, `location: 'local'`).
 */
import { createHash } from 'node:crypto';
import { errorText, PfcamError } from '../errors';
import type { ConfirmedObject, EventStore } from '../store/event-store';
import { manifestKey, MANIFEST_EXT, parseManifest, safeSegment, type BackupManifest } from './manifest';
import type { S3Objects } from './s3-objects';

export interface RebuildOptions {
  /** Also download the media of recordings not on this disk. Default false. */
  download?: boolean;
  /** Only this camera. */
  cameraSerial?: string;
  signal?: AbortSignal;
  /** Called after each manifest. */
  onProgress?: (progress: RebuildReport) => void;
  /** Who asked (audit). Default `backup`. */
  actor?: string;
}

export interface RebuildReport {
  /** Manifests read. */
  manifests: number;
  /** Recordings added to the index. */
  inserted: number;
  /** Recordings the index already had. */
  existing: number;
  /** Manifests refused (malformed, or not matching their key). */
  invalid: number;
  /** Recordings whose media were downloaded back. */
  downloaded: number;
  /** Failures (a manifest that could not be read, a download that did not verify), by key. */
  failures: { key: string; error: string }[];
}

/** What `metadata.archive` holds for a recording known from the bucket. */
export interface ArchiveMetadata {
  location: 'remote' | 'local';
  manifestKey: string;
  objects: BackupManifest['objects'];
  rebuiltAt: string;
}

const MAX_FAILURES_LISTED = 100;

/** Passes a download through, failing at the end (before the file is renamed) unless size and SHA-256 match. */
async function* verified(
  body: AsyncIterable<Buffer>,
  expected: { bytes: number; sha256: string },
  key: string,
): AsyncGenerator<Buffer> {
  const mismatch = (): PfcamError =>
    new PfcamError('errors.backupUnconfirmed', `the object ${key} does not match its manifest`, {
      params: { key },
    });
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > expected.bytes) throw mismatch();
    hash.update(chunk);
    yield chunk;
  }
  if (bytes !== expected.bytes || hash.digest('hex') !== expected.sha256) throw mismatch();
}

/** Lists the manifests under `prefix` (and camera) and indexes the recordings `store` lacks. */
export async function rebuildIndexFromS3(
  store: EventStore,
  objects: S3Objects,
  prefix: string,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const report: RebuildReport = {
    manifests: 0,
    inserted: 0,
    existing: 0,
    invalid: 0,
    downloaded: 0,
    failures: [],
  };
  const fail = (key: string, err: unknown): void => {
    if (report.failures.length < MAX_FAILURES_LISTED) report.failures.push({ key, error: errorText(err) });
  };
  let listPrefix = prefix === '' ? '' : `${prefix}/`;
  if (options.cameraSerial !== undefined) listPrefix += `${safeSegment(options.cameraSerial)}/`;

  for await (const entry of objects.listKeys(listPrefix, 1000, options.signal)) {
    if (!entry.key.endsWith(MANIFEST_EXT)) continue;
    options.signal?.throwIfAborted();
    report.manifests += 1;
    let manifest: BackupManifest | undefined;
    try {
      manifest = parseManifest(await objects.getJson(entry.key, 1024 * 1024, options.signal), entry.key);
    } catch (err) {
      fail(entry.key, err);
      continue;
    }
    if (
      !manifest ||
      manifestKey(prefix, manifest.cameraSerial, manifest.triggeredAt, manifest.fileName) !== entry.key
    ) {
      report.invalid += 1;
      continue;
    }
    try {
      const id = await insertRemote(store, manifest, entry.key);
      if (id === undefined) report.existing += 1;
      else report.inserted += 1;
      if (options.download) {
        const remote = await remoteRecording(store, manifest);
        if (remote !== undefined) {
          await downloadBack(store, objects, manifest, remote, options.signal);
          report.downloaded += 1;
        }
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      fail(entry.key, err);
    }
    options.onProgress?.({ ...report, failures: [...report.failures] });
  }
  await store.audit(options.actor ?? 'backup', 'rebuild-index', listPrefix || '/', {
    manifests: report.manifests,
    inserted: report.inserted,
    existing: report.existing,
    invalid: report.invalid,
    downloaded: report.downloaded,
    failures: report.failures.length,
  });
  return report;
}

/** Inserts a recording known from its manifest; undefined when the index already has it. */
async function insertRemote(
  store: EventStore,
  manifest: BackupManifest,
  key: string,
): Promise<number | undefined> {
  const now = store.now();
  const video = manifest.objects.find((o) => o.kind === 'video')!;
  const thumb = manifest.objects.find((o) => o.kind === 'thumbnail');
  const archive: ArchiveMetadata = {
    location: 'remote',
    manifestKey: key,
    objects: manifest.objects,
    rebuiltAt: now,
  };
  const objects: ConfirmedObject[] = manifest.objects.map((o) => ({
    kind: o.kind,
    key: o.key,
    size: o.bytes,
  }));
  objects.push({ kind: 'manifest', key, size: 0 });
  return store.recordRemote(
    {
      cameraSerial: manifest.cameraSerial,
      fileName: manifest.fileName,
      eventName: manifest.eventName,
      triggeredAt: manifest.triggeredAt,
      playbackTime: manifest.playbackTime,
      vidExt: video.ext,
      thmbExt: thumb?.ext ?? '.jpg',
      videoSha256: video.sha256,
      thumbSha256: thumb?.sha256 ?? null,
      backedUpAt: manifest.backedUpAt,
      flagged: manifest.flagged,
      metadata: { archive },
    },
    objects,
  );
}

/** The id of the recording when the index knows it only from the bucket (no local files). */
function remoteRecording(store: EventStore, manifest: BackupManifest): Promise<number | undefined> {
  return store.events.findRemote(manifest.cameraSerial, manifest.fileName);
}

/**
 * Downloads a recording's media into the media folder (atomic writes, verified against the manifest), then
 * makes the row a stored recording in one update. Files come first: a crash leaves no row pointing at a
 * missing file (a file without its row is written over by the next run with `download`).
 */
async function downloadBack(
  store: EventStore,
  objects: S3Objects,
  manifest: BackupManifest,
  eventId: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const video = manifest.objects.find((o) => o.kind === 'video')!;
  const thumb = manifest.objects.find((o) => o.kind === 'thumbnail');
  const paths = store.pathsFor({
    cameraSerial: manifest.cameraSerial,
    fileName: manifest.fileName,
    vidExt: video.ext,
    thmbExt: thumb?.ext ?? '.jpg',
    triggeredAtUtc: new Date(manifest.triggeredAt).toISOString(),
  });
  const written: string[] = [];
  try {
    for (const [object, path] of [
      [video, paths.videoPath],
      [thumb, paths.thumbPath],
    ] as const) {
      if (object === undefined) continue;
      const opened = await objects.openRead(object.key, signal);
      if (!opened) {
        throw new PfcamError(
          'errors.backupUnconfirmed',
          `the object ${object.key} is missing from the bucket`,
          {
            params: { key: object.key },
          },
        );
      }
      written.push(path);
      await store.media.writeAtomic(
        path,
        verified(
          opened.body as AsyncIterable<Buffer>,
          { bytes: object.bytes, sha256: object.sha256 },
          object.key,
        ),
      );
    }
  } catch (err) {
    for (const path of written) await store.media.remove(path).catch(() => undefined);
    throw err;
  }
  await store.events.markRestored(eventId, {
    videoPath: paths.videoPath,
    videoSize: video.bytes,
    thumbPath: thumb ? paths.thumbPath : null,
    thumbSize: thumb?.bytes ?? null,
    metadata: { archive: { location: 'local' } },
  });
}
