/**
 * What the alerting accepts: the notifications, a union by `kind`, and `toNotification`, the one pure mapper
 * from the messages other nodes emit (the archive's new recording, the camera status change, an explicit
 * `msg.notification`) to a notification. Anything else is refused with a message that says what was expected.
 */
import { InputError } from '../errors';
import { toUtcIso } from '../time/zoned-time';

export const NOTIFICATION_KINDS = [
  'recording',
  'camera-offline',
  'camera-online',
  'camera-rebooted',
  'storage-low',
  'backup-failing',
  'clock-drift',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Kinds a flow may send as an explicit `msg.notification = { kind, ... }`. */
export const EXPLICIT_KINDS = ['storage-low', 'backup-failing', 'clock-drift'] as const;
export type ExplicitKind = (typeof EXPLICIT_KINDS)[number];

export type Severity = 'info' | 'success' | 'warning' | 'error';

export interface CameraRef {
  serialNumber: string;
  name: string;
}

interface NotificationBase {
  /**
   * Stable identity: the same source message always maps to the same id, so a replay (a restart upstream, a
   * redelivered message) is recognised and not notified twice.
   */
  id: string;
  /** ISO-8601 instant the notification is about. */
  at: string;
  /** The camera concerned; absent for site-wide notifications (local storage, backup). */
  camera?: CameraRef;
  /** Set on a cooldown summary: the notifications of one window, told as one. */
  group?: GroupSummary;
}

/** What a cooldown summary stands for: `count` notifications of one kind on one camera between two times. */
export interface GroupSummary {
  count: number;
  /** ISO instants of the first and last grouped notification. */
  firstAt: string;
  lastAt: string;
  /** The first few (at most GROUP_SAMPLE_LIMIT), for the listing in the message. */
  items: GroupItem[];
}

export interface GroupItem {
  at: string;
  /** Event name, file name or state: what tells one from another in a list. */
  label: string;
}

export const GROUP_SAMPLE_LIMIT = 10;

export interface RecordingNotification extends NotificationBase {
  kind: 'recording';
  camera: CameraRef;
  recording: {
    id: string | number;
    fileName: string;
    eventName: string | null;
    triggeredAtUtc: string;
    /** Clip length, seconds. */
    playbackTime: number;
    videoPath?: string;
    /** Absolute, or relative to the media folder; used only when inside it. */
    thumbPath?: string;
    videoSize?: number;
    sha256?: string;
  };
}

export interface CameraStatusNotification extends NotificationBase {
  kind: 'camera-offline' | 'camera-online' | 'camera-rebooted';
  camera: CameraRef;
  state: CameraStatusState;
  previous: CameraStatusState | null;
  /** Seconds since the camera booted, when known. */
  uptime?: number;
}

export interface StorageLowNotification extends NotificationBase {
  kind: 'storage-low';
  /** The camera's storage or this machine's media folder. */
  scope: 'camera' | 'local';
  freeBytes: number;
  totalBytes: number;
  /** The folder concerned (local scope). */
  path?: string;
}

export interface BackupFailingNotification extends NotificationBase {
  kind: 'backup-failing';
  /** Consecutive failures so far. */
  failures: number;
  lastError: string;
  /** Where the backup goes, e.g. `s3://bucket/prefix` (never credentials). */
  target?: string;
}

export interface ClockDriftNotification extends NotificationBase {
  kind: 'clock-drift';
  camera: CameraRef;
  /** Camera clock minus this machine's clock, seconds (positive: the camera is ahead). */
  driftSeconds: number;
}

export type Notification =
  | RecordingNotification
  | CameraStatusNotification
  | StorageLowNotification
  | BackupFailingNotification
  | ClockDriftNotification;

export const CAMERA_STATUS_STATES = ['unknown', 'online', 'offline', 'restarting', 'rebooted'] as const;
export type CameraStatusState = (typeof CAMERA_STATUS_STATES)[number];

/** msg.payload of `pfcam/status` (the camera and status nodes). */
export interface CameraStatusPayload {
  /** `serialNumber` is null until the camera first answered; the URL then stands in for it. */
  camera: { serialNumber: string | null; name?: string; url?: string };
  state: CameraStatusState;
  previous?: CameraStatusState | null;
  /** The camera restarted (its uptime went down), with or without being seen offline. */
  rebooted?: boolean;
  at: string;
  uptime?: number | null;
}

/** msg.payload of `pfcam/recording` (the archive node): the stored event. */
export interface StoredRecordingPayload {
  id: string | number;
  cameraSerial: string;
  cameraName?: string | null;
  fileName: string;
  eventName: string | null;
  triggeredAtUtc: string;
  playbackTime: number;
  videoPath?: string | null;
  thumbPath?: string | null;
  videoSize?: number | null;
  sha256?: string | null;
}

/** One address a message may carry in `msg.recipients`. */
export interface MessageRecipient {
  email: string;
  name?: string;
}

/** What the notify node reads from a message. */
export interface NotifyInputMessage {
  topic?: unknown;
  payload?: unknown;
  notification?: unknown;
  recipients?: unknown;
}

/** The result of mapping a message: a notification, or nothing to tell (with the reason). */
export type Mapped = { notification: Notification } | { notification: null; reason: string };

/** The importance of each kind, for the dashboard's colour and the email's accent. */
export function severityOf(n: Notification): Severity {
  switch (n.kind) {
    case 'recording':
      return 'info';
    case 'camera-online':
      return 'success';
    case 'camera-offline':
    case 'backup-failing':
      return 'error';
    case 'storage-low':
      return n.totalBytes > 0 && n.freeBytes / n.totalBytes < 0.02 ? 'error' : 'warning';
    case 'camera-rebooted':
    case 'clock-drift':
      return 'warning';
  }
}

/** The cooldown key: notifications with the same key are grouped. */
export function groupKeyOf(n: Notification): string {
  const subject = n.camera?.serialNumber ?? (n.kind === 'storage-low' ? `local:${n.path ?? ''}` : 'site');
  return `${subject}|${n.kind}`;
}

// ---- the mapper ----

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string): never {
  throw new InputError(message, { key: 'errors.notifyInput' });
}

