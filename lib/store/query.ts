/**
 * Queries over the event store: filters, sorting, offset and keyset pagination, counts, and statistics (per
 * camera, per hour / day in any IANA zone, storage use).
 *
 * Every user value reaches SQLite as a bound parameter; only fixed SQL fragments chosen from validated enums are
 * assembled. `validateQuery` turns anything from a message into a checked `EventQuery` or throws an InputError
 * that says what to fix.
 */
import type { Database, SqlValue } from './database';
import {
  BACKUP_STATES,
  EVENT_STATES,
  eventSelect,
  toEventRecord,
  type BackupState,
  type EventRecord,
  type EventRow,
  type EventState,
} from './records';
import { normaliseTags } from './tags';
import { viewedExpression, type Viewer } from './viewed-marks';
import { isUnset, readBoolean, readEnum, readInteger, type OptionInput } from '../config/option-reader';
import { isValidTimeZone, readInstant, zoneOffsetMs } from '../time/zoned-time';
import { InputError } from '../errors';

export type SortField = 'time' | 'size' | 'camera';
export type SortOrder = 'asc' | 'desc';
export type NameMatch = 'substring' | 'exact';

/** A checked query. Times are ISO UTC; `to` is exclusive. */
export interface EventQuery {
  /** Camera serial numbers (any of). */
  cameras?: readonly string[];
  from?: string;
  to?: string;
  name?: string;
  nameMatch?: NameMatch;
  /** true: only recordings with an event name; false: only those without. */
  named?: boolean;
  /** Recordings carrying all of these tags. */
  tags?: readonly string[];
  flagged?: boolean;
  /** Viewed by `viewer`, or without one by anyone. */
  viewed?: boolean;
  /**
   * Whose "viewed" marks `viewed` and each record's `viewed` are (set by the dashboard from the signed-in user;
   * not a field of a flow's query).
   */
  viewer?: Viewer;
  states?: readonly EventState[];
  backupStates?: readonly BackupState[];
  /** Include retired recordings (tombstones without files). Default false. */
  includeRetired?: boolean;
  sort?: SortField;
  order?: SortOrder;
  /** 1-1000, default 50. */
  limit?: number;
  offset?: number;
  /** A `nextCursor` of a previous page (keyset pagination; `offset` is then ignored). */
  cursor?: string;
  /** Also count all matches (costs a scan of the matches). Default false. */
  count?: boolean;
}

export interface QueryPage {
  events: EventRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** All matches, when `count` was asked. */
  total?: number;
}

export const QUERY_LIMIT_MAX = 1000;
const QUERY_KEYS = new Set([
  'cameras',
  'camera',
  'from',
  'to',
  'name',
  'nameMatch',
  'named',
  'tags',
  'flagged',
  'viewed',
  'states',
  'backupStates',
  'includeRetired',
  'sort',
  'order',
  'limit',
  'offset',
  'cursor',
  'count',
]);

function bad(message: string, option: string): InputError {
  return new InputError(message, { key: 'errors.badQuery', params: { option } });
}

/** A `msg.query` field for the shared option readers. */
function field(raw: unknown, name: string): OptionInput {
  return { value: raw, source: `query.${name}`, key: 'errors.badQuery', params: { option: name } };
}

function optBool(raw: unknown, name: string): boolean | undefined {
  return isUnset(raw) ? undefined : readBoolean(field(raw, name));
}

function optInt(raw: unknown, name: string, min: number, max: number): number | undefined {
  return isUnset(raw) ? undefined : readInteger(field(raw, name), min, max);
}

function optTime(raw: unknown, name: string): string | undefined {
  const ms = readInstant(field(raw, name));
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function oneOf<T extends string>(raw: unknown, name: string, allowed: readonly T[]): T | undefined {
  return isUnset(raw) ? undefined : readEnum(field(raw, name), allowed);
}

function listOf<T extends string>(raw: unknown, name: string, allowed?: readonly T[]): T[] | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === 'string'
      ? raw.split(',').map((s) => s.trim())
      : null;
  if (!list || list.length > 100) throw bad(`query.${name} must be a list (at most 100 entries)`, name);
  const out: T[] = [];
  for (const v of list) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 128)
      throw bad(`query.${name} has an invalid entry`, name);
    if (allowed && !allowed.includes(v as T))
      throw bad(`query.${name} entries must be among ${allowed.join(', ')}`, name);
    out.push(v as T);
  }
  return out;
}

