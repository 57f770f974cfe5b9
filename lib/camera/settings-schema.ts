/**
 * The one validation table for camera settings (camera-api.md, "Settings"), and for the live sub-resources
 * (exposure, focus, overlay). Every write is checked here before anything is sent: each bad field is reported,
 * all at once, and a write with any bad field sends nothing.
 *
 * Ranges are this project's validation (what real camera UIs allowed). Where camera-api.md gives a type but no
 * range, the rule below says what we chose and why.
 */
import { isIPv4 } from 'node:net';
import type {
  CameraSettings,
  ExposureSettings,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
  SecretSettingKey,
} from './types';
import { SECRET_SETTING_KEYS } from './types';

/** A primitive that a settings value may be. */
export type SettingValue = string | number | boolean;

/** How one field is checked. */
export type FieldRule =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'oneOf'; readonly values: readonly number[] }
  | {
      readonly kind: 'string';
      readonly minLength: number;
      readonly maxLength: number;
      /** An extra format check; `OrEmpty` formats also accept "". */
      readonly format?: StringFormat;
    };

export type StringFormat = 'ipv4' | 'ipv4OrEmpty' | 'hostOrEmpty' | 'timeZoneOrEmpty' | 'secret';

/** One rejected field: the key (or "" for the whole input) and what to change. */
export interface SettingsFieldError {
  readonly key: string;
  readonly message: string;
}

export type ValidationResult<T> =
  | { readonly ok: true; readonly changes: T }
  | { readonly ok: false; readonly errors: readonly SettingsFieldError[] };

export interface ValidateSettingsOptions {
  /**
   * Accept keys this table does not know (a newer camera may have more). They must still look like a settings
   * key (snake_case) and hold a string, number or boolean. Default false: an unknown key is taken for a typo.
   */
  readonly allowUnknown?: boolean;
  /**
   * Accept the secret keys (password hashes, FTP password). Only the dedicated secret input sets this; every
   * other path refuses them.
   */
  readonly allowSecrets?: boolean;
}

const bool = { kind: 'boolean' } as const;
const int = (min: number, max: number): FieldRule => ({ kind: 'integer', min, max });
const text = (minLength: number, maxLength: number, format?: StringFormat): FieldRule =>
  format === undefined
    ? { kind: 'string', minLength, maxLength }
    : { kind: 'string', minLength, maxLength, format };

const WIDTH = int(320, 3840);
const PORT = int(1, 65535);
const PERCENT = int(0, 100);
const QUALITY = int(1, 100);
/** Free-text fields without a documented range: printable, at most 255 characters. */
const FREE_TEXT = text(0, 255);
/** A password hash or password: non-empty, printable, bounded (the camera's format is not documented). */
const SECRET = text(1, 512, 'secret');

/**
 * Every settings field of camera-api.md, with its rule. Fields the contract lists without a range:
 * - `access_user_name_*`: 1-64 printable characters (an empty account name would lock the account out);
 * - `network_ftp_user`, `network_ftp_path`, `rtsp_path`: free text (`rtsp_path` "" seen);
 * - `network_ftp_host`: a host name or IPv4, or "" (FTP push off);
 * - `recording_seconds_extended`, `recording_size_extended`: non-negative integers, as `types.ts` declares them;
 * - `rtsp_type`: a non-negative integer (its values are not documented);
 * - `exposure_shutter`: "int > 0" with no upper bound given: capped at 10 000 000 so that a unit mix-up
 *   (e.g. nanoseconds) is caught.
 */
