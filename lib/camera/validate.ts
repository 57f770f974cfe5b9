/**
 * The client's boundary: every camera answer enters as `unknown` and leaves through one of these functions as a
 * typed, sanitised value, or is refused. Rules:
 * - Recordings (`CameraEvent`): a hostile or malformed entry is refused (reported through `onRejected`, left
 *   out of the list), never "repaired" into something else, except for harmless normalisations: a missing dot
 *   in an extension is added, control characters are stripped from `eventName` and `dir`, a missing [A] field
 *   (`age`, `dir`) gets a neutral default.
 * - `fileName` is used by callers as a file name: it must be a single, bounded, printable path part.
 * - Other shapes: a wrong type is a `ShapeError` (turned into `BadResponseError` by the client); a missing
 *   field of an info object gets a neutral default, except identity (`serialNumber`).
 * - Settings: secret keys never leave (SECRET_SETTING_KEYS plus any key that names a password, a hash, a
 *   token or a secret).
 */
import type { RejectedEntry, ValidCameraEvent } from './camera-api';
import {
  SECRET_SETTING_KEYS,
  type CameraUrl,
  type DateTimeInfo,
  type ExposureSettings,
  type FirmwareInfo,
  type FocusSettings,
  type OverlaySettings,
  type PublicCameraSettings,
  type StorageInfo,
  type StreamDescriptor,
  type StreamMap,
  type SystemInfo,
} from './types';

/** A camera answer that does not have the contract's shape. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Removes C0/C1 control characters, line separators and bidirectional overrides. */
export function stripControl(text: string): string {
  return text.replace(CONTROL, '');
}

/** Longest accepted `fileName`, in characters. */
export const MAX_FILE_NAME_LENGTH = 200;
/** Extensions: a dot and 1 to 8 letters or digits. */
export const EXTENSION_PATTERN = /^\.[A-Za-z0-9]{1,8}$/;

/**
 * Why `name` is not a safe recording file name, or undefined when it is: a non-empty single path part of at
 * most MAX_FILE_NAME_LENGTH characters, without `/`, `\`, control characters or surrounding blanks, and not
 * `.` or `..`.
 */
export function unsafeFileNameReason(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'fileName is not a string';
  if (name.length === 0) return 'fileName is empty';
  if (name.length > MAX_FILE_NAME_LENGTH) return `fileName longer than ${MAX_FILE_NAME_LENGTH} characters`;
  if (HAS_CONTROL.test(name)) return 'fileName contains control characters';
  if (name.includes('/') || name.includes('\\')) return 'fileName contains a path separator';
  if (name === '.' || name === '..') return 'fileName is a relative path';
  if (name.trim() !== name) return 'fileName has leading or trailing blanks';
  return undefined;
}

export function isSafeFileName(name: unknown): name is string {
  return unsafeFileNameReason(name) === undefined;
}

/** `mp4` -> `.mp4`; undefined when the value is not an acceptable extension. */
export function normaliseExtension(ext: unknown): string | undefined {
  if (typeof ext !== 'string') return undefined;
  const withDot = ext.startsWith('.') ? ext : `.${ext}`;
  return EXTENSION_PATTERN.test(withDot) ? withDot : undefined;
}

/** Loose ISO-8601 date-time (offset optional, `T` or a blank between date and time). */
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export type EventCheck = { ok: true; event: ValidCameraEvent } | { ok: false; reason: string };

/** Validates and sanitises one recording entry. */
export function validateEvent(raw: unknown): EventCheck {
  if (!isRecord(raw)) return { ok: false, reason: 'entry is not an object' };
  const fileReason = unsafeFileNameReason(raw.fileName);
  if (fileReason) return { ok: false, reason: fileReason };
  const fileName = raw.fileName as string;

  let eventName: string | null;
  if (raw.eventName === null || raw.eventName === undefined) eventName = null;
  else if (typeof raw.eventName === 'string') eventName = stripControl(raw.eventName);
  else return { ok: false, reason: 'eventName is neither a string nor null' };

  if (typeof raw.triggeredAt !== 'string' || !ISO_DATE_TIME.test(raw.triggeredAt.trim()))
    return { ok: false, reason: 'triggeredAt is not an ISO-8601 date-time' };
  const triggeredAt = raw.triggeredAt.trim();

  const vidExt = normaliseExtension(raw.vidExt);
  if (vidExt === undefined) return { ok: false, reason: 'vidExt is not a plain extension' };
  const thmbExt = normaliseExtension(raw.thmbExt);
  if (thmbExt === undefined) return { ok: false, reason: 'thmbExt is not a plain extension' };

  const playbackTime = raw.playbackTime;
  if (typeof playbackTime !== 'number' || !Number.isFinite(playbackTime) || playbackTime < 0)
    return { ok: false, reason: 'playbackTime is not a non-negative number' };
  // [A] fields: tolerated when missing or odd
  const age = typeof raw.age === 'number' && Number.isFinite(raw.age) && raw.age >= 0 ? raw.age : 0;
  const dir = typeof raw.dir === 'string' ? stripControl(raw.dir) : '';

  return { ok: true, event: { fileName, eventName, triggeredAt, vidExt, thmbExt, playbackTime, age, dir } };
}

