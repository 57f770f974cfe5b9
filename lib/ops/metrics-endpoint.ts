/**
 * `GET /pfcam/metrics`: the Prometheus exposition, for a scraper sending `Authorization: Bearer TOKEN` where
 * TOKEN is the value of PFCAM_METRICS_TOKEN. Without that variable the endpoint does not exist (404): metrics
 * are opt-in. The token is compared in constant time (hashes of equal length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorText } from '../errors';
import type { Metrics } from '../metrics/metrics';

export const METRICS_PATH = '/pfcam/metrics';
export const METRICS_TOKEN_ENV = 'PFCAM_METRICS_TOKEN';
/** Shorter tokens are refused at start: a scraper's token must not be guessable. */
export const MIN_TOKEN_LENGTH = 16;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** True when `header` is `Bearer <token>` for exactly `token`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = match?.[1] ?? '';
  // Hashing first makes both sides the same length, so the comparison time does not reveal the token's length.
  return timingSafeEqual(digest(given), digest(token)) && match !== null;
}

type Handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

/**
 * The request handler for `token` (undefined or empty: metrics disabled, every request gets 404). Throws when
 * the token is set but shorter than MIN_TOKEN_LENGTH.
 */
export function metricsEndpoint(metrics: Metrics, token: string | undefined): Handler {
  if (token === undefined || token === '') {
    return (_req, res) => send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(`${METRICS_TOKEN_ENV} must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return (req, res) => {
    if (!bearerMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="pfcam metrics"');
      send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized\n');
      return;
    }
    metrics.scrape().then(
      (text) => send(res, 200, metrics.contentType, text),
      (err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${errorText(err)}\n`),
    );
  };
}
