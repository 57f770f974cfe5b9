import { PfcamError } from '../errors';

/**
 * A failure the dashboard's API answers with a given HTTP status and a short reason the page shows. `status`
 * is one of 400 (bad input), 404 (unknown, or outside the user's camera scope: not told apart on purpose),
 * 409 (conflict: the camera is busy), 503 (the store or the camera cannot answer now).
 */
export class DashboardError extends PfcamError {
  constructor(
    readonly status: 400 | 404 | 409 | 503,
    key: string,
    message: string,
    options?: { cause?: unknown; params?: Readonly<Record<string, string | number>> },
  ) {
    super(key, message, options);
  }
}

export function notFound(what: string): DashboardError {
  return new DashboardError(404, 'errors.notFound', `${what} not found`);
}

export function badRequest(message: string): DashboardError {
  return new DashboardError(400, 'errors.badInput', message);
}
