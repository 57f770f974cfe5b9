/**
 * Shapes of the PFCAM camera HTTP API (see camera-api.md). These are declarations only: the simulator may
 * import them (`import type`) without depending on the client's logic, so that client and simulator remain
 * two independent implementations of one contract.
 */

/** One recording on a camera, as `GET /api/events` lists it. Identity: (camera serial number, `fileName`). */
export interface CameraEvent {
  /** Id of the recording, no extension. Unique per camera only. */
  fileName: string;
  /** Name given when triggered over the API; null for hardware / input triggers. */
  eventName: string | null;
  /** ISO-8601; without an offset it is camera-local time in the camera's time zone. */
  triggeredAt: string;
  /** Video extension with the dot, e.g. `.mp4`. */
  vidExt: string;
  /** Thumbnail extension with the dot, e.g. `.jpg`. */
  thmbExt: string;
  /** Clip length, seconds. */
  playbackTime: number;
  /** Seconds since the trigger. */
  age: number;
  /** Storage folder on the camera (`named`, `unnamed`). */
  dir: string;
}

/** Body of `POST /api/events`. */
export interface TriggerRequest {
  eventName: string;
  overlayText: string;
  preEventSeconds: number;
  postEventSeconds: number;
  postEventUnlimited: boolean;
  stopOtherEvents: 'none' | 'all';
}

/** `GET /api/system`. */
export interface SystemInfo {
  brand: string;
  name: string;
  serialNumber: string;
  customSerialNumber: string;
  hardwareVersion: string;
  softwareVersion: string;
  firmwareLink: string;
  settingsLink: string;
  hasVcm: boolean;
  heaterTemperature: number;
  ipAddress: string;
  macAddress: string;
  systemTime: string;
  timezone: string;
  uptime: number;
  service_uptime: number;
}

/** `GET /api/system/storage`. */
export interface StorageInfo {
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
  recordings: number;
}

/** `GET /api/system/firmware`. */
export interface FirmwareInfo {
  version: string;
  buildDate: string;
}

/** `GET /api/system/datetime`. */
export interface DateTimeInfo {
  systemTime: string;
  timezone: string;
  ntpServer: string;
  ntpSynced: boolean;
}

/** `GET/PUT /api/system/exposure` (live, no restart). */
export interface ExposureSettings {
  iso: number;
  shutter: number;
  manual: boolean;
}

/** `GET/PUT /api/system/focus` (live). */
export interface FocusSettings {
  setpoint: number;
}

/** `GET/PUT /api/system/overlay` (live). */
export interface OverlaySettings {
  datetime: boolean;
  name: boolean;
  background: boolean;
  user: boolean;
}

/** The settings keys whose values are secrets: never in a message, a log, a view or an export. */
export const SECRET_SETTING_KEYS = [
  'access_password_hash_admin',
  'access_password_hash_viewer',
  'network_ftp_password',
] as const;
export type SecretSettingKey = (typeof SECRET_SETTING_KEYS)[number];

/** `GET /api/system/settings`: a flat snake_case object (more keys may exist on a real camera). */
export interface CameraSettings {
  name: string;
  time_zone: string;
  access_user_name_admin: string;
  access_user_name_viewer: string;
  access_password_hash_admin: string;
  access_password_hash_viewer: string;
  network_ip: string;
  network_mask: number;
  network_gateway: string;
  network_dns: string;
  network_dhcp: boolean;
  network_ntp: string;
  network_ntp_ignore_server_sync: boolean;
  network_ftp_host: string;
  network_ftp_port: number;
  network_ftp_user: string;
  network_ftp_password: string;
  network_ftp_path: string;
  network_ftp_recordings: boolean;
  network_ftp_snapshots: boolean;
  recording_seconds_pre_event: number;
  recording_seconds_post_event: number;
  recording_seconds_pre_event_extended: number;
  recording_seconds_post_event_extended: number;
  recording_seconds_extended: number;
  recording_size_extended: number;
  recording_ensure_free_storage: boolean;
  recording_resolution_width: number;
  recording_quality_level: number;
  recording_quota_named: number;
  recording_quota_unnamed: number;
  exposure_iso: number;
  exposure_shutter: number;
  exposure_manual: boolean;
  focus_setpoint: number;
  overlay_datetime: boolean;
  overlay_name: boolean;
  overlay_background: boolean;
  overlay_user: boolean;
  live_resolution_width: number;
  live_quality_level: number;
  rtsp: boolean;
  rtsp_port: number;
  rtsp_path: string;
  rtsp_fps: number;
  rtsp_quality_level: number;
  rtsp_resolution_width: number;
  rtsp_resolution_width_2: number;
  rtsp_auth: boolean;
  rtsp_type: number;
  picture_rotation: number;
  heater_level: number;
}

/** Settings as they leave the client: secrets removed. */
export type PublicCameraSettings = Omit<CameraSettings, SecretSettingKey>;

/** A URL as the camera gives it: absolute, and optionally relative to the camera's root (not to `/api`). */
export interface CameraUrl {
  absolute: string;
  relative?: string;
}

/** One entry of `GET /api/streams` (an object keyed by stream name: `hd`, `rtsp`, ...). */
export interface StreamDescriptor {
  name: string;
  codec: string;
  fps: number;
  resolution: { width: number; height: number };
  url: CameraUrl;
  snapshot?: { url: CameraUrl };
}

export type StreamMap = Record<string, StreamDescriptor>;

/** One `event: recording` of `GET /api/sse/recordings`. */
export type RecordingSseEvent = CameraEvent;
