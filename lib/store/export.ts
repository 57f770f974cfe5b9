/**
 * Exports of the event store: CSV (RFC 4180, guarded against formula injection) and JSON, streamed row by row
 * to any writable; and a ZIP of recordings' media files with a `manifest.json`, streamed too.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { ZipFile } from 'yazl';
import type { Database } from './database';
import type { EventRecord } from './records';
import type { MediaFiles } from './media-files';
import { eachEvent, type EventQuery } from './query';
import { InputError, PfcamError } from '../errors';

export type ExportFormat = 'csv' | 'json' | 'zip';

/** The columns of a CSV export, in order. */
export const CSV_COLUMNS = [
  'id',
  'camera',
  'fileName',
  'eventName',
  'triggeredAt',
  'triggeredAtUtc',
  'playbackTime',
  'state',
  'videoPath',
  'videoSize',
  'videoSha256',
  'thumbPath',
  'thumbSize',
  'backupState',
  'backedUpAt',
  'flagged',
  'viewed',
  'tags',
  'discoveredAt',
  'storedAt',
] as const;

type CsvColumn = (typeof CSV_COLUMNS)[number];

function csvValue(e: EventRecord, column: CsvColumn): string | number | boolean | null {
  switch (column) {
    case 'camera':
      return e.cameraSerial;
    case 'tags':
      return e.tags.join(';');
    default:
      return e[column];
  }
}

