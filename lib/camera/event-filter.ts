/**
 * `pfcam-events`: its options, and the client-side filters of a camera's recording list (the camera has no
 * query filters): time range, name (any / named / unnamed / a name or a `*` pattern), newest N.
 */
import { InputError } from '../errors';
import type { CameraRecording, EventsOperation } from './messages';
import { typedProperty, type SourcedValue, type TypedProperty } from '../config/node-property';
import { configOption, readBoolean, readInteger, readText, showValue } from '../config/option-reader';
import { isValidTimeZone, readInstant, toUtcIso } from '../time/zoned-time';
import type { CameraEvent } from './types';
import { unsafeFileNameReason } from './validate';

export const EVENTS_OPERATIONS: readonly EventsOperation[] = [
  'list',
  'active',
  'delete',
  'deleteAll',
  'stop',
  'stopAll',
];

/** Which names a list keeps. */
export type NameFilter = 'any' | 'named' | 'unnamed' | 'name';
export const NAME_FILTERS: readonly NameFilter[] = ['any', 'named', 'unnamed', 'name'];

/** The checked options of a `pfcam-events` node. */
export interface EventsNodeOptions {
  readonly operation: EventsOperation;
  /** Which recordings `list` keeps by name. */
  readonly nameFilter: NameFilter;
  /** The name (or `*` pattern) when `nameFilter` is `name`. */
  readonly namePattern: TypedProperty;
  /** Oldest trigger time kept (inclusive); empty literal = no bound. */
  readonly from: TypedProperty;
  /** Newest trigger time kept (exclusive); empty literal = no bound. */
  readonly to: TypedProperty;
  /** Keep only the newest N (empty literal or 0 = all). */
  readonly newest: TypedProperty;
  /** Which recording `delete` removes: a file name, or a recording object with `fileName`. */
  readonly fileName: TypedProperty;
  /** Which active event `stop` stops: a name, or an object with `eventName`. */
  readonly eventName: TypedProperty;
  /** The editor's explicit permission for `deleteAll`. */
  readonly confirmDeleteAll: boolean;
}

const VALUE_TYPES = ['str', 'msg', 'flow', 'global', 'env'];
const TIME_TYPES = ['str', 'num', 'msg', 'flow', 'global', 'env', 'date'];
const NUMBER_TYPES = ['num', 'msg', 'flow', 'global', 'env'];

/** Turns a `pfcam-events` node's raw config into checked options (defaults: list everything). */
export function eventsNodeOptions(config: Readonly<Record<string, unknown>>): EventsNodeOptions {
  const operation = config.operation === undefined || config.operation === '' ? 'list' : config.operation;
  if (!(EVENTS_OPERATIONS as readonly unknown[]).includes(operation)) {
    throw new InputError(
      `The operation must be one of ${EVENTS_OPERATIONS.join(', ')}, got ${showValue(operation)}`,
    );
  }
  const nameFilter = config.nameFilter === undefined || config.nameFilter === '' ? 'any' : config.nameFilter;
  if (!(NAME_FILTERS as readonly unknown[]).includes(nameFilter)) {
    throw new InputError(
      `The name filter must be one of ${NAME_FILTERS.join(', ')}, got ${showValue(nameFilter)}`,
    );
  }
  return Object.freeze({
    operation: operation as EventsOperation,
    nameFilter: nameFilter as NameFilter,
    namePattern: typedProperty(config, 'namePattern', { type: 'str', value: '' }, VALUE_TYPES),
    from: typedProperty(config, 'from', { type: 'str', value: '' }, TIME_TYPES),
    to: typedProperty(config, 'to', { type: 'str', value: '' }, TIME_TYPES),
    newest: typedProperty(config, 'newest', { type: 'num', value: '' }, NUMBER_TYPES),
    fileName: typedProperty(config, 'fileName', { type: 'msg', value: 'payload' }, VALUE_TYPES),
    eventName: typedProperty(config, 'eventName', { type: 'msg', value: 'payload' }, VALUE_TYPES),
    confirmDeleteAll: readBoolean(configOption(config, 'confirmDeleteAll'), false),
  });
}

/** The operation for one message: `msg.operation` when set, else the node's. */
export function operationFor<T extends string>(
  msgOperation: unknown,
  configured: T,
  allowed: readonly T[],
): { operation: T; fromMessage: boolean } {
  if (msgOperation === undefined || msgOperation === null || msgOperation === '') {
    return { operation: configured, fromMessage: false };
  }
  if (typeof msgOperation === 'string' && (allowed as readonly string[]).includes(msgOperation)) {
    return { operation: msgOperation as T, fromMessage: true };
  }
  throw new InputError(
    `msg.operation must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${showValue(msgOperation)}`,
    { params: { source: 'msg.operation' } },
  );
}

