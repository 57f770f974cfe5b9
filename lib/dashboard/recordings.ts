/**
 * The Recordings screen's data: filters from a query string, a page of recordings a principal may see (keyset
 * pagination over the store's query API), the public shape of one recording, and the per-recording actions.
 * The camera scope of the principal is applied here, to every list, count and export, whatever the page asks.
 */
import { inCameraScope, type Principal } from '../auth/permissions';
import { InputError } from '../errors';
import type { EventRecord, EventStore } from '../store/event-store';
import { normaliseTags } from '../store/event-store';
import { queryEvents, validateQuery, type EventQuery } from '../store/query';
import { isViewed, setViewed, viewerOf } from '../store/viewed-marks';
import { localParts, zoneOffsetMs } from '../time/zoned-time';
import { badRequest, notFound } from './dashboard-errors';

/** Rows per page of the Recordings table (default and maximum). */
export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 200;

/** One recording as the dashboard shows it: no file paths, no checksums, no errors' internals. */
export interface PublicRecording {
  id: number;
  camera: string;
  fileName: string;
  name: string | null;
  /** ISO-8601 UTC. */
  time: string;
  /** `YYYY-MM-DD HH:MM:SS` in the site's time zone. */
  localTime: string;
  /** Seconds, as the camera reported. */
  length: number | null;
  /** Video bytes, once stored. */
  size: number | null;
  state: EventRecord['state'];
  backupState: EventRecord['backupState'];
  flagged: boolean;
  /** Viewed by the user asking ("viewed" is per user). */
  viewed: boolean;
  tags: string[];
  /** The video can be played from the local archive (else the camera is asked). */
  local: boolean;
  thumbnail: boolean;
}

export interface RecordingsPage {
  recordings: PublicRecording[];
  nextCursor: string | null;
}

const pad = (n: number): string => String(n).padStart(2, '0');

const HOUR_MS = 3_600_000;
/** Per zone, per UTC hour: the zone's offset when it holds for the whole hour, null when it changes within. */
const hourOffsets = new Map<string, Map<number, number | null>>();
const MAX_HOURS_KEPT = 50_000;

/** The zone's offset (ms) for the whole UTC hour of `utcMs`, or null when a transition falls inside it. */
function hourOffset(utcMs: number, timeZone: string): number | null {
  let hours = hourOffsets.get(timeZone);
  if (!hours) hourOffsets.set(timeZone, (hours = new Map<number, number | null>()));
  const hour = Math.floor(utcMs / HOUR_MS);
  let offset = hours.get(hour);
  if (offset === undefined) {
    const start = zoneOffsetMs(hour * HOUR_MS, timeZone);
    // one offset at both ends of the hour: no transition inside (zones change at most once in an hour)
    offset = start === zoneOffsetMs((hour + 1) * HOUR_MS - 1000, timeZone) ? start : null;
    if (hours.size >= MAX_HOURS_KEPT) hours.clear();
    hours.set(hour, offset);
  }
  return offset;
}

/**
 * `YYYY-MM-DD HH:MM:SS` of a UTC instant in `timeZone`. A page shows many rows: the zone's offset is looked up
 * once per hour of time (Intl is slow per call) and the wall clock computed from it.
 */