/** Checks a query from a message or a node's settings. Unknown keys are refused (a typo must not widen a query). */
export function validateQuery(raw: unknown): EventQuery {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('msg.query must be an object', 'query');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!QUERY_KEYS.has(key)) throw bad(`query.${key} is not a known query property`, key);
  }
  const q: EventQuery = {};
  const cameras = listOf<string>(r.cameras ?? r.camera, 'cameras');
  if (cameras) q.cameras = cameras;
  const from = optTime(r.from, 'from');
  const to = optTime(r.to, 'to');
  if (from) q.from = from;
  if (to) q.to = to;
  if (from && to && from >= to) throw bad('query.from must be before query.to', 'from');
  if (r.name !== undefined && r.name !== null && r.name !== '') {
    if (typeof r.name !== 'string' || r.name.length > 200)
      throw bad('query.name must be a text of at most 200 characters', 'name');
    q.name = r.name;
  }
  const nameMatch = oneOf<NameMatch>(r.nameMatch, 'nameMatch', ['substring', 'exact']);
  if (nameMatch) q.nameMatch = nameMatch;
  const named = optBool(r.named, 'named');
  if (named !== undefined) q.named = named;
  if (r.tags !== undefined && r.tags !== null && r.tags !== '') {
    try {
      q.tags = normaliseTags(typeof r.tags === 'string' ? r.tags.split(',') : r.tags);
    } catch (err) {
      throw bad(`query.tags: ${(err as Error).message}`, 'tags');
    }
  }
  const flagged = optBool(r.flagged, 'flagged');
  if (flagged !== undefined) q.flagged = flagged;
  const viewed = optBool(r.viewed, 'viewed');
  if (viewed !== undefined) q.viewed = viewed;
  const states = listOf<EventState>(r.states, 'states', EVENT_STATES);
  if (states) q.states = states;
  const backupStates = listOf<BackupState>(r.backupStates, 'backupStates', BACKUP_STATES);
  if (backupStates) q.backupStates = backupStates;
  const includeRetired = optBool(r.includeRetired, 'includeRetired');
  if (includeRetired !== undefined) q.includeRetired = includeRetired;
  const sort = oneOf<SortField>(r.sort, 'sort', ['time', 'size', 'camera']);
  if (sort) q.sort = sort;
  const order = oneOf<SortOrder>(r.order, 'order', ['asc', 'desc']);
  if (order) q.order = order;
  const limit = optInt(r.limit, 'limit', 1, QUERY_LIMIT_MAX);
  if (limit !== undefined) q.limit = limit;
  const offset = optInt(r.offset, 'offset', 0, 10_000_000);
  if (offset !== undefined) q.offset = offset;
  if (r.cursor !== undefined && r.cursor !== null && r.cursor !== '') {
    if (typeof r.cursor !== 'string')
      throw bad('query.cursor must be the text of a previous nextCursor', 'cursor');
    decodeCursor(r.cursor, q.sort ?? 'time');
    q.cursor = r.cursor;
  }
  const count = optBool(r.count, 'count');
  if (count !== undefined) q.count = count;
  return q;
}

interface Cursor {
  s: SortField;
  /** The sort value of the last row (time, size or serial + time). */
  v: (string | number)[];
  id: number;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeCursor(text: string, sort: SortField): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
    const sizes = { time: 1, size: 1, camera: 2 } as const;
    if (
      c.s === sort &&
      Array.isArray(c.v) &&
      c.v.length === sizes[sort] &&
      c.v.every((x) => typeof x === 'string' || typeof x === 'number') &&
      Number.isSafeInteger(c.id)
    ) {
      return c as Cursor;
    }
  } catch {
    // fall through
  }
  throw bad('query.cursor is not a cursor of this query (sort changed?)', 'cursor');
}