function str(obj: Record<string, unknown>, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.trim() === '') fail(`${what}.${key} must be a non-empty string`);
  return v;
}

function optStr(obj: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${what}.${key} must be a string`);
  return v;
}

function num(obj: Record<string, unknown>, key: string, what: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what}.${key} must be a finite number`);
  return v;
}

function optNum(obj: Record<string, unknown>, key: string, what: string): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what}.${key} must be a finite number`);
  return v;
}

function isoInstant(value: string, what: string): string {
  try {
    return toUtcIso(value, 'UTC');
  } catch {
    fail(`${what} must be an ISO-8601 time, got "${value.slice(0, 40)}"`);
  }
}

function cameraRef(v: unknown, what: string): CameraRef {
  if (!isRecord(v)) fail(`${what} must be an object { serialNumber, name }`);
  const name = optStr(v, 'name', what);
  // A camera that never answered has no serial number yet: its URL (or name) identifies it meanwhile.
  const serialNumber =
    v.serialNumber === null || v.serialNumber === undefined
      ? optStr(v, 'url', what) || name || fail(`${what}.serialNumber must be a non-empty string`)
      : str(v, 'serialNumber', what);
  return { serialNumber, name: name && name.trim() !== '' ? name : serialNumber };
}

function isStatusState(v: unknown): v is CameraStatusState {
  return typeof v === 'string' && (CAMERA_STATUS_STATES as readonly string[]).includes(v);
}

function looksLikeRecording(p: Record<string, unknown>): boolean {
  return 'cameraSerial' in p && 'fileName' in p;
}

function looksLikeStatus(p: Record<string, unknown>): boolean {
  return 'camera' in p && 'state' in p;
}

function fromRecording(p: Record<string, unknown>): RecordingNotification {
  const what = 'msg.payload';
  const id = p.id;
  if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isFinite(id))) {
    fail(`${what}.id must be the stored event's id`);
  }
  const cameraSerial = str(p, 'cameraSerial', what);
  const fileName = str(p, 'fileName', what);
  const eventName = p.eventName;
  if (eventName !== null && eventName !== undefined && typeof eventName !== 'string') {
    fail(`${what}.eventName must be a string or null`);
  }
  const triggeredAtUtc = isoInstant(str(p, 'triggeredAtUtc', what), `${what}.triggeredAtUtc`);
  const cameraName = optStr(p, 'cameraName', what);
  return {
    kind: 'recording',
    id: `recording:${cameraSerial}:${fileName}`,
    at: triggeredAtUtc,
    camera: {
      serialNumber: cameraSerial,
      name: cameraName && cameraName.trim() !== '' ? cameraName : cameraSerial,
    },
    recording: {
      id,
      fileName,
      eventName: typeof eventName === 'string' && eventName !== '' ? eventName : null,
      triggeredAtUtc,
      playbackTime: optNum(p, 'playbackTime', what) ?? 0,
      videoPath: optStr(p, 'videoPath', what),
      thumbPath: optStr(p, 'thumbPath', what),
      videoSize: optNum(p, 'videoSize', what),
      sha256: optStr(p, 'sha256', what),
    },
  };
}