export const SETTINGS_SCHEMA: { readonly [K in keyof CameraSettings]-?: FieldRule } = {
  // identity
  name: text(1, 64),
  time_zone: text(0, 64, 'timeZoneOrEmpty'),
  // access
  access_user_name_admin: text(1, 64),
  access_user_name_viewer: text(1, 64),
  access_password_hash_admin: SECRET,
  access_password_hash_viewer: SECRET,
  // network
  network_ip: text(7, 15, 'ipv4'),
  network_mask: int(0, 32),
  network_gateway: text(0, 15, 'ipv4OrEmpty'),
  network_dns: text(0, 15, 'ipv4OrEmpty'),
  network_dhcp: bool,
  network_ntp: text(0, 253, 'hostOrEmpty'),
  network_ntp_ignore_server_sync: bool,
  // FTP push
  network_ftp_host: text(0, 253, 'hostOrEmpty'),
  network_ftp_port: PORT,
  network_ftp_user: FREE_TEXT,
  network_ftp_password: SECRET,
  network_ftp_path: FREE_TEXT,
  network_ftp_recordings: bool,
  network_ftp_snapshots: bool,
  // recording
  recording_seconds_pre_event: int(0, 60),
  recording_seconds_post_event: int(0, 60),
  recording_seconds_pre_event_extended: int(0, 600),
  recording_seconds_post_event_extended: int(0, 600),
  recording_seconds_extended: int(0, Number.MAX_SAFE_INTEGER),
  recording_size_extended: int(0, Number.MAX_SAFE_INTEGER),
  recording_ensure_free_storage: bool,
  recording_resolution_width: WIDTH,
  recording_quality_level: QUALITY,
  recording_quota_named: PERCENT,
  recording_quota_unnamed: PERCENT,
  // exposure
  exposure_iso: int(50, 6400),
  exposure_shutter: int(1, 10_000_000),
  exposure_manual: bool,
  // focus
  focus_setpoint: int(0, 1000),
  // overlay
  overlay_datetime: bool,
  overlay_name: bool,
  overlay_background: bool,
  overlay_user: bool,
  // live view
  live_resolution_width: WIDTH,
  live_quality_level: QUALITY,
  // RTSP
  rtsp: bool,
  rtsp_port: PORT,
  rtsp_path: FREE_TEXT,
  rtsp_fps: int(1, 30),
  rtsp_quality_level: QUALITY,
  rtsp_resolution_width: WIDTH,
  rtsp_resolution_width_2: WIDTH,
  rtsp_auth: bool,
  rtsp_type: int(0, Number.MAX_SAFE_INTEGER),
  // misc
  picture_rotation: { kind: 'oneOf', values: [0, 90, 180, 270] },
  heater_level: int(0, 3),
};

/** `PUT /api/system/exposure`. */
export const EXPOSURE_SCHEMA: { readonly [K in keyof ExposureSettings]-?: FieldRule } = {
  iso: SETTINGS_SCHEMA.exposure_iso,
  shutter: SETTINGS_SCHEMA.exposure_shutter,
  manual: bool,
};

/** `PUT /api/system/focus`. */
export const FOCUS_SCHEMA: { readonly [K in keyof FocusSettings]-?: FieldRule } = {
  setpoint: SETTINGS_SCHEMA.focus_setpoint,
};

/** `PUT /api/system/overlay`. */
export const OVERLAY_SCHEMA: { readonly [K in keyof OverlaySettings]-?: FieldRule } = {
  datetime: bool,
  name: bool,
  background: bool,
  user: bool,
};

const SECRET_KEYS: ReadonlySet<string> = new Set<string>(SECRET_SETTING_KEYS);
/**
 * Keys a newer camera might add that hold secrets too: never shown, never written without the secret input.
 * A superset of the camera client's own pattern (validate.ts), so that both strip the same keys at least.
 */
const SECRET_LOOKING =
  /password|passwd|(^|_)pass(_|$)|secret|token|hash|private_?key|(^|_)psk(_|$)|api_?key/i;
/** What an unknown (but allowed) key must look like: snake_case, as every camera key is. */
const KEY_SHAPE = /^[a-z][a-z0-9_]{0,63}$/;

/** True for the documented secret keys, and for any key that looks like one. */
export function isSecretSettingKey(key: string): boolean {
  return SECRET_KEYS.has(key) || SECRET_LOOKING.test(key);
}

/** True for the documented secret keys only (the ones the secret input may write). */
export function isDocumentedSecretKey(key: string): key is SecretSettingKey {
  return SECRET_KEYS.has(key);
}

/** The keys of the settings table. */
export function isKnownSettingKey(key: string): key is keyof CameraSettings {
  return Object.prototype.hasOwnProperty.call(SETTINGS_SCHEMA, key);
}

/**
 * A copy of `settings` without any secret (documented or secret-looking) and without values that are not
 * primitives. Applied to everything that leaves the package, even though the client strips secrets already.
 */