/**
 * One CSV cell: RFC 4180 quoting (fields with `,` `"` CR or LF are quoted, quotes doubled), and text starting
 * with `=` `+` `-` `@` (or a tab / CR) is prefixed with `'` so that spreadsheets do not run it as a formula.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = value;
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated. */
export function csvRow(cells: readonly (string | number | boolean | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** An event as exported to JSON (files relative to the media folder, no absolute paths). */
export type ExportedEvent = EventRecord;

async function drained(out: Writable): Promise<void> {
  if (out.writableNeedDrain) {
    await Promise.race([
      once(out, 'drain'),
      once(out, 'close').then(() => Promise.reject(new Error('output closed'))),
    ]);
  }
}

function write(out: Writable, chunk: string): void {
  if (out.destroyed || out.writableEnded)
    throw new PfcamError('errors.exportFailed', 'the export output was closed');
  out.write(chunk);
}

/**
 * Streams the recordings matching `query` (all of them: `limit`/`offset` are ignored) as CSV or JSON into `out`,
 * waiting for it to drain between pages, so memory stays flat at any table size. Does not end `out`.
 * Resolves with the row count.
 */
export async function exportEvents(
  db: Database,
  query: EventQuery,
  format: 'csv' | 'json',
  out: Writable,
): Promise<number> {
  const q: EventQuery = { ...query, limit: undefined, offset: undefined, count: false };
  if (format === 'csv') {
    write(out, '\ufeff' + csvRow(CSV_COLUMNS));
    return eachEvent(
      db,
      q,
      (e) => write(out, csvRow(CSV_COLUMNS.map((c) => csvValue(e, c)))),
      () => drained(out),
    );
  }
  if (format === 'json') {
    write(out, '[');
    let first = true;
    const n = await eachEvent(
      db,
      q,
      (e) => {
        write(out, (first ? '\n' : ',\n') + JSON.stringify(e));
        first = false;
      },
      () => drained(out),
    );
    write(out, first ? ']\n' : '\n]\n');
    return n;
  }
  throw new InputError(`unknown export format: ${String(format)}`, {
    key: 'errors.badQuery',
    params: { option: 'format' },
  });
}

export interface ZipOptions {
  /** Include thumbnails. Default true. */
  thumbnails?: boolean;
  /** Refuse past this many recordings. Default 10 000. */
  maxEvents?: number;
  /** Refuse past this many bytes of media. Default 20 GiB. */
  maxBytes?: number;
}

export interface ZipManifestEntry {
  id: number;
  camera: string;
  fileName: string;
  eventName: string | null;
  triggeredAtUtc: string;
  files: { kind: 'video' | 'thumbnail'; name: string; size: number; sha256: string | null }[];
}

export interface ZipManifest {
  createdAt: string;
  query: EventQuery;
  events: ZipManifestEntry[];
  /** Recordings that matched but whose files are not on disk (not stored yet, or missing). */
  skipped: { id: number; camera: string; fileName: string; reason: string }[];
}

/**
 * Streams a ZIP of the media of the recordings matching `query` into `out`: `media/<relative path>` for each
 * file, and `manifest.json`. Only files inside the media folder are read (symbolic links are resolved and
 * checked). Media is stored without recompression (already compressed). Ends `out`. Resolves with the manifest.
 */
export async function exportZip(
  db: Database,
  media: MediaFiles,
  query: EventQuery,
  out: Writable,
  options: ZipOptions = {},
): Promise<ZipManifest> {
  const maxEvents = options.maxEvents ?? 10_000;
  const maxBytes = options.maxBytes ?? 20 * 1024 ** 3;
  const events: EventRecord[] = [];
  await eachEvent(db, { ...query, limit: undefined, offset: undefined, count: false }, (e) => {
    if (events.length >= maxEvents) {
      throw new InputError(`the ZIP export would hold more than ${maxEvents} recordings: narrow the query`, {
        key: 'errors.exportTooLarge',
      });
    }
    events.push(e);
  });
  const manifest: ZipManifest = { createdAt: new Date().toISOString(), query, events: [], skipped: [] };
  const zip = new ZipFile();
  const finished = new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.once('finish', resolve);
    zip.outputStream.once('error', reject);
  });
  // The output may fail while files are still being added: handled at the `await finished` below.
  finished.catch(() => undefined);
  zip.outputStream.pipe(out);
  let bytes = 0;
  const thumbs = options.thumbnails !== false;
  try {
    for (const e of events) {
      const files: ZipManifestEntry['files'] = [];
      const wanted: ['video' | 'thumbnail', string | null, string | null][] = [
        ['video', e.videoPath, e.videoSha256],
      ];
      if (thumbs) wanted.push(['thumbnail', e.thumbPath, e.thumbSha256]);
      let missing: string | undefined;
      for (const [kind, rel, sha256] of wanted) {
        if (e.state !== 'stored' || !rel) {
          if (kind === 'video') missing = `not stored (${e.state})`;
          continue;
        }
        let file: { path: string; size: number };
        try {
          file = await media.resolveExisting(rel);
        } catch (err) {
          if (kind === 'video') missing = err instanceof Error ? err.message : String(err);
          continue;
        }
        bytes += file.size;
        if (bytes > maxBytes) {
          throw new InputError(`the ZIP export would be larger than ${maxBytes} bytes: narrow the query`, {
            key: 'errors.exportTooLarge',
          });
        }
        const name = `media/${rel}`;
        zip.addFile(file.path, name, { compress: false, mtime: new Date(e.triggeredAtUtc) });
        files.push({ kind, name, size: file.size, sha256 });
      }
      if (missing !== undefined) {
        manifest.skipped.push({ id: e.id, camera: e.cameraSerial, fileName: e.fileName, reason: missing });
      }
      if (files.length > 0) {
        manifest.events.push({
          id: e.id,
          camera: e.cameraSerial,
          fileName: e.fileName,
          eventName: e.eventName,
          triggeredAtUtc: e.triggeredAtUtc,
          files,
        });
      }
    }
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2), 'utf8'), 'manifest.json');
    zip.end();
  } catch (err) {
    zip.outputStream.unpipe(out);
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  try {
    await finished;
  } catch (err) {
    // The output failed (closed, full, over a limit): stop reading files.
    zip.outputStream.unpipe(out);
    (zip.outputStream as Readable).destroy();
    throw err;
  }
  return manifest;
}

/**
 * Writes an export to `file` atomically (`.part` then rename): CSV, JSON or ZIP. Resolves with the row count
 * (CSV/JSON) or the number of recordings in the ZIP.
 */
export async function exportToFile(
  db: Database,
  media: MediaFiles,
  query: EventQuery,
  format: ExportFormat,
  file: string,
  zipOptions?: ZipOptions,
): Promise<number> {
  const temp = `${file}.part`;
  const out = createWriteStream(temp, { flags: 'w', mode: 0o640 });
  await once(out, 'open');
  try {
    let count: number;
    if (format === 'zip') {
      count = (await exportZip(db, media, query, out, zipOptions)).events.length;
    } else {
      count = await exportEvents(db, query, format, out);
      out.end();
      await once(out, 'finish');
    }
    await new Promise<void>((resolve, reject) =>
      out.closed ? resolve() : out.once('close', resolve).once('error', reject),
    );
    await rename(temp, file);
    return count;
  } catch (err) {
    out.destroy();
    await rm(temp, { force: true });
    throw err;
  }
}
