/**
 * The messages the archive nodes send: `pfcam-watch` announces a newly discovered recording, `pfcam-archive`
 * passes on a recording once its files are stored and verified. Other nodes (notify, backup, dashboard) consume
 * these shapes: add fields, never rename or remove one.
 */

/** `pfcam-watch` output topic. */
export const NEW_RECORDING_TOPIC = 'pfcam/new-recording';
/** `pfcam-archive` output topic. */
export const RECORDING_TOPIC = 'pfcam/recording';

/** `msg.payload` of `pfcam-watch`: one recording seen for the first time (its store row was just created). */
export interface NewRecordingPayload {
  /** Serial number of the camera: with `fileName`, the identity of the recording. */
  cameraSerial: string;
  /** The camera's display name (node name, else the camera's own name). */
  cameraName: string;
  /** The store row's id. */
  eventId: number;
  /** The recording's id on the camera (no extension). */
  fileName: string;
  eventName: string | null;
  /** As the camera gave it (may lack an offset: camera-local time). */
  triggeredAt: string;
  /** Normalised to UTC, ISO-8601. */
  triggeredAtUtc: string;
  /** Clip length, seconds. */
  playbackTime: number;
  vidExt: string;
  thmbExt: string;
  /** Storage folder on the camera. */
  dir: string;
  /** How it was discovered: the camera's SSE feed, or the periodic / reconnect list reconciliation. */
  source: 'sse' | 'list';
}

/** `msg.payload` of `pfcam-archive`: a recording whose files are stored, verified and indexed. */
export interface StoredRecordingPayload {
  /** The store row's id. */
  id: number;
  cameraSerial: string;
  cameraName?: string;
  fileName: string;
  eventName: string | null;
  triggeredAtUtc: string;
  playbackTime: number;
  /** Video file, relative to the store's media folder. */
  videoPath: string;
  /** Thumbnail file, relative to the store's media folder (undefined when the camera had none). */
  thumbPath: string | undefined;
  videoSize: number;
  /** SHA-256 (hex) of the video file. */
  sha256: string;
  thumbSize: number | undefined;
  /** SHA-256 (hex) of the thumbnail file. */
  thumbSha256: string | undefined;
  /** When the files were stored (ISO, UTC). */
  storedAt: string;
  /** False when the recording was already stored before this message asked for it (nothing was fetched). */
  fetched: boolean;
}

/** The message `pfcam-watch` sends (a type alias, so that it is assignable to Node-RED's NodeMessage). */
export type NewRecordingMessage = {
  _msgid?: string;
  topic: typeof NEW_RECORDING_TOPIC;
  payload: NewRecordingPayload;
};

/** The message `pfcam-archive` sends (the input message reused, or a new one for recoveries and retries). */
export type StoredRecordingMessage = {
  _msgid?: string;
  topic: typeof RECORDING_TOPIC;
  payload: StoredRecordingPayload;
};

/** Type guard for the input of `pfcam-archive`: a `pfcam-watch` payload (or enough of one to find the row). */
export function isArchiveRequest(value: unknown): value is ArchiveRequest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const hasId = typeof v.eventId === 'number' && Number.isInteger(v.eventId) && v.eventId > 0;
  const hasIdentity =
    typeof v.cameraSerial === 'string' && v.cameraSerial !== '' && typeof v.fileName === 'string';
  return hasId || hasIdentity;
}

/** What `pfcam-archive` needs to find a recording: its row id, or its identity (camera serial, file name). */
export interface ArchiveRequest {
  eventId?: number;
  cameraSerial?: string;
  fileName?: string;
}