export function localTimeText(utcIso: string, timeZone: string): string {
  const utcMs = Date.parse(utcIso);
  const offset = Number.isFinite(utcMs) ? hourOffset(utcMs, timeZone) : null;
  if (offset !== null) {
    const d = new Date(Math.floor(utcMs / 1000) * 1000 + offset);
    const year = d.getUTCFullYear();
    if (year >= 1000 && year <= 9999)
      return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  const p = localParts(utcMs, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

export function publicRecording(e: EventRecord, timeZone: string): PublicRecording {
  return {
    id: e.id,
    camera: e.cameraSerial,
    fileName: e.fileName,
    name: e.eventName,
    time: e.triggeredAtUtc,
    localTime: localTimeText(e.triggeredAtUtc, timeZone),
    length: e.playbackTime,
    size: e.videoSize,
    state: e.state,
    backupState: e.backupState,
    flagged: e.flagged,
    viewed: e.viewed,
    tags: e.tags,
    local: e.state === 'stored' && e.videoPath !== null,
    thumbnail: e.thumbPath !== null || e.retiredAt === null,
  };
}

const FILTER_KEYS = new Set(['camera', 'from', 'to', 'name', 'tag', 'flagged', 'viewed', 'cursor', 'limit']);

/**
 * Turns the Recordings screen's query string into a checked store query, narrowed to the principal's camera
 * scope: `camera` (serial), `from` / `to` (ISO times), `name` (full text), `tag`, `flagged`, `viewed`
 * (`true`/`false`), `cursor`, `limit` (1-200). Returns `undefined` when the scope leaves nothing to show.
 */
export function recordingsQuery(
  raw: Readonly<Record<string, string>>,
  principal: Principal,
): EventQuery | undefined {
  for (const key of Object.keys(raw)) if (!FILTER_KEYS.has(key)) throw badRequest(`unknown filter "${key}"`);
  const limit = raw.limit === undefined || raw.limit === '' ? PAGE_DEFAULT : Number(raw.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX)
    throw badRequest(`limit must be an integer from 1 to ${PAGE_MAX}`);
  let q: EventQuery;
  try {
    q = validateQuery({
      camera: raw.camera || undefined,
      from: raw.from || undefined,
      to: raw.to || undefined,
      name: raw.name || undefined,
      tags: raw.tag ? [raw.tag] : undefined,
      flagged: raw.flagged || undefined,
      viewed: raw.viewed || undefined,
      cursor: raw.cursor || undefined,
      limit,
    });
  } catch (err) {
    if (err instanceof InputError) throw badRequest(err.message.replace(/^(msg\.)?query\./, ''));
    throw err;
  }
  return scoped(q, principal);
}

/**
 * The query narrowed to the principal's cameras, with the principal's own "viewed" marks; undefined when nothing
 * is left.
 */
export function scoped(q: EventQuery, principal: Principal): EventQuery | undefined {
  const own = { ...q, viewer: viewerOf(principal) };
  if (principal.cameras === null) return own;
  const allowed = principal.cameras;
  const cameras = q.cameras ? q.cameras.filter((c) => allowed.includes(c)) : [...allowed];
  if (cameras.length === 0) return undefined;
  return { ...own, cameras };
}

/** The recording with `viewed` of the principal's own marks. */
export async function viewedBy(
  store: EventStore,
  principal: Principal,
  e: EventRecord,
): Promise<EventRecord> {
  return { ...e, viewed: await isViewed(store.db, viewerOf(principal), e.id) };
}

/** A page of recordings the principal may see, newest first. */
export async function listRecordings(
  store: EventStore,
  principal: Principal,
  raw: Readonly<Record<string, string>>,
  timeZone: string,
): Promise<RecordingsPage> {
  const q = recordingsQuery(raw, principal);
  if (!q) return { recordings: [], nextCursor: null };
  const page = await queryEvents(store.db, q);
  return { recordings: page.events.map((e) => publicRecording(e, timeZone)), nextCursor: page.nextCursor };
}

/** Parses a recording id of a path. */
export function recordingId(raw: string | undefined): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1) throw badRequest('the recording id must be a positive integer');
  return id;
}

/** The recording, when it exists and the principal's scope holds its camera (else 404, alike). */
export async function recordingFor(
  store: EventStore,
  principal: Principal,
  id: number,
): Promise<EventRecord> {
  const e = await store.get(id);
  if (!e || !inCameraScope(principal, e.cameraSerial)) throw notFound('recording');
  return e;
}

/** The camera serial of a recording (the `camera` scope resolver of the recording routes). */
export async function recordingCamera(
  store: EventStore,
  rawId: string | undefined,
): Promise<string | undefined> {
  const id = Number(rawId);
  if (!Number.isSafeInteger(id) || id < 1) return undefined;
  return (await store.get(id))?.cameraSerial;
}

export interface Annotation {
  flagged?: boolean;
  viewed?: boolean;
  tags?: string[];
}

/** Checks an annotation body: `{ flagged?, viewed?, tags? }`, at least one. */
export function parseAnnotation(body: unknown): Annotation {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be an object');
  const b = body as Record<string, unknown>;
  const out: Annotation = {};
  for (const key of Object.keys(b)) {
    if (key !== 'flagged' && key !== 'viewed' && key !== 'tags') throw badRequest(`unknown field "${key}"`);
  }
  if (b.flagged !== undefined) {
    if (typeof b.flagged !== 'boolean') throw badRequest('flagged must be true or false');
    out.flagged = b.flagged;
  }
  if (b.viewed !== undefined) {
    if (typeof b.viewed !== 'boolean') throw badRequest('viewed must be true or false');
    out.viewed = b.viewed;
  }
  if (b.tags !== undefined) {
    if (!Array.isArray(b.tags)) throw badRequest('tags must be a list of texts');
    try {
      out.tags = normaliseTags(b.tags);
    } catch (err) {
      throw badRequest(err instanceof Error ? err.message : 'bad tags');
    }
  }
  if (Object.keys(out).length === 0) throw badRequest('nothing to change: give flagged, viewed or tags');
  return out;
}

/** Applies an annotation; resolves with the recording as it is now. */
export async function annotate(
  store: EventStore,
  principal: Principal,
  id: number,
  a: Annotation,
  timeZone: string,
): Promise<PublicRecording> {
  await recordingFor(store, principal, id);
  if (a.flagged !== undefined) await store.setFlag(id, a.flagged);
  if (a.viewed !== undefined) await setViewed(store.db, viewerOf(principal), id, a.viewed);
  if (a.tags !== undefined) await store.setTags(id, a.tags);
  const e = await recordingFor(store, principal, id);
  return publicRecording(await viewedBy(store, principal, e), timeZone);
}

/** Deletes on the camera: resolves false when the camera no longer had it. */
export type DeleteOnCamera = (serial: string, fileName: string) => Promise<boolean>;

export interface DeleteResult {
  id: number;
  deleted: boolean;
  /** Set when the camera copy was asked to go too. */
  onCamera?: 'deleted' | 'alreadyGone';
}

/**
 * Deletes a recording (row and local files, audited by the store with the actor's name). With `onCamera`, the
 * camera copy goes first: when the camera cannot be reached nothing is deleted (otherwise the next discovery
 * would archive the recording again). Without it, the recording is retired only from the archive.
 */
export async function deleteRecording(
  store: EventStore,
  principal: Principal,
  id: number,
  options: { onCamera: boolean; deleteOnCamera: DeleteOnCamera },
): Promise<DeleteResult> {
  const e = await recordingFor(store, principal, id);
  let onCamera: DeleteResult['onCamera'];
  if (options.onCamera) {
    onCamera = (await options.deleteOnCamera(e.cameraSerial, e.fileName)) ? 'deleted' : 'alreadyGone';
    await store.markDeletedOnCamera(id);
  }
  const deleted = await store.deleteEvent(id, { actor: principal.name });
  return onCamera ? { id, deleted, onCamera } : { id, deleted };
}