/** Validates a list answer: the array itself must be one; bad entries are reported and left out. */
export function validateEventList(
  raw: unknown,
  onRejected?: (entry: RejectedEntry) => void,
): ValidCameraEvent[] {
  if (!Array.isArray(raw)) throw new ShapeError('the event list is not a JSON array');
  const out: ValidCameraEvent[] = [];
  for (const entry of raw as unknown[]) {
    const check = validateEvent(entry);
    if (check.ok) out.push(check.event);
    else onRejected?.({ raw: entry, reason: check.reason });
  }
  return out;
}

// ---- field readers ---------------------------------------------------------------------------------------

type Kind = 'string' | 'number' | 'boolean';
type KindType<K extends Kind> = K extends 'string' ? string : K extends 'number' ? number : boolean;

function field<K extends Kind>(
  obj: Record<string, unknown>,
  key: string,
  kind: K,
  fallback?: KindType<K>,
): KindType<K> {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ShapeError(`${key} is missing`);
  }
  if (typeof v !== kind || (kind === 'number' && !Number.isFinite(v)))
    throw new ShapeError(`${key} is not a ${kind}`);
  return (kind === 'string' ? stripControl(v as string) : v) as KindType<K>;
}

function object(raw: unknown, what: string): Record<string, unknown> {
  if (!isRecord(raw)) throw new ShapeError(`${what} is not a JSON object`);
  return raw;
}

export function validateSystemInfo(raw: unknown): SystemInfo {
  const o = object(raw, 'system info');
  const serialNumber = field(o, 'serialNumber', 'string');
  if (serialNumber.trim() === '') throw new ShapeError('serialNumber is empty');
  const s = (k: string): string => field(o, k, 'string', '');
  const n = (k: string): number => field(o, k, 'number', 0);
  return {
    brand: s('brand'),
    name: s('name'),
    serialNumber,
    customSerialNumber: s('customSerialNumber'),
    hardwareVersion: s('hardwareVersion'),
    softwareVersion: s('softwareVersion'),
    firmwareLink: s('firmwareLink'),
    settingsLink: s('settingsLink'),
    hasVcm: field(o, 'hasVcm', 'boolean', false),
    heaterTemperature: n('heaterTemperature'),
    ipAddress: s('ipAddress'),
    macAddress: s('macAddress'),
    systemTime: s('systemTime'),
    timezone: s('timezone'),
    uptime: n('uptime'),
    service_uptime: n('service_uptime'),
  };
}

export function validateStorage(raw: unknown): StorageInfo {
  const o = object(raw, 'storage info');
  return {
    totalBytes: field(o, 'totalBytes', 'number'),
    usedBytes: field(o, 'usedBytes', 'number'),
    freeBytes: field(o, 'freeBytes', 'number'),
    recordings: field(o, 'recordings', 'number'),
  };
}

export function validateFirmware(raw: unknown): FirmwareInfo {
  const o = object(raw, 'firmware info');
  return { version: field(o, 'version', 'string'), buildDate: field(o, 'buildDate', 'string', '') };
}

export function validateDateTime(raw: unknown): DateTimeInfo {
  const o = object(raw, 'date-time info');
  return {
    systemTime: field(o, 'systemTime', 'string'),
    timezone: field(o, 'timezone', 'string', ''),
    ntpServer: field(o, 'ntpServer', 'string', ''),
    ntpSynced: field(o, 'ntpSynced', 'boolean', false),
  };
}