function fromStatus(p: Record<string, unknown>): Mapped {
  const what = 'msg.payload';
  const camera = cameraRef(p.camera, `${what}.camera`);
  if (!isStatusState(p.state)) fail(`${what}.state must be one of ${CAMERA_STATUS_STATES.join(', ')}`);
  const state = p.state;
  const previous = p.previous === undefined || p.previous === null ? null : p.previous;
  if (previous !== null && !isStatusState(previous)) {
    fail(`${what}.previous must be one of ${CAMERA_STATUS_STATES.join(', ')} or null`);
  }
  const at = isoInstant(str(p, 'at', what), `${what}.at`);
  const uptime = optNum(p, 'uptime', what);
  if (p.rebooted !== undefined && typeof p.rebooted !== 'boolean') fail(`${what}.rebooted must be a boolean`);
  let kind: CameraStatusNotification['kind'];
  if (state === 'rebooted' || (p.rebooted === true && state === 'online')) {
    kind = 'camera-rebooted';
  } else if (state === 'offline') {
    if (previous === 'offline') return { notification: null, reason: 'still offline' };
    kind = 'camera-offline';
  } else if (state === 'online') {
    if (previous !== 'offline' && previous !== 'restarting') {
      return { notification: null, reason: 'online, was not offline' };
    }
    kind = 'camera-online';
  } else if (state === 'restarting') {
    return { notification: null, reason: 'restart requested; the camera reports when it is back' };
  } else {
    return { notification: null, reason: 'state not known yet' };
  }
  const n: CameraStatusNotification = {
    kind,
    id: `${kind}:${camera.serialNumber}:${at}`,
    at,
    camera,
    state,
    previous,
  };
  if (uptime !== undefined) n.uptime = uptime;
  return { notification: n };
}

