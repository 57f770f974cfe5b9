/**
 * Who may do what: the one permission map of the application. The HTTP API routes, the dashboard action guard,
 * the live streams and the API tokens all ask this module; the role x action matrix test is generated from it.
 */

export const ROLES = ['admin', 'manager', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'events:view',
  'streams:view',
  'cameras:view',
  'events:download',
  'events:annotate',
  'settings:manage',
  'events:trigger',
  'events:delete',
  'users:manage',
  'system:manage',
  'health:read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The permission table of the security model: each role's permissions. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: ['events:view', 'streams:view', 'cameras:view'],
  manager: [
    'events:view',
    'streams:view',
    'cameras:view',
    'events:download',
    'events:annotate',
    'settings:manage',
    'events:trigger',
  ],
  admin: PERMISSIONS,
};

/**
 * The permissions an API token may carry (a token never manages users, tokens or the system). A token's scopes
 * are a subset; each is checked like a role's permission.
 */
export const TOKEN_SCOPES: readonly Permission[] = [
  'events:view',
  'streams:view',
  'cameras:view',
  'events:download',
  'events:annotate',
  'events:trigger',
  'health:read',
];

/** Someone the server has authenticated: a dashboard user (session) or an integrator's API token. */
export interface Principal {
  readonly kind: 'user' | 'token';
  /** The user's or token's id in the database. */
  readonly id: number;
  /** The user name, or the token's label: what the audit log records. */
  readonly name: string;
  /** A user's role; a token has none (its scopes say what it may do). */
  readonly role?: Role;
  /** A token's scopes. */
  readonly scopes?: readonly Permission[];
  /** Serial numbers of the cameras this principal may see; `null` = every camera. */
  readonly cameras: readonly string[] | null;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}

/** True when the role's row of the table holds the permission. */
export function roleHas(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** True when the principal holds the permission (a user through its role, a token through its scopes). */
export function principalHas(principal: Principal, permission: Permission): boolean {
  if (principal.kind === 'token') return (principal.scopes ?? []).includes(permission);
  return principal.role !== undefined && roleHas(principal.role, permission);
}

/** True when the camera (serial number) is inside the principal's camera scope. */
export function inCameraScope(principal: Principal, serialNumber: string): boolean {
  return principal.cameras === null || principal.cameras.includes(serialNumber);
}

/** The permission check every route, action and stream makes: the permission, and the camera scope if any. */
export function isAllowed(principal: Principal, permission: Permission, serialNumber?: string): boolean {
  return (
    principalHas(principal, permission) &&
    (serialNumber === undefined || inCameraScope(principal, serialNumber))
  );
}
