/**
 * The Camera settings screen's data: the settings table as a form (groups, each field's rule, its current
 * value; secrets never), and the preview of a change (every field checked with its message, then the diff
 * against the camera's current values) before anything is sent.
 */
import {
  diffSettings,
  EXPOSURE_SCHEMA,
  FOCUS_SCHEMA,
  isSecretSettingKey,
  OVERLAY_SCHEMA,
  SETTINGS_SCHEMA,
  stripSecrets,
  validateSettingsChanges,
  type FieldRule,
  type SettingsFieldError,
  type SettingValue,
} from '../camera/settings-schema';

export const SETTINGS_GROUPS = [
  'identity',
  'network',
  'recording',
  'exposure',
  'focus',
  'overlay',
  'liveView',
  'rtsp',
  'misc',
] as const;
export type SettingsGroup = (typeof SETTINGS_GROUPS)[number];

/** The group a settings key belongs to (by its prefix, as camera-api.md orders the table). */
export function groupOf(key: string): SettingsGroup {
  if (key === 'name' || key === 'time_zone' || key.startsWith('access_')) return 'identity';
  if (key.startsWith('network_')) return 'network';
  if (key.startsWith('recording_')) return 'recording';
  if (key.startsWith('exposure_')) return 'exposure';
  if (key.startsWith('focus_')) return 'focus';
  if (key.startsWith('overlay_')) return 'overlay';
  if (key.startsWith('live_')) return 'liveView';
  if (key === 'rtsp' || key.startsWith('rtsp_')) return 'rtsp';
  return 'misc';
}

export interface FormField {
  key: string;
  rule: FieldRule;
  /** The camera's current value; null when it did not report the key. */
  value: SettingValue | null;
}

export interface SettingsForm {
  groups: { group: SettingsGroup; fields: FormField[] }[];
  /** Writing any of these settings restarts the camera (camera-api.md): the page warns. */
  restarts: true;
}

/** The form over the settings table with the camera's current values; secret keys are left out entirely. */
export function settingsForm(current: unknown): SettingsForm {
  const values = stripSecrets(current) as unknown as Record<string, SettingValue | null>;
  const byGroup = new Map<SettingsGroup, FormField[]>(SETTINGS_GROUPS.map((g) => [g, []]));
  for (const key of Object.keys(SETTINGS_SCHEMA) as (keyof typeof SETTINGS_SCHEMA)[]) {
    if (isSecretSettingKey(key)) continue;
    byGroup.get(groupOf(key))!.push({ key, rule: SETTINGS_SCHEMA[key], value: values[key] ?? null });
  }
  return {
    groups: SETTINGS_GROUPS.map((group) => ({ group, fields: byGroup.get(group)! })).filter(
      (g) => g.fields.length > 0,
    ),
    restarts: true,
  };
}

/** The rules of the live controls (no restart). */
export const LIVE_RULES = {
  exposure: EXPOSURE_SCHEMA,
  focus: FOCUS_SCHEMA,
  overlay: OVERLAY_SCHEMA,
} as const;

export interface SettingsDiffEntry {
  key: string;
  from: SettingValue | null;
  to: SettingValue;
}

export type SettingsPreview =
  | { ok: true; diff: SettingsDiffEntry[]; restart: boolean }
  | { ok: false; errors: readonly SettingsFieldError[] };

/**
 * Checks a change (every bad field reported with its message; a secret key is refused like an unknown one)
 * and lists what would change against `current`.
 */
export function previewSettings(current: unknown, changes: unknown): SettingsPreview {
  const checked = validateSettingsChanges(changes);
  if (!checked.ok) return { ok: false, errors: checked.errors };
  const now = stripSecrets(current) as unknown as Record<string, SettingValue | null>;
  const diff = diffSettings<Record<string, SettingValue>>(now, checked.changes);
  const entries = Object.entries(diff)
    .filter((e): e is [string, SettingValue] => e[1] !== undefined)
    .map(([key, to]) => ({ key, from: now[key] ?? null, to }));
  return { ok: true, diff: entries, restart: entries.length > 0 };
}
