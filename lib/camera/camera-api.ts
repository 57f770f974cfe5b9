/**
 * What the rest of the package may ask of one camera. `CameraClient` (camera-client.ts) implements it over HTTP;
 * nodes and lib modules depend on this interface, never on the transport.
 */
import type { Readable, Writable } from 'node:stream';
import type {
  CameraEvent,
  CameraSettings,
  DateTimeInfo,
  ExposureSettings,
  FirmwareInfo,
  FocusSettings,
  OverlaySettings,
  PublicCameraSettings,
  StorageInfo,
  StreamMap,
  SystemInfo,
  TriggerRequest,
} from './types';

/** Options every call accepts. */
export interface CallOptions {
  /** Aborts the call (and its retries). */
  signal?: AbortSignal;
  /** Overrides the client's total time budget for this call, retries included (ms). */
  timeoutMs?: number;
  /**
   * A health probe: sent over the client's own probe connection, never queued behind downloads or lists that
   * hold the camera's pool (a stalled download must not make the camera look offline).
   */
  probe?: boolean;
}

/** A recording's event as the client validated it: the file name and extensions are safe to use as names. */
export type ValidCameraEvent = CameraEvent;

/** Why one entry of a camera's list was refused (hostile or malformed). */
export interface RejectedEntry {
  raw: unknown;
  reason: string;
}

export interface ListEventsOptions extends CallOptions {
  /** Called for each entry that failed validation (it is left out of the result). */
  onRejected?: (entry: RejectedEntry) => void;
}

/** A camera's event list, or that it did not change. */
export interface EventListing {
  /** SHA-256 of the raw answer (pass it to the next call). */
  digest: string;
  /** The entries, newest first; absent when the answer is the one of `previousDigest` (not parsed again). */
  events?: ValidCameraEvent[];
}

/** Which file of a recording. */
export type MediaKind = 'video' | 'thumbnail';

export interface DownloadOptions extends CallOptions {
  /** Expected size in bytes, when known (the response's Content-Length is checked in any case). */
  expectedSize?: number;
  /** Called as bytes arrive (throttled by the client to a few calls per second). */
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadProgress {
  receivedBytes: number;
  totalBytes: number | undefined;
}

/** A completed, verified download. */
export interface DownloadResult {
  /** Final path (for downloads to a file). */
  path?: string;
  bytes: number;
  sha256: string;
  contentType: string | undefined;
  /** How many times the transfer resumed with `Range` after an interruption. */
  resumes: number;
}

export interface BufferDownloadOptions extends DownloadOptions {
  /** Refuse (error) past this many bytes. Default 64 MiB. */
  maxBytes?: number;
}

/** Handlers of the SSE recordings feed. */
export interface RecordingFeedHandlers {
  onRecording(event: ValidCameraEvent): void;
  /** The feed (re)connected: callers reconcile with `listEvents` after this. */
  onOpen?(): void;
  /** The feed dropped; it reconnects by itself with backoff. */
  onDisconnect?(error: Error | undefined): void;
  /** The camera has no SSE feed (404): the caller relies on polling alone. */
  onUnsupported?(): void;
  onRejected?(entry: RejectedEntry): void;
}

/** Timing of the recordings feed; each defaults to the client's `sse` options. */
export interface RecordingFeedOptions {
  /** The feed counts as dead after this long without a byte (the camera pings every 15 s). */
  heartbeatTimeoutMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
}

export interface RecordingFeed {
  readonly connected: boolean;
  close(): void;
}

export interface CameraApi {
  /** The camera's root URL, normalised (no trailing `/api`, no trailing slash). */
  readonly baseUrl: string;

