/**
 * Object keys and the per-recording manifest of the S3 archive.
 *
 * Layout (one site = one prefix): `<prefix>/<serial>/<yyyy>/<mm>/<dd>/<fileName><ext>` for the media and
 * `<prefix>/<serial>/<yyyy>/<mm>/<dd>/<fileName>.json` for the manifest, the date being the trigger time in UTC.
 * The manifest is written last, once every object of the recording is confirmed: its presence means the
 * recording is complete in the bucket, which is what "rebuild index from S3" relies on.
 */
import { InputError } from '../errors';

export const MANIFEST_FORMAT = 'pfcam-archive-manifest';
export const MANIFEST_VERSION = 1;
export const MANIFEST_EXT = '.json';

const SAFE = /^[A-Za-z0-9._-]$/;

/**
 * One key segment from a camera-supplied name: letters, digits, `.`, `_`, `-` kept, any other byte written as
 * `%XX` (so two different names never share a key), and `.`, `..` or empty refused.
 */
export function safeSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new InputError(`"${value}" cannot be part of an S3 key`, { key: 'errors.s3Key' });
  }
  let out = '';
  for (const char of value) {
    if (SAFE.test(char)) out += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A media extension (`.mp4`): a dot and 1 to 10 letters or digits. */
export function safeExtension(ext: string): string {
  if (!/^\.[A-Za-z0-9]{1,10}$/.test(ext)) {
    throw new InputError(`"${ext}" is not a file extension`, { key: 'errors.s3Key' });
  }
  return ext;
}

/** The UTC instant of a trigger time, as `Date` (refuses text that is not a date). */
export function utcInstant(triggeredAtUtc: string): Date {
  const date = new Date(triggeredAtUtc);
  if (Number.isNaN(date.getTime())) {
    throw new InputError(`"${triggeredAtUtc}" is not a date`, { key: 'errors.badInput' });
  }
  return date;
}

/** `<prefix>/<serial>/<yyyy>/<mm>/<dd>/<fileName>` (no extension). */
export function recordingKeyBase(
  prefix: string,
  cameraSerial: string,
  triggeredAtUtc: string,
  fileName: string,
): string {
  const at = utcInstant(triggeredAtUtc);
  const parts = [
    safeSegment(cameraSerial),
    String(at.getUTCFullYear()).padStart(4, '0'),
    String(at.getUTCMonth() + 1).padStart(2, '0'),
    String(at.getUTCDate()).padStart(2, '0'),
    safeSegment(fileName),
  ];
  return prefix === '' ? parts.join('/') : `${prefix}/${parts.join('/')}`;
}

/** The key of one media object of a recording. */
export function objectKey(
  prefix: string,
  cameraSerial: string,
  triggeredAtUtc: string,
  fileName: string,
  ext: string,
): string {
  return recordingKeyBase(prefix, cameraSerial, triggeredAtUtc, fileName) + safeExtension(ext);
}

/** The key of a recording's manifest. */
export function manifestKey(
  prefix: string,
  cameraSerial: string,
  triggeredAtUtc: string,
  fileName: string,
): string {
  return recordingKeyBase(prefix, cameraSerial, triggeredAtUtc, fileName) + MANIFEST_EXT;
}

/** One media object of a recording, as the manifest lists it. */
export interface ManifestObject {
  kind: 'video' | 'thumbnail';
  key: string;
  ext: string;
  bytes: number;
  sha256: string;
}

/** The JSON document stored beside each backed-up recording. */
export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  cameraSerial: string;
  fileName: string;
  eventName: string | null;
  /** Trigger time, ISO-8601 UTC. */
  triggeredAt: string;
  /** Clip length in seconds, when known. */
  playbackTime: number | null;
  /** Whether the recording was flagged (kept by retention) when it was backed up. */
  flagged: boolean;
  objects: ManifestObject[];
  /** Total bytes of the media objects. */
  bytes: number;
  /** When the manifest was written (ISO-8601 UTC). */
  backedUpAt: string;
}

export interface ManifestInput {
  cameraSerial: string;
  fileName: string;
  eventName: string | null;
  triggeredAt: string;
  playbackTime?: number | null;
  flagged?: boolean;
  objects: ManifestObject[];
  backedUpAt: Date;
}

export function buildManifest(input: ManifestInput): BackupManifest {
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    cameraSerial: input.cameraSerial,
    fileName: input.fileName,
    eventName: input.eventName,
    triggeredAt: utcInstant(input.triggeredAt).toISOString(),
    playbackTime: input.playbackTime ?? null,
    flagged: input.flagged ?? false,
    objects: input.objects.map((o) => ({ ...o })),
    bytes: input.objects.reduce((sum, o) => sum + o.bytes, 0),
    backedUpAt: input.backedUpAt.toISOString(),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isObjectEntry(value: unknown): value is ManifestObject {
  return (
    isRecord(value) &&
    (value.kind === 'video' || value.kind === 'thumbnail') &&
    typeof value.key === 'string' &&
    typeof value.ext === 'string' &&
    /^\.[A-Za-z0-9]{1,10}$/.test(value.ext) &&
    typeof value.bytes === 'number' &&
    Number.isSafeInteger(value.bytes) &&
    value.bytes >= 0 &&
    typeof value.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256)
  );
}

/**
 * Reads a manifest downloaded from the bucket (untrusted): returns it when well-formed, else undefined.
 * The object keys must lie under the manifest's own folder, so a tampered manifest cannot point elsewhere.
 */
export function parseManifest(value: unknown, key?: string): BackupManifest | undefined {
  if (!isRecord(value)) return undefined;
  if (value.format !== MANIFEST_FORMAT || value.version !== MANIFEST_VERSION) return undefined;
  const { cameraSerial, fileName, eventName, triggeredAt, playbackTime, flagged, objects, backedUpAt } =
    value;
  if (typeof cameraSerial !== 'string' || cameraSerial === '' || cameraSerial.length > 128) return undefined;
  if (typeof fileName !== 'string' || fileName === '' || fileName.length > 255) return undefined;
  if (fileName.includes('/') || fileName.includes('\\') || fileName === '.' || fileName === '..')
    return undefined;
  if (eventName !== null && typeof eventName !== 'string') return undefined;
  if (typeof triggeredAt !== 'string' || Number.isNaN(new Date(triggeredAt).getTime())) return undefined;
  if (playbackTime !== null && typeof playbackTime !== 'number') return undefined;
  if (typeof flagged !== 'boolean' || typeof backedUpAt !== 'string') return undefined;
  if (!Array.isArray(objects) || !objects.every(isObjectEntry)) return undefined;
  const kinds = new Set(objects.map((o) => o.kind));
  if (kinds.size !== objects.length || !kinds.has('video')) return undefined;
  if (key !== undefined) {
    const base = key.slice(0, -MANIFEST_EXT.length);
    if (!key.endsWith(MANIFEST_EXT) || !objects.every((o) => o.key === base + o.ext)) return undefined;
  }
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    cameraSerial,
    fileName,
    eventName,
    triggeredAt,
    playbackTime,
    flagged,
    objects: objects.map((o) => ({ kind: o.kind, key: o.key, ext: o.ext, bytes: o.bytes, sha256: o.sha256 })),
    bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
    backedUpAt,
  };
}
