/**
 * The options of the `pfcam-settings` and `pfcam-system` nodes: the raw editor config turned into readonly,
 * checked options (defaults + validation), and the per-message overrides (`msg.operation`, ...).
 */
import { InputError } from '../errors';
import { typedProperty, type TypedProperty } from '../config/node-property';
import { configOption, readBoolean, readEnum, readNumber, showValue } from '../config/option-reader';
import { DEFAULT_DRIFT_THRESHOLD_SECONDS } from './clock-drift';
import {
  SETTINGS_OPERATIONS,
  SYSTEM_OPERATIONS,
  type SettingsOperation,
  type SystemOperation,
} from './messages-settings';
import { DEFAULT_RESTART_TIMEOUT_MS } from './settings-writer';
import { SECRET_SETTING_KEYS, type SecretSettingKey } from './types';

export interface SettingsNodeOptions {
  readonly operation: SettingsOperation;
  /** Where the changes of `set` / `setExposure` / `setFocus` / `setOverlay` come from (default `msg.payload`). */
  readonly changes: TypedProperty;
  /** Which secret `setSecret` writes (overridable by `msg.secretKey`). */
  readonly secretKey: SecretSettingKey;
  /** Accept settings keys the validation table does not know (a newer camera). Default false. */
  readonly allowUnknown: boolean;
  /** The factory reset is allowed at all (it still needs `msg.confirm === true`). Default false. */
  readonly confirmReset: boolean;
  /** How long the camera may take to come back after a write (ms). */
  readonly restartTimeoutMs: number;
}

export interface SystemNodeOptions {
  readonly operation: SystemOperation;
  /** Tolerated clock drift (s) for `clockDrift` / `fixClock`. */
  readonly thresholdSeconds: number;
  /** NTP server for `fixClock` (overridden by `msg.payload.ntpServer`); a literal may be left empty. */
  readonly ntpServer: TypedProperty;
  /** `reboot` and `fixClock` restart the camera: allowed only when ticked. Default false. */
  readonly allowRestart: boolean;
  readonly restartTimeoutMs: number;
}

/** Bounds of the restart timeout field, seconds. */
export const RESTART_TIMEOUT_RANGE = { min: 1, max: 900 } as const;

export function parseSettingsNodeOptions(config: Readonly<Record<string, unknown>>): SettingsNodeOptions {
  return Object.freeze({
    operation: readEnum(configOption(config, 'operation'), SETTINGS_OPERATIONS, 'get'),
    changes: typedProperty(config, 'changes', { type: 'msg', value: 'payload' }, [
      'msg',
      'json',
      'flow',
      'global',
    ]),
    secretKey: readEnum(configOption(config, 'secretKey'), SECRET_SETTING_KEYS, 'access_password_hash_admin'),
    allowUnknown: readBoolean(configOption(config, 'allowUnknown'), false),
    confirmReset: readBoolean(configOption(config, 'confirmReset'), false),
    restartTimeoutMs: restartTimeout(config),
  });
}

export function parseSystemNodeOptions(config: Readonly<Record<string, unknown>>): SystemNodeOptions {
  return Object.freeze({
    operation: readEnum(configOption(config, 'operation'), SYSTEM_OPERATIONS, 'info'),
    thresholdSeconds: readNumber(
      configOption(config, 'threshold'),
      0,
      86_400,
      DEFAULT_DRIFT_THRESHOLD_SECONDS,
    ),
    ntpServer: typedProperty(config, 'ntpServer', { type: 'str', value: '' }, [
      'str',
      'env',
      'msg',
      'flow',
      'global',
    ]),
    allowRestart: readBoolean(configOption(config, 'allowRestart'), false),
    restartTimeoutMs: restartTimeout(config),
  });
}

/** The operation of one message: `msg.operation` when present (checked), else the node's. */
export function resolveOperation<T extends string>(override: unknown, choices: readonly T[], fallback: T): T {
  if (override === undefined || override === null || override === '') return fallback;
  if (typeof override === 'string' && (choices as readonly string[]).includes(override)) return override as T;
  throw new InputError(
    `msg.operation must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${showValue(override)}`,
    { key: 'errors.badOperation' },
  );
}

/** The secret key of one `setSecret` message: `msg.secretKey` when present (checked), else the node's. */
export function resolveSecretKey(override: unknown, fallback: SecretSettingKey): SecretSettingKey {
  if (override === undefined || override === null || override === '') return fallback;
  if (typeof override === 'string' && (SECRET_SETTING_KEYS as readonly string[]).includes(override)) {
    return override as SecretSettingKey;
  }
  throw new InputError(
    `msg.secretKey must be one of ${SECRET_SETTING_KEYS.map((c) => `'${c}'`).join(', ')}, got ${showValue(override)}`,
    { key: 'errors.badSecret' },
  );
}

function restartTimeout(config: Readonly<Record<string, unknown>>): number {
  const seconds = readNumber(
    configOption(config, 'restartTimeout'),
    RESTART_TIMEOUT_RANGE.min,
    RESTART_TIMEOUT_RANGE.max,
    DEFAULT_RESTART_TIMEOUT_MS / 1000,
  );
  return Math.round(seconds * 1000);
}
