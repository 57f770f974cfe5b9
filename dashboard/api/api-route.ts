/**
 * The shape of one route of the dashboard's HTTP API (under `API_PREFIX`). Every route names the permission it
 * needs; the API server authenticates the request (session cookie or API token), checks the permission and,
 * for a route with `camera`, the principal's camera scope, checks CSRF on state-changing methods, and only then
 * calls the handler. A route with no entry here is not served; the role x action matrix test reads this list.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Permission, Principal } from '../../lib/auth/permissions';

export const API_PREFIX = '/pfcam/api';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler is given: the authenticated principal and the parsed request. */
export interface ApiRequest {
  readonly principal: Principal;
  /** Path parameters (`:name` segments), decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Query string values (the last one of a repeated key). */
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body (`undefined` without one). */
  readonly body: unknown;
  /** The client's address as the trusted proxy settings see it (audit, rate limits). */
  readonly ip: string;
  readonly raw: IncomingMessage;
}

/** A handler's answer: JSON (status 200 unless said), or a stream it wrote itself to `res`. */
export type ApiResult = { readonly status?: number; readonly json: unknown } | { readonly streamed: true };

export interface ApiRoute {
  readonly method: ApiMethod;
  /** Path below `API_PREFIX`, with `:name` parameters, e.g. `/recordings/:id/video`. */
  readonly path: string;
  readonly permission: Permission;
  /** For a camera-scoped route: the camera serial number the request concerns (checked against the scope). */
  readonly camera?: (req: ApiRequest) => string | undefined | Promise<string | undefined>;
  /** One line for the matrix test and the API reference. */
  readonly summary: string;
  /** True when an action is written to the audit log (every state change is). */
  readonly audit?: boolean;
  readonly handler: (req: ApiRequest, res: ServerResponse) => Promise<ApiResult>;
}
