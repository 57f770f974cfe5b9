/**
 * The camera's settings: factory defaults and the validation a camera applies to `PUT /api/system/settings`
 * and to the live sub-resources (ranges from camera-api.md).
 */
import type { CameraSettings, ExposureSettings, FocusSettings, OverlaySettings } from '../lib/camera/types';
import { isTimeZone } from './clock';

type Rule =
  | { kind: 'string'; min?: number; max?: number }
  | { kind: 'bool' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'oneOf'; values: readonly number[] }
  | { kind: 'ipv4'; optional: boolean }
  | { kind: 'host' }
  | { kind: 'zone' };

const str: Rule = { kind: 'string', max: 256 };
const bool: Rule = { kind: 'bool' };
const int = (min: number, max: number): Rule => ({ kind: 'int', min, max });
const width = int(320, 3840);
const quality = int(1, 100);
const port = int(1, 65535);

/** One rule per settings key: the keys a camera accepts. */
const RULES: Record<keyof CameraSettings, Rule> = {
  name: { kind: 'string', min: 1, max: 64 },
  time_zone: { kind: 'zone' },
  access_user_name_admin: { kind: 'string', min: 1, max: 64 },
  access_user_name_viewer: { kind: 'string', min: 1, max: 64 },
  access_password_hash_admin: str,
  access_password_hash_viewer: str,
  network_ip: { kind: 'ipv4', optional: false },
  network_mask: int(0, 32),
  network_gateway: { kind: 'ipv4', optional: true },
  network_dns: { kind: 'ipv4', optional: true },
  network_dhcp: bool,
  network_ntp: { kind: 'host' },
  network_ntp_ignore_server_sync: bool,
  network_ftp_host: { kind: 'host' },
  network_ftp_port: port,
  network_ftp_user: str,
  network_ftp_password: str,
  network_ftp_path: str,
  network_ftp_recordings: bool,
  network_ftp_snapshots: bool,
  recording_seconds_pre_event: int(0, 60),
  recording_seconds_post_event: int(0, 60),
  recording_seconds_pre_event_extended: int(0, 600),
  recording_seconds_post_event_extended: int(0, 600),
  recording_seconds_extended: int(0, 3600),
  recording_size_extended: int(0, 2 ** 31 - 1),
  recording_ensure_free_storage: bool,
  recording_resolution_width: width,
  recording_quality_level: quality,
  recording_quota_named: int(0, 100),
  recording_quota_unnamed: int(0, 100),
  exposure_iso: int(50, 6400),
  exposure_shutter: int(1, 2 ** 31 - 1),
  exposure_manual: bool,
  focus_setpoint: int(0, 1000),
  overlay_datetime: bool,
  overlay_name: bool,
  overlay_background: bool,
  overlay_user: bool,
  live_resolution_width: width,
  live_quality_level: quality,
  rtsp: bool,
  rtsp_port: port,
  rtsp_path: str,
  rtsp_fps: int(1, 30),
  rtsp_quality_level: quality,
  rtsp_resolution_width: width,
  rtsp_resolution_width_2: width,
  rtsp_auth: bool,
  rtsp_type: int(0, 16),
  picture_rotation: { kind: 'oneOf', values: [0, 90, 180, 270] },
  heater_level: int(0, 3),
};

export const SETTING_KEYS = Object.keys(RULES) as (keyof CameraSettings)[];