export function validateTimezones(raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new ShapeError('the time zone list is not a JSON array');
  return (raw as unknown[]).map((z, i) => {
    if (typeof z !== 'string') throw new ShapeError(`time zone ${i} is not a string`);
    return stripControl(z);
  });
}

export function validateExposure(raw: unknown): ExposureSettings {
  const o = object(raw, 'exposure');
  return {
    iso: field(o, 'iso', 'number'),
    shutter: field(o, 'shutter', 'number'),
    manual: field(o, 'manual', 'boolean'),
  };
}

export function validateFocus(raw: unknown): FocusSettings {
  return { setpoint: field(object(raw, 'focus'), 'setpoint', 'number') };
}

export function validateOverlay(raw: unknown): OverlaySettings {
  const o = object(raw, 'overlay');
  return {
    datetime: field(o, 'datetime', 'boolean'),
    name: field(o, 'name', 'boolean'),
    background: field(o, 'background', 'boolean'),
    user: field(o, 'user', 'boolean'),
  };
}

function cameraUrl(raw: unknown): CameraUrl | undefined {
  if (!isRecord(raw) || typeof raw.absolute !== 'string') return undefined;
  const url: CameraUrl = { absolute: stripControl(raw.absolute) };
  if (typeof raw.relative === 'string') url.relative = stripControl(raw.relative);
  return url;
}

/** `GET /api/streams`: the map itself must be an object; a malformed entry is left out. */
export function validateStreams(raw: unknown): StreamMap {
  const o = object(raw, 'stream list');
  const out: StreamMap = {};
  for (const [key, entry] of Object.entries(o)) {
    if (!isRecord(entry) || HAS_CONTROL.test(key) || key === '__proto__') continue;
    const url = cameraUrl(entry.url);
    if (!url) continue;
    const res = isRecord(entry.resolution) ? entry.resolution : {};
    const d: StreamDescriptor = {
      name: typeof entry.name === 'string' ? stripControl(entry.name) : key,
      codec: typeof entry.codec === 'string' ? stripControl(entry.codec) : '',
      fps: typeof entry.fps === 'number' && Number.isFinite(entry.fps) ? entry.fps : 0,
      resolution: {
        width: typeof res.width === 'number' ? res.width : 0,
        height: typeof res.height === 'number' ? res.height : 0,
      },
      url,
    };
    const snap = isRecord(entry.snapshot) ? cameraUrl(entry.snapshot.url) : undefined;
    if (snap) d.snapshot = { url: snap };
    out[key] = d;
  }
  return out;
}

const SECRET_KEYS: ReadonlySet<string> = new Set(SECRET_SETTING_KEYS);
const SECRET_LIKE = /password|passwd|(^|_)pass(_|$)|secret|token|hash|private_?key|(^|_)psk(_|$)/i;

/** Whether a settings key holds a secret (the known secret keys, or a key that names one). */
export function isSecretSettingKey(key: string): boolean {
  return SECRET_KEYS.has(key) || SECRET_LIKE.test(key);
}

/** A settings object with every secret key removed. Values are kept as the camera gave them. */
export function publicSettings(raw: unknown): PublicCameraSettings {
  const o = object(raw, 'settings');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(o)) {
    if (isSecretSettingKey(key) || key === '__proto__') continue;
    out[key] = value;
  }
  return out as unknown as PublicCameraSettings;
}

/** Longest camera error text kept in an error, in characters. */
export const MAX_CAMERA_MESSAGE = 300;

/**
 * The camera's error text from an error answer: the `error` (or `message`) of a JSON object, else the plain
 * text; control characters stripped, bounded.
 */
export function cameraErrorText(body: string): string {
  let text = body.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) {
      const msg = parsed.error ?? parsed.message;
      text = typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg);
    } else if (typeof parsed === 'string') text = parsed;
  } catch {
    // not JSON: keep the text (an HTML error page gives its text, bounded)
  }
  text = stripControl(text).trim();
  return text.length > MAX_CAMERA_MESSAGE ? `${text.slice(0, MAX_CAMERA_MESSAGE)}…` : text;
}

/**
 * The `{"error"}` of a media answer that is JSON instead of bytes; undefined when the body is not such an
 * object.
 */
export function jsonErrorOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && parsed.error !== undefined) return cameraErrorText(body) || 'error';
  } catch {
    // not JSON
  }
  return undefined;
}