export function stripSecrets(settings: unknown): PublicCameraSettings {
  const out: Record<string, SettingValue | null> = {};
  if (!isPlainObject(settings)) return out as unknown as PublicCameraSettings;
  for (const key of Object.keys(settings)) {
    if (!KEY_SHAPE.test(key) || isSecretSettingKey(key)) continue;
    const value = settings[key];
    if (isPrimitive(value) || value === null) out[key] = value;
  }
  return out as unknown as PublicCameraSettings;
}

/**
 * Checks a partial settings object. Reports every bad field at once: wrong type, out of range, unknown key
 * (unless `allowUnknown`), secret key (unless `allowSecrets`). Secret values are never quoted in a message.
 */
export function validateSettingsChanges(
  changes: unknown,
  options: ValidateSettingsOptions = {},
): ValidationResult<Partial<CameraSettings>> {
  return validateAgainst(SETTINGS_SCHEMA, changes, options, 'settings');
}

/** Checks a partial exposure object (`iso`, `shutter`, `manual`). */
export function validateExposureChanges(changes: unknown): ValidationResult<Partial<ExposureSettings>> {
  return validateAgainst(EXPOSURE_SCHEMA, changes, {}, 'exposure');
}

/** Checks a partial focus object (`setpoint`). */
export function validateFocusChanges(changes: unknown): ValidationResult<Partial<FocusSettings>> {
  return validateAgainst(FOCUS_SCHEMA, changes, {}, 'focus');
}

/** Checks a partial overlay object (`datetime`, `name`, `background`, `user`). */
export function validateOverlayChanges(changes: unknown): ValidationResult<Partial<OverlaySettings>> {
  return validateAgainst(OVERLAY_SCHEMA, changes, {}, 'overlay');
}

/**
 * The keys of `wanted` whose value differs from `current` (strict equality of primitives). Secret keys are
 * always kept: the current value of a secret cannot be read, so it cannot be compared.
 */
export function diffSettings<T extends object>(current: object, wanted: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  const now = current as Record<string, unknown>;
  for (const key of Object.keys(wanted) as (keyof T & string)[]) {
    const value = wanted[key];
    if (value === undefined) continue;
    if (isSecretSettingKey(key) || !Object.prototype.hasOwnProperty.call(now, key) || now[key] !== value) {
      out[key] = value;
    }
  }
  return out;
}

/** One field that read back with another value than the one written. */
export interface SettingsMismatch {
  readonly key: string;
  readonly expected: SettingValue;
  /** What the camera reports now (undefined: the key is missing from the read-back). */
  readonly actual: SettingValue | null | undefined;
}

/** Compares written values with a read-back; secret keys cannot be read back and are skipped. */
export function findMismatches(written: object, readBack: object): SettingsMismatch[] {
  const wrote = written as Record<string, unknown>;
  const read = readBack as Record<string, unknown>;
  const out: SettingsMismatch[] = [];
  for (const key of Object.keys(wrote)) {
    if (isSecretSettingKey(key)) continue;
    const expected = wrote[key];
    if (!isPrimitive(expected)) continue;
    const actual = read[key];
    if (actual !== expected) {
      out.push({ key, expected, actual: isPrimitive(actual) || actual === null ? actual : undefined });
    }
  }
  return out;
}

/** One line per bad field, for an error message: `network_mask: must be an integer from 0 to 32 (got 40)`. */
export function describeFieldErrors(errors: readonly SettingsFieldError[]): string {
  return errors.map((e) => (e.key === '' ? e.message : `${e.key}: ${e.message}`)).join('; ');
}

// ---------------------------------------------------------------------------------------------------------------

type Schema = { readonly [key: string]: FieldRule };