/** What a factory-fresh camera is set to; `ip` is the address the camera reports. */
export function defaultSettings(identity: {
  name: string;
  timezone: string;
  ip: string;
  passwordHashes: [string, string];
}): CameraSettings {
  const gateway = identity.ip.replace(/\.\d+$/, '.1');
  return {
    name: identity.name,
    time_zone: identity.timezone,
    access_user_name_admin: 'admin',
    access_user_name_viewer: 'viewer',
    access_password_hash_admin: identity.passwordHashes[0],
    access_password_hash_viewer: identity.passwordHashes[1],
    network_ip: identity.ip,
    network_mask: 24,
    network_gateway: gateway,
    network_dns: gateway,
    network_dhcp: false,
    network_ntp: 'pool.ntp.org',
    network_ntp_ignore_server_sync: false,
    network_ftp_host: '',
    network_ftp_port: 21,
    network_ftp_user: '',
    network_ftp_password: '',
    network_ftp_path: '/',
    network_ftp_recordings: false,
    network_ftp_snapshots: false,
    recording_seconds_pre_event: 5,
    recording_seconds_post_event: 10,
    recording_seconds_pre_event_extended: 30,
    recording_seconds_post_event_extended: 120,
    recording_seconds_extended: 300,
    recording_size_extended: 0,
    recording_ensure_free_storage: true,
    recording_resolution_width: 1920,
    recording_quality_level: 80,
    recording_quota_named: 50,
    recording_quota_unnamed: 50,
    exposure_iso: 400,
    exposure_shutter: 10000,
    exposure_manual: false,
    focus_setpoint: 500,
    overlay_datetime: true,
    overlay_name: true,
    overlay_background: true,
    overlay_user: false,
    live_resolution_width: 1280,
    live_quality_level: 70,
    rtsp: true,
    rtsp_port: 8554,
    rtsp_path: '',
    rtsp_fps: 25,
    rtsp_quality_level: 80,
    rtsp_resolution_width: 1920,
    rtsp_resolution_width_2: 640,
    rtsp_auth: false,
    rtsp_type: 0,
    picture_rotation: 0,
    heater_level: 1,
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Why `value` is not valid for `rule`, or undefined when it is. */
function problem(rule: Rule, value: unknown): string | undefined {
  switch (rule.kind) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      if (rule.min !== undefined && value.length < rule.min)
        return `must have at least ${rule.min} characters`;
      if (rule.max !== undefined && value.length > rule.max)
        return `must have at most ${rule.max} characters`;
      return undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be a boolean';
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be an integer';
      return value < rule.min || value > rule.max ? `must be between ${rule.min} and ${rule.max}` : undefined;
    case 'oneOf':
      return typeof value === 'number' && rule.values.includes(value)
        ? undefined
        : `must be one of ${rule.values.join(', ')}`;
    case 'ipv4':
      if (typeof value !== 'string') return 'must be a string';
      if (rule.optional && value === '') return undefined;
      return IPV4.test(value) ? undefined : 'must be an IPv4 address';
    case 'host':
      if (typeof value !== 'string') return 'must be a string';
      return value === '' || IPV4.test(value) || HOST.test(value) ? undefined : 'must be a host name or ""';
    case 'zone':
      if (typeof value !== 'string') return 'must be a string';
      return value === '' || isTimeZone(value) ? undefined : 'must be an IANA time zone or ""';
  }
}

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Validates a partial settings body: every key known and valid, or the first problem. */
export function validateSettingsPatch(body: unknown): Validation<Partial<CameraSettings>> {
  if (!isObject(body)) return { ok: false, error: 'settings must be a JSON object' };
  for (const [key, value] of Object.entries(body)) {
    const rule = (RULES as Record<string, Rule | undefined>)[key];
    if (!rule) return { ok: false, error: `unknown setting: ${key}` };
    const why = problem(rule, value);
    if (why) return { ok: false, error: `${key} ${why}` };
  }
  return { ok: true, value: body };
}

/** A live sub-resource: its JSON fields mapped onto flat settings keys. */
export interface LiveResource<T> {
  read(settings: CameraSettings): T;
  /** Validates a partial body and returns the flat settings it changes. */
  patch(body: unknown): Validation<Partial<CameraSettings>>;
}

function liveResource<T>(fields: Record<keyof T & string, keyof CameraSettings>): LiveResource<T> {
  const entries = Object.entries(fields) as [keyof T & string, keyof CameraSettings][];
  return {
    read(settings) {
      const out: Record<string, unknown> = {};
      for (const [field, key] of entries) out[field] = settings[key];
      return out as T;
    },
    patch(body) {
      if (!isObject(body)) return { ok: false, error: 'body must be a JSON object' };
      const flat: Record<string, unknown> = {};
      for (const [field, value] of Object.entries(body)) {
        const key = (fields as Record<string, keyof CameraSettings | undefined>)[field];
        if (!key) return { ok: false, error: `unknown field: ${field}` };
        const why = problem(RULES[key], value);
        if (why) return { ok: false, error: `${field} ${why}` };
        flat[key] = value;
      }
      return { ok: true, value: flat };
    },
  };
}

export const EXPOSURE = liveResource<ExposureSettings>({
  iso: 'exposure_iso',
  shutter: 'exposure_shutter',
  manual: 'exposure_manual',
});
export const FOCUS = liveResource<FocusSettings>({ setpoint: 'focus_setpoint' });
export const OVERLAY = liveResource<OverlaySettings>({
  datetime: 'overlay_datetime',
  name: 'overlay_name',
  background: 'overlay_background',
  user: 'overlay_user',
});
