/**
 * The Alerts screen's data: recent notifications with the delivery state of each channel, and the signed-in
 * user's own alert preferences over the recipients table (lib/notify/recipients owns it; this module calls it).
 *
 * The notification and outbox tables belong to lib/notify; this module only reads them, with one fixed query,
 * and shows no payloads (which may carry addresses): kind, camera, time and per-channel state.
 */
import type { Principal } from '../auth/permissions';
import type { Database } from '../store/database';
import { NOTIFICATION_KINDS } from '../notify/notification';
import { RecipientStore, type Recipient, type RecipientChannel } from '../notify/recipients';
import { badRequest } from './dashboard-errors';

export interface AlertView {
  id: string;
  kind: string;
  camera: string | null;
  state: string;
  createdAt: string;
  /** Per channel: how many deliveries are in each state. */
  deliveries: Record<string, Record<string, number>>;
}

interface AlertRow {
  id: string;
  kind: string;
  camera: string | null;
  state: string;
  created_at: number;
  channel: string | null;
  dstate: string | null;
  n: number | null;
}

async function hasTable(db: Database, name: string): Promise<boolean> {
  const row = await db.get<{ n: number }>(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
    [name],
  );
  return (row?.n ?? 0) > 0;
}

/** The newest notifications (default 50) of the cameras the principal may see, with their delivery states. */
export async function recentAlerts(db: Database, principal: Principal, limit = 50): Promise<AlertView[]> {
  if (!(await hasTable(db, 'notify_notifications'))) return [];
  const rows = await db.all<AlertRow>(
    `SELECT n.id, n.kind, n.camera, n.state, n.created_at, o.channel, o.state AS dstate, count(o.id) AS n
     FROM (SELECT * FROM notify_notifications ORDER BY created_at DESC LIMIT ?) n
     LEFT JOIN notify_outbox o ON o.owner = n.owner AND o.notification_id = n.id
     GROUP BY n.owner, n.id, o.channel, o.state ORDER BY n.created_at DESC, n.id`,
    [Math.min(Math.max(limit, 1), 200) * 4],
  );
  const out = new Map<string, AlertView>();
  for (const r of rows) {
    if (r.camera !== null && principal.cameras !== null && !principal.cameras.includes(r.camera)) continue;
    let view = out.get(r.id);
    if (!view) {
      view = {
        id: r.id,
        kind: r.kind,
        camera: r.camera,
        state: r.state,
        createdAt: new Date(r.created_at).toISOString(),
        deliveries: {},
      };
      out.set(r.id, view);
    }
    if (r.channel && r.dstate) {
      const ch = (view.deliveries[r.channel] ??= {});
      ch[r.dstate] = (ch[r.dstate] ?? 0) + (r.n ?? 0);
    }
  }
  return [...out.values()].slice(0, limit);
}

/** What a user may set of their own alert preferences (no email address: an admin sets it). */
export interface Preferences {
  kinds: string[] | null;
  cameras: string[] | null;
  channels: RecipientChannel[];
  quietHours: { start: string; end: string } | null;
  enabled: boolean;
}

/** The recipient id of a dashboard user's own preferences. */
export function userRecipientId(principal: Principal): string {
  return `user-${principal.id}`;
}

function toPreferences(r: Recipient | undefined): Preferences {
  return {
    kinds: r?.kinds ?? null,
    cameras: r?.cameras ?? null,
    channels: r?.channels ?? ['dashboard'],
    quietHours: r?.quietHours ?? null,
    enabled: r?.enabled ?? false,
  };
}

export async function preferencesOf(db: Database, principal: Principal): Promise<Preferences> {
  const recipients = new RecipientStore(db);
  return toPreferences(await recipients.get(userRecipientId(principal)));
}

/**
 * Saves the user's own preferences (validated by the recipients module); cameras outside the user's scope are
 * refused. The email address, if an admin set one, is kept.
 */
export async function savePreferences(
  db: Database,
  principal: Principal,
  body: unknown,
): Promise<Preferences> {
  if (principal.kind !== 'user') throw badRequest('only a signed-in user has alert preferences');
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be an object');
  const b = body as Partial<Preferences>;
  if (Array.isArray(b.kinds)) {
    for (const k of b.kinds)
      if (!(NOTIFICATION_KINDS as readonly string[]).includes(k))
        throw badRequest(`unknown kind "${String(k)}"`);
  }
  if (Array.isArray(b.cameras) && principal.cameras !== null) {
    for (const c of b.cameras)
      if (!principal.cameras.includes(c)) throw badRequest(`camera "${String(c)}" is not one of yours`);
  }
  const recipients = new RecipientStore(db);
  const id = userRecipientId(principal);
  const existing = await recipients.get(id);
  try {
    const saved = await recipients.save({
      id,
      name: principal.name,
      email: existing?.email ?? null,
      userId: String(principal.id),
      kinds: (b.kinds ?? null) as Recipient['kinds'],
      cameras: b.cameras ?? (principal.cameras ? [...principal.cameras] : null),
      channels: b.channels ?? ['dashboard'],
      quietHours: b.quietHours ?? null,
      enabled: b.enabled ?? true,
    });
    return toPreferences(saved);
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : 'bad preferences');
  }
}