function fromExplicit(v: unknown): Notification {
  const what = 'msg.notification';
  if (!isRecord(v)) fail(`${what} must be an object { kind, ... }`);
  const kind = v.kind;
  if (typeof kind !== 'string' || !(EXPLICIT_KINDS as readonly string[]).includes(kind)) {
    fail(
      `${what}.kind must be one of ${EXPLICIT_KINDS.join(', ')} (recordings and camera status come from the archive and status messages)`,
    );
  }
  const at = v.at === undefined ? new Date().toISOString() : isoInstant(str(v, 'at', what), `${what}.at`);
  const camera =
    v.camera === undefined || v.camera === null ? undefined : cameraRef(v.camera, `${what}.camera`);
  const subject = camera?.serialNumber ?? 'site';
  const givenId = optStr(v, 'id', what);
  const id = givenId && givenId !== '' ? `${kind}:${givenId}` : `${kind}:${subject}:${at}`;
  switch (kind as ExplicitKind) {
    case 'storage-low': {
      const scope = v.scope ?? (camera ? 'camera' : 'local');
      if (scope !== 'camera' && scope !== 'local') fail(`${what}.scope must be "camera" or "local"`);
      if (scope === 'camera' && !camera) fail(`${what}.camera is required when scope is "camera"`);
      const freeBytes = num(v, 'freeBytes', what);
      const totalBytes = num(v, 'totalBytes', what);
      if (freeBytes < 0 || totalBytes < 0) fail(`${what}.freeBytes and totalBytes must not be negative`);
      const n: StorageLowNotification = { kind: 'storage-low', id, at, scope, freeBytes, totalBytes };
      if (camera) n.camera = camera;
      const path = optStr(v, 'path', what);
      if (path !== undefined) n.path = path;
      return n;
    }
    case 'backup-failing': {
      const failures = num(v, 'failures', what);
      const lastError = optStr(v, 'lastError', what) ?? '';
      const n: BackupFailingNotification = { kind: 'backup-failing', id, at, failures, lastError };
      if (camera) n.camera = camera;
      const target = optStr(v, 'target', what);
      if (target !== undefined) n.target = target;
      return n;
    }
    case 'clock-drift': {
      if (!camera) fail(`${what}.camera is required for clock-drift`);
      return { kind: 'clock-drift', id, at, camera, driftSeconds: num(v, 'driftSeconds', what) };
    }
  }
}

/**
 * Maps a message to a notification. Recognises, in this order: `msg.notification` (explicit storage-low,
 * backup-failing, clock-drift), a `pfcam/recording` stored event, a `pfcam/status` status change. Throws an
 * InputError naming the expected shapes for anything else. Returns `notification: null` for a status change
 * that is not worth telling (a camera that was already offline, a first `online`).
 */
export function toNotification(msg: NotifyInputMessage): Mapped {
  if (msg.notification !== undefined) return { notification: fromExplicit(msg.notification) };
  const p = msg.payload;
  if (isRecord(p)) {
    if (msg.topic === 'pfcam/recording' || (msg.topic !== 'pfcam/status' && looksLikeRecording(p))) {
      return { notification: fromRecording(p) };
    }
    if (msg.topic === 'pfcam/status' || looksLikeStatus(p)) return fromStatus(p);
  }
  fail(
    'expected a new recording (msg.topic "pfcam/recording", msg.payload = stored event), a camera status ' +
      '(msg.topic "pfcam/status", msg.payload = { camera, state, previous, at }) or msg.notification = ' +
      `{ kind: ${EXPLICIT_KINDS.map((k) => `"${k}"`).join(' | ')}, ... }`,
  );
}

const EMAIL_RE = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

/** Whether `v` is a plain email address (no display name, no list). */
export function isEmailAddress(v: string): boolean {
  return v.length <= 254 && EMAIL_RE.test(v);
}

/** Reads `msg.recipients`: an array of addresses or `{ email, name? }`, or a comma-separated string. */
export function messageRecipients(v: unknown): MessageRecipient[] {
  if (v === undefined || v === null) return [];
  const items: unknown[] =
    typeof v === 'string'
      ? v
          .split(/[,;\n]/)
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : Array.isArray(v)
        ? v
        : fail('msg.recipients must be an array of email addresses or { email, name } objects');
  return items.map((item, i) => {
    if (typeof item === 'string') {
      if (!isEmailAddress(item)) fail(`msg.recipients[${i}] is not an email address`);
      return { email: item };
    }
    if (isRecord(item) && typeof item.email === 'string' && isEmailAddress(item.email)) {
      const r: MessageRecipient = { email: item.email };
      if (typeof item.name === 'string' && item.name !== '') r.name = item.name;
      return r;
    }
    return fail(`msg.recipients[${i}] must be an email address or { email, name }`);
  });
}
