/**
 * Typed errors of the camera client. Each carries an i18n key of the shared catalog (`common.errors.*`), plain
 * English text, and what is known of the failure: the HTTP status, the camera's own error text, the route.
 * `retryable` says whether the same call may succeed later unchanged (network, timeout, 5xx): callers that
 * keep work for later (download queues) use it to decide between "try again" and "give up".
 */
import { PfcamError } from '../errors';

/** Facts common to every camera error. */
export interface CameraErrorDetails {
  /** Route key of routes.ts (e.g. `listEvents`), when the failure belongs to one. */
  route?: string;
  /** HTTP method and path (never the host's credentials). */
  method?: string;
  path?: string;
  cause?: unknown;
}

export abstract class CameraError extends PfcamError {
  readonly route: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** Whether the same call may succeed later, unchanged. */
  abstract readonly retryable: boolean;

  constructor(
    key: string,
    message: string,
    details: CameraErrorDetails = {},
    params: Readonly<Record<string, string | number>> = {},
  ) {
    super(key, message, { cause: details.cause, params });
    this.route = details.route;
    this.method = details.method;
    this.path = details.path;
  }
}

/** The camera answered with an error status (or a media endpoint answered 200 with a JSON `{"error"}`). */
export class CameraHttpError extends CameraError {
  readonly retryable: boolean;
  constructor(
    /** The HTTP status as received (200 for a media endpoint's JSON error body). */
    readonly status: number,
    /** The camera's own error text (`{"error": "..."}` or the plain body), sanitised; '' when none. */
    readonly cameraMessage: string,
    details: CameraErrorDetails = {},
    variant: { key?: string; message?: string; params?: Readonly<Record<string, string | number>> } = {},
  ) {
    super(
      variant.key ?? 'errors.cameraHttp',
      variant.message ??
        `Camera answered ${status}${details.method ? ` to ${details.method} ${details.path ?? ''}` : ''}` +
          (cameraMessage ? `: ${cameraMessage}` : ''),
      details,
      { status, cameraMessage, ...variant.params },
    );
    this.retryable = isRetryableStatus(status);
  }
}

/** The camera refused the credentials (401 after authenticating) or the account lacks the right (403). */
export class CameraAuthError extends CameraHttpError {
  override readonly retryable = false;
  constructor(status: number, cameraMessage: string, details: CameraErrorDetails = {}) {
    super(status, cameraMessage, details, {
      key: 'errors.auth',
      message: `Camera refused the credentials (${status})` + (cameraMessage ? `: ${cameraMessage}` : ''),
    });
  }
}

/** An [A] route answered 404: this camera does not have the feature. */
export class UnsupportedError extends CameraHttpError {
  override readonly retryable = false;
  constructor(
    /** The feature (route key) that is missing. */
    readonly feature: string,
    details: CameraErrorDetails = {},
  ) {
    super(404, '', details, {
      key: 'errors.unsupported',
      message: `The camera does not support ${feature} (${details.method ?? 'GET'} ${details.path ?? ''} answered 404)`,
      params: { feature },
    });
  }
}

/** The camera could not be reached, or the connection broke: refused, unreachable, reset, cut. */
export class CameraOfflineError extends CameraError {
  readonly retryable = true;
  constructor(
    /** The low-level code (`ECONNREFUSED`, `UND_ERR_SOCKET`, ...) when known. */
    readonly code: string,
    details: CameraErrorDetails = {},
  ) {
    super('errors.cameraOffline', `Camera unreachable or connection lost (${code})`, details, { code });
  }
}

/** The camera did not answer in time (connect, headers, an idle body, or the call's total budget). */
export class CameraTimeoutError extends CameraError {
  readonly retryable = true;
  constructor(
    readonly phase: 'connect' | 'headers' | 'body' | 'total' | 'heartbeat',
    readonly timeoutMs: number,
    details: CameraErrorDetails = {},
  ) {
    super('errors.cameraTimeout', `Camera did not answer in time (${phase}, ${timeoutMs} ms)`, details, {
      phase,
      timeoutMs,
    });
  }
}

/** The TLS handshake failed (unknown CA, wrong host name, expired certificate): a setting must change. */
export class CameraTlsError extends CameraError {
  readonly retryable = false;
  constructor(
    readonly code: string,
    details: CameraErrorDetails = {},
  ) {
    super('errors.tls', `TLS connection to the camera refused (${code})`, details, { code });
  }
}

/** The camera's answer was not what the contract describes: broken JSON, a wrong shape, a missing header. */
export class BadResponseError extends CameraError {
  readonly retryable: boolean;
  constructor(reason: string, details: CameraErrorDetails & { retryable?: boolean } = {}) {
    super('errors.badResponse', `Unexpected answer from the camera: ${reason}`, details, { reason });
    this.retryable = details.retryable ?? false;
  }
}

/** A download's length or checksum does not match. The partial file is removed. */
export class IntegrityError extends CameraError {
  readonly retryable = false;
  constructor(reason: string, details: CameraErrorDetails = {}) {
    super('errors.integrity', `Download failed its integrity check: ${reason}`, details, { reason });
  }
}

/** A buffered download exceeded its byte limit. */
export class TooLargeError extends CameraError {
  readonly retryable = false;
  constructor(
    readonly limit: number,
    details: CameraErrorDetails = {},
  ) {
    super('errors.tooLarge', `Camera answer exceeds ${limit} bytes`, details, { limit });
  }
}

/** The caller aborted the call, or the client was closed. */
export class CameraAbortedError extends CameraError {
  readonly retryable = false;
  constructor(details: CameraErrorDetails = {}, closed = false) {
    super(
      closed ? 'errors.clientClosed' : 'errors.aborted',
      closed ? 'Camera client closed' : 'Camera call aborted',
      details,
    );
  }
}

/** A value handed to the client is unusable (e.g. an unsafe file name). Never retried. */
export class CameraInputError extends CameraError {
  readonly retryable = false;
  constructor(
    message: string,
    key = 'errors.badInput',
    params: Readonly<Record<string, string | number>> = {},
  ) {
    super(key, message, {}, params);
  }
}

/** 5xx, 408 and 429 may succeed on a later attempt; other statuses never do. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Every i18n key the camera client raises (the shared catalog needs an English text for each). */
export const CAMERA_ERROR_KEYS = [
  'errors.cameraHttp',
  'errors.auth',
  'errors.unsupported',
  'errors.cameraOffline',
  'errors.cameraTimeout',
  'errors.tls',
  'errors.badResponse',
  'errors.integrity',
  'errors.tooLarge',
  'errors.aborted',
  'errors.clientClosed',
  'errors.badInput',
  'errors.unsafeFileName',
  'errors.downloadInProgress',
  'errors.clientOptions',
] as const;