function validateAgainst<T>(
  schema: Schema,
  input: unknown,
  options: ValidateSettingsOptions,
  what: string,
): ValidationResult<T> {
  if (!isPlainObject(input)) {
    return {
      ok: false,
      errors: [
        {
          key: '',
          message: `the ${what} changes must be an object of keys and values, got ${typeName(input)}`,
        },
      ],
    };
  }
  const keys = Object.keys(input);
  if (keys.length === 0) {
    return {
      ok: false,
      errors: [{ key: '', message: `the ${what} changes are empty: give at least one key` }],
    };
  }
  const errors: SettingsFieldError[] = [];
  const out: Record<string, SettingValue> = {};
  for (const key of keys) {
    const value = input[key];
    const known = Object.prototype.hasOwnProperty.call(schema, key);
    if (isSecretSettingKey(key) && schema === SETTINGS_SCHEMA && !options.allowSecrets) {
      errors.push({ key, message: 'is a secret: write it only through the dedicated secret operation' });
      continue;
    }
    if (!known) {
      if (!options.allowUnknown || !KEY_SHAPE.test(key)) {
        const hint = closestKey(key, Object.keys(schema));
        errors.push({
          key,
          message: `is not a known ${what} key${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
        });
      } else if (!isPrimitive(value)) {
        errors.push({ key, message: `must be a string, number or boolean, got ${typeName(value)}` });
      } else {
        out[key] = value;
      }
      continue;
    }
    const rule = schema[key];
    if (rule === undefined) continue;
    const problem = checkField(rule, value, isSecretSettingKey(key));
    if (problem === undefined) out[key] = value as SettingValue;
    else errors.push({ key, message: problem });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, changes: out as T };
}

/** What is wrong with `value` under `rule`, or undefined when it is fine. */
export function checkField(rule: FieldRule, value: unknown, secret = false): string | undefined {
  const got = secret ? '' : ` (got ${show(value)})`;
  switch (rule.kind) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false${got}`;
    case 'integer': {
      const range =
        rule.max >= Number.MAX_SAFE_INTEGER ? `${rule.min} or more` : `from ${rule.min} to ${rule.max}`;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        return `must be an integer ${range}${got}`;
      }
      return undefined;
    }
    case 'oneOf':
      return typeof value === 'number' && rule.values.includes(value)
        ? undefined
        : `must be one of ${rule.values.join(', ')}${got}`;
    case 'string': {
      if (typeof value !== 'string') return `must be a string${secret ? '' : got}`;
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(value)) return `must not contain control characters${got}`;
      const empty = value === '';
      if (empty && rule.format !== undefined && rule.format.endsWith('OrEmpty')) return undefined;
      if (value.length < rule.minLength || value.length > rule.maxLength) {
        return rule.minLength === rule.maxLength || rule.minLength === 0
          ? `must be at most ${rule.maxLength} characters${got}`
          : `must be ${rule.minLength} to ${rule.maxLength} characters${got}`;
      }
      switch (rule.format) {
        case 'ipv4':
          return isIPv4(value) ? undefined : `must be an IPv4 address such as 192.168.1.10${got}`;
        case 'ipv4OrEmpty':
          return isIPv4(value) ? undefined : `must be an IPv4 address such as 192.168.1.1, or ""${got}`;
        case 'hostOrEmpty':
          return isHostName(value) ? undefined : `must be a host name or IPv4 address, or ""${got}`;
        case 'timeZoneOrEmpty':
          return isIanaTimeZone(value)
            ? undefined
            : `must be an IANA time zone name such as Europe/Zurich, or ""${got}`;
        default:
          return undefined;
      }
    }
  }
}

/** An RFC 1123 host name (labels of letters, digits and hyphens) or an IPv4 address. */
export function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split('.');
  if (labels.every((l) => /^\d+$/.test(l))) return isIPv4(value);
  return labels.every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

let zones: ReadonlySet<string> | undefined;

/**
 * An IANA time zone name this runtime knows (`Europe/Zurich`, `UTC`, `Etc/GMT+5`, also aliases such as
 * `Europe/Kiev`). Spelling must be exact (`europe/zurich` is refused: the camera may not fold case).
 */
export function isIanaTimeZone(value: string): boolean {
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(value)) return true;
  if (!/^[A-Z][A-Za-z0-9_+-]*(?:\/[A-Z][A-Za-z0-9_+-]*)*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isPrimitive(value: unknown): value is SettingValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return typeName(value);
}

/** The schema key closest to a misspelt one (edit distance at most 3), for the "did you mean" hint. */
function closestKey(key: string, candidates: readonly string[]): string | undefined {
  if (key.length > 80) return undefined;
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    if (isSecretSettingKey(candidate)) continue;
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((row[j - 1] ?? 0) + 1, (previous[j] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