/** Below this many matches a name search goes through the trigram index; above, an ordered scan is quicker. */
const RARE_NAME_MATCHES = 1000;

function ftsPhrase(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** Whether fewer than RARE_NAME_MATCHES recordings' names contain `text` (stops counting there: cheap). */
async function isRareName(db: Database, text: string): Promise<boolean> {
  const row = await db.get<{ n: number }>(
    'SELECT count(*) AS n FROM (SELECT rowid FROM events_name_fts WHERE events_name_fts MATCH ? LIMIT ?)',
    [ftsPhrase(text), RARE_NAME_MATCHES],
  );
  return (row?.n ?? 0) < RARE_NAME_MATCHES;
}

/** The WHERE clause (without the word) and its parameters for a checked query; it names only `e` (events). */
export async function buildWhere(
  db: Database,
  q: EventQuery,
): Promise<{ sql: string; params: SqlValue[]; empty: boolean }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  let empty = false;
  if (q.cameras && q.cameras.length > 0) {
    const marks = q.cameras.map(() => '?').join(', ');
    const rows = await db.all<{ id: number }>(`SELECT id FROM cameras WHERE serial_number IN (${marks})`, [
      ...q.cameras,
    ]);
    if (rows.length === 0) empty = true;
    else if (rows.length === 1) {
      where.push('e.camera_id = ?');
      params.push(rows[0]!.id);
    } else {
      where.push(`e.camera_id IN (${rows.map(() => '?').join(', ')})`);
      params.push(...rows.map((r) => r.id));
    }
  }
  if (q.from) {
    where.push('e.triggered_at_utc >= ?');
    params.push(q.from);
  }
  if (q.to) {
    where.push('e.triggered_at_utc < ?');
    params.push(q.to);
  }
  if (q.name !== undefined) {
    if (q.nameMatch === 'exact') {
      where.push('e.event_name = ? COLLATE NOCASE');
      params.push(q.name);
    } else {
      // Substring, case-insensitive for ASCII letters (LIKE). When few names match, the trigram index finds the
      // candidates at once; for common text a scan in the query's order fills a page within a few rows.
      if ([...q.name].length >= 3 && (await isRareName(db, q.name))) {
        where.push('e.id IN (SELECT rowid FROM events_name_fts WHERE events_name_fts MATCH ?)');
        params.push(ftsPhrase(q.name));
      }
      where.push("e.event_name LIKE ? ESCAPE '\\'");
      params.push(`%${q.name.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
    }
  }
  if (q.named === true) where.push('e.event_name IS NOT NULL');
  if (q.named === false) where.push('e.event_name IS NULL');
  for (const tag of q.tags ?? []) {
    where.push('EXISTS (SELECT 1 FROM event_tags t WHERE t.event_id = e.id AND t.tag = ?)');
    params.push(tag);
  }
  if (q.flagged !== undefined) {
    where.push('e.flagged = ?');
    params.push(q.flagged ? 1 : 0);
  }
  if (q.viewed !== undefined) {
    const mark = viewedExpression(q.viewer);
    where.push(q.viewed ? mark.sql : `NOT ${mark.sql}`);
    params.push(...mark.params);
  }
  if (q.states && q.states.length > 0) {
    where.push(`e.state IN (${q.states.map(() => '?').join(', ')})`);
    params.push(...q.states);
  }
  if (q.backupStates && q.backupStates.length > 0) {
    where.push(`e.backup_state IN (${q.backupStates.map(() => '?').join(', ')})`);
    params.push(...q.backupStates);
  }
  if (!q.includeRetired) where.push('e.retired_at IS NULL');
  return { sql: where.length > 0 ? where.join(' AND ') : '1', params, empty };
}

/** ORDER BY and keyset fragments per sort (fixed SQL, chosen from the validated enum). */
function ordering(
  sort: SortField,
  order: SortOrder,
): { orderBy: string; keyset: string; values: (r: EventRow) => (string | number)[] } {
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  const cmp = order === 'asc' ? '>' : '<';
  switch (sort) {
    case 'size':
      return {
        orderBy: `ifnull(e.video_size, -1) ${dir}, e.id ${dir}`,
        keyset: `(ifnull(e.video_size, -1), e.id) ${cmp} (?, ?)`,
        values: (r) => [r.video_size ?? -1],
      };
    case 'camera':
      return {
        orderBy: `c.serial_number ${dir}, e.triggered_at_utc ${dir}, e.id ${dir}`,
        keyset: `(c.serial_number, e.triggered_at_utc, e.id) ${cmp} (?, ?, ?)`,
        values: (r) => [r.serial_number, r.triggered_at_utc],
      };
    case 'time':
      return {
        orderBy: `e.triggered_at_utc ${dir}, e.id ${dir}`,
        keyset: `(e.triggered_at_utc, e.id) ${cmp} (?, ?)`,
        values: (r) => [r.triggered_at_utc],
      };
  }
}

/** The event SELECT of a query, whose `viewed` is the query's viewer's; its parameters come first. */
function selectOf(q: EventQuery): { sql: string; params: SqlValue[] } {
  const mark = viewedExpression(q.viewer);
  return { sql: eventSelect(mark.sql), params: mark.params };
}

/** One page of recordings matching a checked query (newest first unless told otherwise). */
export async function queryEvents(db: Database, q: EventQuery): Promise<QueryPage> {
  const where = await buildWhere(db, q);
  if (where.empty) return { events: [], nextCursor: null, ...(q.count ? { total: 0 } : {}) };
  const sort = q.sort ?? 'time';
  const ord = ordering(sort, q.order ?? 'desc');
  const limit = q.limit ?? 50;
  const select = selectOf(q);
  const params = [...select.params, ...where.params];
  let sql = `${select.sql} WHERE ${where.sql}`;
  if (q.cursor) {
    const c = decodeCursor(q.cursor, sort);
    sql += ` AND ${ord.keyset}`;
    params.push(...c.v, c.id);
  }
  sql += ` ORDER BY ${ord.orderBy} LIMIT ?`;
  params.push(limit + 1);
  if (!q.cursor && q.offset) {
    sql += ' OFFSET ?';
    params.push(q.offset);
  }
  const rows = await db.all<EventRow>(sql, params);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  const result: QueryPage = {
    events: page.map(toEventRecord),
    nextCursor: more && last ? encodeCursor({ s: sort, v: ord.values(last), id: last.id }) : null,
  };
  if (q.count) result.total = await countEvents(db, q);
  return result;
}

/** How many recordings match (pagination ignored). */
export async function countEvents(db: Database, q: EventQuery): Promise<number> {
  const where = await buildWhere(db, q);
  if (where.empty) return 0;
  const row = await db.get<{ n: number }>(
    `SELECT count(*) AS n FROM events e WHERE ${where.sql}`,
    where.params,
  );
  return row?.n ?? 0;
}

/**
 * Streams every matching recording (in the query's order, no limit) to `onRow`, a page at a time, each page read
 * with `Database.each`; `onPage` is awaited between pages (for back-pressure). Resolves with the row count. A
 * throw from `onRow` stops the walk and rejects.
 */
export async function eachEvent(
  db: Database,
  q: EventQuery,
  onRow: (event: EventRecord) => void,
  onPage: () => Promise<void> = () => Promise.resolve(),
  pageSize = 500,
): Promise<number> {
  const where = await buildWhere(db, q);
  if (where.empty) return 0;
  const sort = q.sort ?? 'time';
  const ord = ordering(sort, q.order ?? 'desc');
  let cursor: Cursor | undefined = q.cursor ? decodeCursor(q.cursor, sort) : undefined;
  let total = 0;
  const select = selectOf(q);
  for (;;) {
    const params = [...select.params, ...where.params];
    let sql = `${select.sql} WHERE ${where.sql}`;
    if (cursor) {
      sql += ` AND ${ord.keyset}`;
      params.push(...cursor.v, cursor.id);
    }
    sql += ` ORDER BY ${ord.orderBy} LIMIT ?`;
    params.push(pageSize);
    let last: EventRow | undefined;
    // A throw inside the driver's row callback would escape as an uncaught exception: keep it, rethrow after.
    let failure: { error: unknown } | undefined;
    const n = await db.each<EventRow>(sql, params, (row) => {
      if (failure) return;
      last = row;
      try {
        onRow(toEventRecord(row));
      } catch (error) {
        failure = { error };
      }
    });
    if (failure) throw failure.error;
    total += n;
    if (n < pageSize || !last) break;
    cursor = { s: sort, v: ord.values(last), id: last.id };
    await onPage();
  }
  return total;
}

// ------------------------------------------------------------------ statistics

export type Bucket = 'hour' | 'day';

export interface TimeBucket {
  /** Local calendar label: `YYYY-MM-DD` (day) or `YYYY-MM-DDTHH` (hour), in the asked zone. */
  bucket: string;
  count: number;
  /** Video + thumbnail bytes of the bucket's stored recordings. */
  bytes: number;
}

export interface CameraStat {
  serialNumber: string;
  name: string | null;
  events: number;
  bytes: number;
  flagged: number;
  unviewed: number;
  /** Oldest and newest trigger times (ISO UTC), null without recordings. */
  first: string | null;
  last: string | null;
}

export interface StorageUse {
  totalBytes: number;
  events: number;
  cameras: { serialNumber: string; name: string | null; events: number; bytes: number }[];
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const DAY_MS = 86_400_000;

/**
 * Labels UTC instants with their local day or hour in `zone`. The zone's offset is looked up once per UTC day
 * (twice, at both ends: equal means no change that day) and per instant only on days when it changes, since
 * asking Intl for every quarter hour of a long range is slow.
 */
function localLabeler(zone: string, bucket: Bucket): (utcMs: number) => string {
  const perDay = new Map<number, number | null>();
  return (utcMs) => {
    const day = Math.floor(utcMs / DAY_MS);
    let offset = perDay.get(day);
    if (offset === undefined) {
      const start = zoneOffsetMs(day * DAY_MS, zone);
      offset = start === zoneOffsetMs((day + 1) * DAY_MS - 1000, zone) ? start : null;
      perDay.set(day, offset);
    }
    const local = new Date(utcMs + (offset ?? zoneOffsetMs(utcMs, zone)));
    const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
    return bucket === 'hour' ? `${date}T${pad(local.getUTCHours())}` : date;
  };
}

/**
 * Recordings per hour or day in `timeZone` (an IANA name, default UTC), over the query's filters. Buckets with no
 * recording are left out; buckets are in ascending order.
 */
export async function timeBuckets(
  db: Database,
  q: EventQuery,
  options: { bucket?: Bucket; timeZone?: string } = {},
): Promise<TimeBucket[]> {
  const bucket = options.bucket ?? 'day';
  if (bucket !== 'hour' && bucket !== 'day') throw bad('query.bucket must be hour or day', 'bucket');
  const zone = options.timeZone ?? 'UTC';
  if (!isValidTimeZone(zone)) throw bad(`"${zone}" is not an IANA time zone name`, 'timeZone');
  const where = await buildWhere(db, q);
  if (where.empty) return [];
  const utc = zone === 'UTC' || zone === 'Etc/UTC';
  // In UTC the database groups by the final label. Elsewhere it groups by UTC hour when the zone's offset is a
  // whole number of hours over the whole range, else by UTC quarter hour (every offset is a multiple of 15
  // minutes), and the groups are folded into local buckets here.
  const quarters = !utc && !(await wholeHourOffsets(db, q, zone));
  const key = utc
    ? bucket === 'day'
      ? 'substr(e.triggered_at_utc, 1, 10)'
      : 'substr(e.triggered_at_utc, 1, 13)'
    : quarters
      ? "substr(e.triggered_at_utc, 1, 14) || printf('%02d', (CAST(substr(e.triggered_at_utc, 15, 2) AS INTEGER) / 15) * 15)"
      : 'substr(e.triggered_at_utc, 1, 13)';
  const rows = await db.all<{ k: string; n: number; b: number }>(
    `SELECT ${key} AS k, count(*) AS n,
       coalesce(sum(coalesce(e.video_size, 0) + coalesce(e.thumb_size, 0)), 0) AS b
     FROM events e WHERE ${where.sql} GROUP BY k ORDER BY k`,
    where.params,
  );
  if (utc) return rows.map((r) => ({ bucket: r.k, count: r.n, bytes: r.b }));
  const folded = new Map<string, TimeBucket>();
  const label = localLabeler(zone, bucket);
  for (const r of rows) {
    const key = label(Date.parse(r.k.length === 13 ? `${r.k}:00:00Z` : `${r.k}:00Z`));
    const entry = folded.get(key);
    if (entry) {
      entry.count += r.n;
      entry.bytes += r.b;
    } else folded.set(key, { bucket: key, count: r.n, bytes: r.b });
  }
  return [...folded.values()].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
}

/** Whether `zone` is a whole number of hours off UTC on every day of the query's range (or of the data). */
async function wholeHourOffsets(db: Database, q: EventQuery, zone: string): Promise<boolean> {
  let from = q.from;
  let to = q.to;
  if (!from || !to) {
    const span = await db.get<{ lo: string | null; hi: string | null }>(
      'SELECT min(triggered_at_utc) AS lo, max(triggered_at_utc) AS hi FROM events',
    );
    from ??= span?.lo ?? undefined;
    to ??= span?.hi ?? undefined;
  }
  if (!from || !to) return true;
  const first = Math.floor(Date.parse(from) / DAY_MS);
  const last = Math.floor(Date.parse(to) / DAY_MS);
  if (last - first > 3700) return false;
  for (let day = first; day <= last + 1; day++) {
    if (zoneOffsetMs(day * DAY_MS, zone) % 3_600_000 !== 0) return false;
  }
  return true;
}

/** Per camera: recordings, bytes, flagged, unviewed, first and last trigger times, over the query's filters. */
export async function cameraStats(db: Database, q: EventQuery = {}): Promise<CameraStat[]> {
  const where = await buildWhere(db, q);
  if (where.empty) return [];
  const mark = viewedExpression(q.viewer);
  const rows = await db.all<{
    serial_number: string;
    name: string | null;
    n: number;
    b: number;
    f: number;
    u: number;
    first: string | null;
    last: string | null;
  }>(
    `SELECT c.serial_number, c.name, count(*) AS n,
       coalesce(sum(coalesce(e.video_size, 0) + coalesce(e.thumb_size, 0)), 0) AS b,
       coalesce(sum(e.flagged), 0) AS f, coalesce(sum(1 - ${mark.sql}), 0) AS u,
       min(e.triggered_at_utc) AS first, max(e.triggered_at_utc) AS last
     FROM events e JOIN cameras c ON c.id = e.camera_id WHERE ${where.sql}
     GROUP BY e.camera_id ORDER BY c.serial_number`,
    [...mark.params, ...where.params],
  );
  return rows.map((r) => ({
    serialNumber: r.serial_number,
    name: r.name,
    events: r.n,
    bytes: r.b,
    flagged: r.f,
    unviewed: r.u,
    first: r.first,
    last: r.last,
  }));
}

/** Bytes on disk per camera and in total (live recordings), from counters the store keeps: instant at any size. */
export async function storageUse(db: Database): Promise<StorageUse> {
  const rows = await db.all<{
    serial_number: string;
    name: string | null;
    event_count: number;
    stored_bytes: number;
  }>('SELECT serial_number, name, event_count, stored_bytes FROM cameras ORDER BY serial_number');
  return {
    totalBytes: rows.reduce((s, r) => s + r.stored_bytes, 0),
    events: rows.reduce((s, r) => s + r.event_count, 0),
    cameras: rows.map((r) => ({
      serialNumber: r.serial_number,
      name: r.name,
      events: r.event_count,
      bytes: r.stored_bytes,
    })),
  };
}
