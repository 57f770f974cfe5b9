/**
 * Liveness: `GET /pfcam/healthz` answers 200 `{"status":"pass"}` (application/health+json) as long as the
 * process serves HTTP. Cheap and without store or camera access, so a container health check or a load
 * balancer can call it often; it needs no session (it says nothing but "alive").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const LIVENESS_PATH = '/pfcam/healthz';
const BODY = JSON.stringify({ status: 'pass' });

export function liveness(_req: IncomingMessage, res: ServerResponse, _next?: (err?: unknown) => void): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/health+json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(BODY);
}