  // events
  listEvents(options?: ListEventsOptions): Promise<ValidCameraEvent[]>;
  /**
   * `listEvents`, unless the camera's answer is byte for byte the one whose digest is `previousDigest`: then
   * nothing is parsed or validated and `events` is absent.
   */
  listEventsIfChanged?(
    previousDigest: string | undefined,
    options?: ListEventsOptions,
  ): Promise<EventListing>;
  listActiveEvents(options?: ListEventsOptions): Promise<ValidCameraEvent[]>;
  triggerEvent(
    request: Partial<TriggerRequest> & { eventName: string },
    options?: CallOptions,
  ): Promise<void>;
  /** Resolves `false` when the camera answered 404 (already gone). */
  deleteEvent(fileName: string, options?: CallOptions): Promise<boolean>;
  deleteAllEvents(options?: CallOptions): Promise<void>;
  stopActiveEvent(eventName: string, options?: CallOptions): Promise<void>;
  stopAllActiveEvents(options?: CallOptions): Promise<void>;

  // media
  /**
   * Streams a recording's video or thumbnail to `filePath`: written to `filePath + '.part'`, resumed with
   * `Range` after an interruption, length and SHA-256 checked, fsynced, then renamed. Never buffers the file.
   */
  downloadToFile(
    kind: MediaKind,
    event: Pick<CameraEvent, 'fileName' | 'vidExt' | 'thmbExt'>,
    filePath: string,
    options?: DownloadOptions,
  ): Promise<DownloadResult>;
  /**
   * Pipes a recording's media into `target`, ended on success and destroyed (no error event) on failure. After an interruption
   * the transfer resumes with `Range` after the bytes already written (never rewritten).
   */
  downloadToStream(
    kind: MediaKind,
    event: Pick<CameraEvent, 'fileName' | 'vidExt' | 'thmbExt'>,
    target: Writable,
    options?: DownloadOptions,
  ): Promise<DownloadResult>;
  downloadToBuffer(
    kind: MediaKind,
    event: Pick<CameraEvent, 'fileName' | 'vidExt' | 'thmbExt'>,
    options?: BufferDownloadOptions,
  ): Promise<{ data: Buffer } & DownloadResult>;
  /** One JPEG from a stream's snapshot URL (default: the `hd` stream). */
  getSnapshot(
    streamName?: string,
    options?: BufferDownloadOptions,
  ): Promise<{ data: Buffer } & DownloadResult>;
  /** Opens the MJPEG live stream (`multipart/x-mixed-replace`) as a raw byte stream. */
  openLiveStream(
    streamName?: string,
    options?: CallOptions,
  ): Promise<{ contentType: string; body: Readable }>;

  // feed
  subscribeRecordings(
    handlers: RecordingFeedHandlers,
    options?: Partial<RecordingFeedOptions>,
  ): RecordingFeed;

  // system
  getSystemInfo(options?: CallOptions): Promise<SystemInfo>;
  /** Settings with the secret keys removed. */
  getSettings(options?: CallOptions): Promise<PublicCameraSettings>;
  /**
   * Sends only the given keys (validate them first with settings-schema). The camera restarts afterwards: an
   * empty or cut response counts as accepted.
   */
  putSettings(changes: Partial<CameraSettings>, options?: CallOptions): Promise<void>;
  /** Factory reset; resolves with the default settings, secrets removed. */
  resetSettings(options?: CallOptions): Promise<PublicCameraSettings>;
  getStorage(options?: CallOptions): Promise<StorageInfo>;
  getFirmware(options?: CallOptions): Promise<FirmwareInfo>;
  getDateTime(options?: CallOptions): Promise<DateTimeInfo>;
  getTimezones(options?: CallOptions): Promise<string[]>;
  reboot(options?: CallOptions): Promise<void>;
  getExposure(options?: CallOptions): Promise<ExposureSettings>;
  putExposure(changes: Partial<ExposureSettings>, options?: CallOptions): Promise<void>;
  getFocus(options?: CallOptions): Promise<FocusSettings>;
  putFocus(changes: Partial<FocusSettings>, options?: CallOptions): Promise<void>;
  getOverlay(options?: CallOptions): Promise<OverlaySettings>;
  putOverlay(changes: Partial<OverlaySettings>, options?: CallOptions): Promise<void>;

  // streams
  listStreams(options?: CallOptions): Promise<StreamMap>;

  /** Closes the connection pool and any feed. Idempotent. */
  close(): Promise<void>;
}