/** The checked filter of one `list`. */
export interface EventFilter {
  readonly nameFilter: NameFilter;
  readonly name?: string;
  /** Epoch ms, inclusive. */
  readonly fromMs?: number;
  /** Epoch ms, exclusive. */
  readonly toMs?: number;
  /** 0 = all. */
  readonly newest: number;
}

/** Builds the filter of one `list` from the evaluated values. */
export function buildEventFilter(values: {
  nameFilter: NameFilter;
  name: SourcedValue;
  from: SourcedValue;
  to: SourcedValue;
  newest: SourcedValue;
}): EventFilter {
  const fromMs = readInstant(values.from);
  const toMs = readInstant(values.to);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new InputError(
      `The time range is empty: ${values.from.source} (${new Date(fromMs).toISOString()}) must be before ${values.to.source} (${new Date(toMs).toISOString()})`,
    );
  }
  const newest = readInteger(values.newest, 0, 1_000_000, 0);
  const name = values.nameFilter === 'name' ? readText(values.name, 1, 64) : undefined;
  return { nameFilter: values.nameFilter, name, fromMs, toMs, newest };
}

/**
 * A recording with its UTC trigger time added: a time without an offset is read in the camera's time zone
 * (UTC when the zone is unknown).
 */
export function toRecording(event: CameraEvent, timeZone: string | undefined): CameraRecording {
  const zone = timeZone && isValidTimeZone(timeZone) ? timeZone : 'UTC';
  let triggeredAtUtc: string | null;
  try {
    triggeredAtUtc = toUtcIso(event.triggeredAt, zone);
  } catch {
    triggeredAtUtc = null;
  }
  return { ...event, triggeredAtUtc };
}

/** `*` matches any run of characters; everything else literally. */
function toPattern(name: string): RegExp {
  const escaped = name
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * Applies a filter: keeps what matches, sorts newest first (by trigger time; the camera's own order is not
 * relied on), then keeps the newest N. Recordings whose time is not a date sort last and fail any time bound.
 */
export function filterRecordings(
  recordings: readonly CameraRecording[],
  filter: EventFilter,
): CameraRecording[] {
  const pattern = filter.name !== undefined ? toPattern(filter.name) : undefined;
  const timeOf = (r: CameraRecording): number | undefined =>
    r.triggeredAtUtc === null ? undefined : Date.parse(r.triggeredAtUtc);
  const kept = recordings.filter((r) => {
    const named = typeof r.eventName === 'string' && r.eventName !== '';
    if (filter.nameFilter === 'named' && !named) return false;
    if (filter.nameFilter === 'unnamed' && named) return false;
    if (pattern && !(named && pattern.test(r.eventName as string))) return false;
    if (filter.fromMs !== undefined || filter.toMs !== undefined) {
      const t = timeOf(r);
      if (t === undefined) return false;
      if (filter.fromMs !== undefined && t < filter.fromMs) return false;
      if (filter.toMs !== undefined && t >= filter.toMs) return false;
    }
    return true;
  });
  const sorted = kept
    .map((r, index) => ({ r, index, t: timeOf(r) }))
    .sort((a, b) => {
      if (a.t === undefined || b.t === undefined) {
        if (a.t === b.t) return a.index - b.index;
        return a.t === undefined ? 1 : -1;
      }
      return b.t - a.t || a.index - b.index;
    })
    .map((x) => x.r);
  return filter.newest > 0 ? sorted.slice(0, filter.newest) : sorted;
}

/** A recording's file name, from a string or a recording object (`{ fileName }`), checked to be safe. */
export function readFileName(input: SourcedValue): string {
  const { value, source } = input;
  const raw =
    typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
      ? (value as { fileName?: unknown }).fileName
      : value;
  const where = raw === value ? source : `${source}.fileName`;
  return checkFileName({ value: raw, source: where });
}

/** A recording's file name, checked with the client's rule (a single, bounded, printable path part). */
export function checkFileName(input: SourcedValue): string {
  const { value, source } = input;
  if (typeof value !== 'string' || value === '') {
    throw new InputError(`${source} must be a recording's file name (text), got ${showValue(value)}`, {
      params: { source },
    });
  }
  const reason = unsafeFileNameReason(value);
  if (reason !== undefined) {
    throw new InputError(`${source} is not a recording's file name (${reason}), got ${showValue(value)}`, {
      params: { source },
    });
  }
  return value;
}

/** Characters an event name may not hold: it is part of the URL that stops the event. */
export const EVENT_NAME_FORBIDDEN = { chars: '/\\?#%', why: "'/', '\\', '?', '#' or '%'" };

/** An event's name, from a string or an object with `eventName`. */
export function readEventName(input: SourcedValue): string {
  const { value, source } = input;
  const raw =
    typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
      ? (value as { eventName?: unknown }).eventName
      : value;
  const where = raw === value ? source : `${source}.eventName`;
  return readText({ value: raw, source: where }, 1, 64, EVENT_NAME_FORBIDDEN);
}
