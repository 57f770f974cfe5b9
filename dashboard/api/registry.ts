/**
 * The process-wide list of dashboard API routes. Nodes register their `ApiRoute[]` when they start (and call the
 * returned function when they close); the API server serves every registered route, and the role x action matrix
 * test reads `listRoutes()`.
 */
import type { ApiMethod, ApiRoute } from './api-route';

export interface RegisteredRoute extends ApiRoute {
  readonly owner: string;
}

const KEY = Symbol.for('pfcam.dashboard.api.registry');
type Registry = Map<string, { owner: string; route: ApiRoute; token: symbol }>;
const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
const routes: Registry = (holder[KEY] ??= new Map() as Registry);

function routeKey(method: ApiMethod, path: string): string {
  return `${method} ${path.replace(/:[^/]+/g, ':')}`;
}

/**
 * Adds routes under `owner`. A route with the same method and path shape as one of another owner is refused (it
 * would be ambiguous); the same owner registering again replaces its route. Returns the unregister function.
 */
export function registerRoutes(owner: string, list: readonly ApiRoute[]): () => void {
  const token = Symbol(owner);
  for (const route of list) {
    if (!route.path.startsWith('/')) throw new Error(`API route path must start with /: ${route.path}`);
    const existing = routes.get(routeKey(route.method, route.path));
    if (existing && existing.owner !== owner)
      throw new Error(`API route ${route.method} ${route.path} is registered already by ${existing.owner}`);
  }
  for (const route of list) routes.set(routeKey(route.method, route.path), { owner, route, token });
  return () => {
    for (const [key, entry] of routes) if (entry.token === token) routes.delete(key);
  };
}

/** Every registered route, sorted by path then method. */
export function listRoutes(): RegisteredRoute[] {
  return [...routes.values()]
    .map(({ owner, route }) => ({ ...route, owner }))
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** The route matching a method and a path below API_PREFIX, with its decoded parameters. */
export function matchRoute(
  method: string,
  path: string,
): { route: RegisteredRoute; params: Record<string, string> } | 'method' | undefined {
  let pathMatched = false;
  for (const { owner, route } of routes.values()) {
    const params = matchPath(route.path, path);
    if (!params) continue;
    if (route.method !== method) {
      pathMatched = true;
      continue;
    }
    return { route: { ...route, owner }, params };
  }
  return pathMatched ? 'method' : undefined;
}

export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    const p = a[i] as string;
    const v = b[i] as string;
    if (p.startsWith(':')) {
      if (v === '') return undefined;
      try {
        params[p.slice(1)] = decodeURIComponent(v);
      } catch {
        return undefined;
      }
    } else if (p !== v) return undefined;
  }
  return params;
}
