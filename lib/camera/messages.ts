/**
 * The output messages of the camera nodes `pfcam-events`, `pfcam-trigger`, `pfcam-media`, `pfcam-streams` and
 * `pfcam-status`: a stable, documented shape that integrators' own code can import
 * (`import type { PfcamEventsListMessage } from '@pfcam/node-red-pfcam'`). Each node's help documents the same.
 */
import type { CameraState } from './camera-health';
import type { CameraEvent, StreamDescriptor, TriggerRequest } from './types';

/** Which camera a message is about. `url` is the camera's root URL, never with credentials. */
export interface CameraRef {
  /** Serial number, once the camera answered a probe; `null` before that. */
  serialNumber: string | null;
  /** The config node's name, else the camera's own name, else its URL. */
  name: string;
  url: string;
}

/** The properties every output message of these nodes carries (besides the input message's own). */
export interface CameraMessageBase {
  /** The camera the message is about. */
  camera: CameraRef;
}

// ----- pfcam-events -----------------------------------------------------------------------------------------

export type EventsOperation = 'list' | 'active' | 'delete' | 'deleteAll' | 'stop' | 'stopAll';

/** One recording, as the camera lists it, plus its trigger time in UTC. */
export interface CameraRecording extends CameraEvent {
  /**
   * `triggeredAt` as a UTC ISO-8601 string (a time without an offset is read in the camera's time zone);
   * `null` when the camera's value is not a date.
   */
  triggeredAtUtc: string | null;
}

/**
 * The output messages carry no `operation` (nor `filename`) property on purpose: a message passed on to the next
 * pfcam node (list -> split -> delete, video -> thumbnail) must not carry over an override it did not ask for.
 * `msg.operation` set by the flow stays as it was.
 */
export interface PfcamEventsListMessage extends CameraMessageBase {
  /** Recordings, newest first, after the node's filters (`list`), or the events still recording (`active`). */
  payload: CameraRecording[];
  /** How many recordings the camera listed before filtering. */
  total: number;
}

export interface DeleteResult {
  fileName: string;
  /** `false` when the camera did not have it (already gone). */
  deleted: boolean;
}

export interface PfcamEventsDeleteMessage extends CameraMessageBase {
  payload: DeleteResult;
}

export interface DeleteAllResult {
  deletedAll: true;
}

export interface PfcamEventsDeleteAllMessage extends CameraMessageBase {
  payload: DeleteAllResult;
}

export interface StopResult {
  eventName: string;
  stopped: true;
}

export interface PfcamEventsStopMessage extends CameraMessageBase {
  payload: StopResult;
}

export interface StopAllResult {
  stoppedAll: true;
}

export interface PfcamEventsStopAllMessage extends CameraMessageBase {
  payload: StopAllResult;
}

/** Any output message of `pfcam-events`; the payload's shape tells which operation ran. */
export type PfcamEventsMessage =
  | PfcamEventsListMessage
  | PfcamEventsDeleteMessage
  | PfcamEventsDeleteAllMessage
  | PfcamEventsStopMessage
  | PfcamEventsStopAllMessage;

// ----- pfcam-trigger ----------------------------------------------------------------------------------------

/** What was sent to the camera. Fields left to the camera's own settings are absent. */
export interface TriggerResult extends Partial<TriggerRequest> {
  eventName: string;
  /** When the camera accepted the trigger (this machine's clock, UTC ISO-8601). */
  acceptedAt: string;
}

export interface PfcamTriggerMessage extends CameraMessageBase {
  payload: TriggerResult;
}

// ----- pfcam-media ------------------------------------------------------------------------------------------

export type MediaOperation = 'video' | 'thumbnail' | 'snapshot';

/** What was fetched. */
export interface MediaInfo {
  operation: MediaOperation;
  /** The recording's file name (`video`, `thumbnail`); `null` for a live snapshot. */
  fileName: string | null;
  /** The stream a snapshot came from; `null` for a recording's media. */
  stream: string | null;
  bytes: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  contentType: string | null;
}

/** Output of `pfcam-media` with "Output: Buffer". */
export interface PfcamMediaBufferMessage extends CameraMessageBase {
  payload: Buffer;
  media: MediaInfo;
}

/** The file written by `pfcam-media` with "Output: file". */
export interface MediaFile extends MediaInfo {
  /** Absolute path of the file written, inside the node's folder. */
  path: string;
  /** How many times the transfer resumed after an interruption. */
  resumes: number;
}

/** Output of `pfcam-media` with "Output: file". */
export interface PfcamMediaFileMessage extends CameraMessageBase {
  payload: MediaFile;
  media: MediaInfo;
}

export type PfcamMediaMessage = PfcamMediaBufferMessage | PfcamMediaFileMessage;

// ----- pfcam-streams ----------------------------------------------------------------------------------------

export type StreamsOperation = 'list' | 'rtsp' | 'mjpeg' | 'snapshot';

/** One stream of the camera, with its URLs resolved against the camera's address. */
export interface StreamInfo extends Pick<StreamDescriptor, 'name' | 'codec' | 'fps' | 'resolution'> {
  /** The key of the stream in the camera's list (`hd`, `rtsp`, ...). */
  key: string;
  /** Where to fetch the stream (MJPEG over HTTP for `hd`); `null` when the camera gave no usable URL. */
  url: string | null;
  /** One JPEG of the stream, when the camera offers it. */
  snapshotUrl: string | null;
}

export interface RtspInfo {
  /** The RTSP URL; with credentials only when the camera requires them and the node is set to include them. */
  url: string;
  /** The camera requires RTSP credentials (`rtsp_auth`). */
  authRequired: boolean;
  /** The URL carries the credentials. */
  includesCredentials: boolean;
}

export interface StreamsList {
  streams: StreamInfo[];
  /** `null` when RTSP is off on the camera (setting `rtsp`). */
  rtsp: RtspInfo | null;
  /** MJPEG URL of the node's stream (default `hd`), or `null`. */
  mjpegUrl: string | null;
  /** Snapshot URL of the node's stream (default `hd`), or `null`. */
  snapshotUrl: string | null;
}

export interface PfcamStreamsListMessage extends CameraMessageBase {
  payload: StreamsList;
}

/** `rtsp`, `mjpeg`, `snapshot`: the one URL as a string (ready for an `img` src, ffmpeg, a player). */
export interface PfcamStreamsUrlMessage extends CameraMessageBase {
  payload: string;
}

export type PfcamStreamsMessage = PfcamStreamsListMessage | PfcamStreamsUrlMessage;

// ----- pfcam-status -----------------------------------------------------------------------------------------

/** One camera state change (or, on request, the current state). */
export interface CameraStatusPayload {
  camera: CameraRef;
  state: CameraState;
  previous: CameraState;
  /** The camera restarted (its uptime went down), with or without being seen offline. */
  rebooted: boolean;
  /** When the change happened (UTC ISO-8601). */
  at: string;
  /** The camera's uptime (s) at its last answer; `null` when never seen. */
  uptime: number | null;
}

/** Output of `pfcam-status`. */
export interface PfcamStatusMessage {
  topic: 'pfcam/status';
  payload: CameraStatusPayload;
}

export type { CameraState };
