/**
 * The output messages of `pfcam-settings` and `pfcam-system`: a stable, documented shape that integrators' own
 * code can import (`import type { PfcamSettingsMessage } from '@pfcam/node-red-pfcam'`). Each node's help
 * documents the same. Secrets never appear in any of them.
 */
import type { ClockDriftReport } from './clock-drift';
import type { CameraMessageBase } from './messages';
import type { SettingsMismatch } from './settings-schema';
import type { RestartReport } from './settings-writer';
import type {
  DateTimeInfo,
  ExposureSettings,
  FirmwareInfo,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
  StorageInfo,
  SystemInfo,
} from './types';

export type { ClockDriftReport } from './clock-drift';
export type { SettingsMismatch } from './settings-schema';
export type { RestartReport } from './settings-writer';

/** What an [A] resource the camera does not have (it answered 404) gives: the flow goes on. */
export interface UnsupportedPayload {
  supported: false;
  /** The missing feature (`storage`, `firmware`, `datetime`, `timezones`, `exposure`, `focus`, `overlay`). */
  feature: string;
}

// ----- pfcam-settings ---------------------------------------------------------------------------------------

export const SETTINGS_OPERATIONS = [
  'get',
  'set',
  'reset',
  'setSecret',
  'getExposure',
  'setExposure',
  'getFocus',
  'setFocus',
  'getOverlay',
  'setOverlay',
] as const;
export type SettingsOperation = (typeof SETTINGS_OPERATIONS)[number];

/** `get`: the camera's settings, secrets removed. */
export interface PfcamSettingsGetMessage extends CameraMessageBase {
  operation: 'get';
  payload: PublicCameraSettings;
}

/** The facts every write adds to the message. */
export interface SettingsWriteFacts {
  /** The keys sent to the camera (those that differed); `[]` when nothing differed and nothing was sent. */
  changed: string[];
  /**
   * Every changed key read back with the written value. Secret keys cannot be read back and do not count.
   * `false`: see `mismatches`.
   */
  verified: boolean;
  /** Keys that read back with another value (empty when verified). */
  mismatches: SettingsMismatch[];
}

/** `set`, `setSecret`: the settings read back after the camera came back, secrets removed. */
export interface PfcamSettingsWriteMessage extends CameraMessageBase, SettingsWriteFacts {
  operation: 'set' | 'setSecret';
  payload: PublicCameraSettings;
  /** How the restart went; `null` when nothing was sent (no restart). */
  restart: RestartReport | null;
}

/** `reset`: the factory settings read back after the restart, secrets removed. */
export interface PfcamSettingsResetMessage extends CameraMessageBase {
  operation: 'reset';
  payload: PublicCameraSettings;
  restart: RestartReport;
}

/** `getExposure` / `setExposure` (live, no restart). */
export interface PfcamExposureMessage extends CameraMessageBase, Partial<SettingsWriteFacts> {
  operation: 'getExposure' | 'setExposure';
  payload: ExposureSettings | UnsupportedPayload;
}

/** `getFocus` / `setFocus` (live, no restart). */
export interface PfcamFocusMessage extends CameraMessageBase, Partial<SettingsWriteFacts> {
  operation: 'getFocus' | 'setFocus';
  payload: FocusSettings | UnsupportedPayload;
}

/** `getOverlay` / `setOverlay` (live, no restart). */
export interface PfcamOverlayMessage extends CameraMessageBase, Partial<SettingsWriteFacts> {
  operation: 'getOverlay' | 'setOverlay';
  payload: OverlaySettings | UnsupportedPayload;
}

/** Any output message of `pfcam-settings`; `operation` tells which. */
export type PfcamSettingsMessage =
  | PfcamSettingsGetMessage
  | PfcamSettingsWriteMessage
  | PfcamSettingsResetMessage
  | PfcamExposureMessage
  | PfcamFocusMessage
  | PfcamOverlayMessage;

// ----- pfcam-system -----------------------------------------------------------------------------------------

export const SYSTEM_OPERATIONS = [
  'info',
  'storage',
  'firmware',
  'datetime',
  'timezones',
  'reboot',
  'clockDrift',
  'fixClock',
] as const;
export type SystemOperation = (typeof SYSTEM_OPERATIONS)[number];

export interface PfcamSystemInfoMessage extends CameraMessageBase {
  operation: 'info';
  payload: SystemInfo;
}

export interface PfcamSystemStorageMessage extends CameraMessageBase {
  operation: 'storage';
  payload: StorageInfo | UnsupportedPayload;
}

export interface PfcamSystemFirmwareMessage extends CameraMessageBase {
  operation: 'firmware';
  payload: FirmwareInfo | UnsupportedPayload;
}

export interface PfcamSystemDateTimeMessage extends CameraMessageBase {
  operation: 'datetime';
  payload: DateTimeInfo | UnsupportedPayload;
}

export interface PfcamSystemTimezonesMessage extends CameraMessageBase {
  operation: 'timezones';
  /** IANA zone names the camera accepts for `time_zone`. */
  payload: string[] | UnsupportedPayload;
}

/** `reboot`: the camera went away and came back. */
export interface RebootPayload extends RestartReport {
  /** The uptime before the reboot (s); `null` when it was not known. */
  previousUptime: number | null;
}

export interface PfcamSystemRebootMessage extends CameraMessageBase {
  operation: 'reboot';
  payload: RebootPayload;
}

export interface PfcamSystemClockDriftMessage extends CameraMessageBase {
  operation: 'clockDrift';
  payload: ClockDriftReport;
}

/** `fixClock`: the camera's NTP now points at `ntpServer`; `drift` is measured after its restart. */
export interface ClockFixPayload extends SettingsWriteFacts {
  ntpServer: string;
  /** How the restart went; `null` when the camera already used that server (nothing sent). */
  restart: RestartReport | null;
  drift: ClockDriftReport;
}

export interface PfcamSystemFixClockMessage extends CameraMessageBase {
  operation: 'fixClock';
  payload: ClockFixPayload;
}

/** Any output message of `pfcam-system`; `operation` tells which. */
export type PfcamSystemMessage =
  | PfcamSystemInfoMessage
  | PfcamSystemStorageMessage
  | PfcamSystemFirmwareMessage
  | PfcamSystemDateTimeMessage
  | PfcamSystemTimezonesMessage
  | PfcamSystemRebootMessage
  | PfcamSystemClockDriftMessage
  | PfcamSystemFixClockMessage;
