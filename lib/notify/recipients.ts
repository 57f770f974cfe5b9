/**
 * Who hears about what: the recipients table (managed later by the dashboard's user administration), the
 * fixed recipients of a node, the recipients a message carries, and the rules that pick, per notification,
 * who is told on which channel (kinds, cameras, channels, quiet hours in the site's time zone).
 */
import { randomUUID } from 'node:crypto';
import { InputError } from '../errors';
import type { Database } from '../store/database';
import {
  isEmailAddress,
  NOTIFICATION_KINDS,
  type MessageRecipient,
  type Notification,
  type NotificationKind,
} from './notification';
import { migrateNotify } from './schema';

export const RECIPIENT_CHANNELS = ['email', 'dashboard'] as const;
export type RecipientChannel = (typeof RECIPIENT_CHANNELS)[number];

/** Quiet hours, wall-clock `HH:MM` in the site's time zone; `start > end` spans midnight. */
export interface QuietHours {
  start: string;
  end: string;
}

export interface Recipient {
  id: string;
  name: string;
  /** Needed for the email channel. */
  email: string | null;
  /** The dashboard account this recipient belongs to, if any (the dashboard channel addresses it). */
  userId: string | null;
  /** Kinds this recipient wants; null: all. */
  kinds: NotificationKind[] | null;
  /** Camera serial numbers this recipient wants; null: all. Site-wide notifications always pass. */
  cameras: string[] | null;
  channels: RecipientChannel[];
  quietHours: QuietHours | null;
  enabled: boolean;
}

/** What a caller gives to create or change a recipient (id optional: a new one is generated). */
export type RecipientInput = Partial<Recipient> & { name: string };

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function listOf<T extends string>(v: unknown, allowed: readonly T[] | null, what: string): T[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new InputError(`${what} must be a list or null (all)`);
  for (const item of v) {
    if (typeof item !== 'string' || item === '') throw new InputError(`${what} must hold non-empty strings`);
    if (allowed && !allowed.includes(item as T)) {
      throw new InputError(`${what}: "${item}" is not one of ${allowed.join(', ')}`);
    }
  }
  return [...new Set(v as T[])];
}

/** Validates and normalises a recipient (throws InputError naming the bad field). */
export function validateRecipient(input: RecipientInput): Recipient {
  if (typeof input.name !== 'string' || input.name.trim() === '')
    throw new InputError('recipient name is required');
  const email = input.email === undefined || input.email === null || input.email === '' ? null : input.email;
  if (email !== null && (typeof email !== 'string' || !isEmailAddress(email))) {
    throw new InputError(`recipient email "${String(email)}" is not an email address`);
  }
  const channels = listOf(input.channels ?? ['email'], RECIPIENT_CHANNELS, 'recipient channels') ?? ['email'];
  if (channels.includes('email') && email === null) {
    throw new InputError('recipient has the email channel but no email address');
  }
  let quietHours: QuietHours | null = null;
  if (input.quietHours) {
    const { start, end } = input.quietHours;
    if (!HHMM.test(start) || !HHMM.test(end)) throw new InputError('quiet hours must be HH:MM (24 h)');
    if (start === end) throw new InputError('quiet hours start and end must differ');
    quietHours = { start, end };
  }
  return {
    id: input.id && input.id !== '' ? input.id : randomUUID(),
    name: input.name.trim(),
    email,
    userId: input.userId ?? null,
    kinds: listOf(input.kinds, NOTIFICATION_KINDS, 'recipient kinds'),
    cameras: listOf(input.cameras, null, 'recipient cameras'),
    channels,
    quietHours,
    enabled: input.enabled ?? true,
  };
}

/** Whether a wall-clock instant falls in the quiet hours, read in `timeZone`. */
export function inQuietHours(quiet: QuietHours | null, atMs: number, timeZone: string): boolean {
  if (!quiet) return false;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(atMs));
  const hh = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const mm = parts.find((p) => p.type === 'minute')?.value ?? '00';
  const now = `${hh}:${mm}`;
  return quiet.start < quiet.end
    ? now >= quiet.start && now < quiet.end
    : now >= quiet.start || now < quiet.end;
}

/** Whether `r` wants `n` at all (enabled, kind, camera), whatever the channel. */
export function wants(r: Recipient, n: Notification): boolean {
  if (!r.enabled) return false;
  if (r.kinds && !r.kinds.includes(n.kind)) return false;
  if (r.cameras && n.camera && !r.cameras.includes(n.camera.serialNumber)) return false;
  return true;
}

/** One address to email, and whether quiet hours hold it back. */
export interface EmailTarget {
  email: string;
  name?: string;
  /** Set when the recipient is in quiet hours: the delivery is recorded as suppressed, not sent. */
  quiet: boolean;
}

/**
 * The email targets of a notification: the node's fixed recipients and the message's recipients (always,
 * no quiet hours), plus the table's recipients who want it on the email channel. Deduplicated by address
 * (case-insensitive), the first occurrence wins, except that a table recipient's quiet hours never silence an
 * address the node or the message names explicitly.
 */
export function emailTargets(
  n: Notification,
  fixed: readonly MessageRecipient[],
  fromMessage: readonly MessageRecipient[],
  table: readonly Recipient[],
  atMs: number,
  timeZone: string,
): EmailTarget[] {
  const out = new Map<string, EmailTarget>();
  for (const r of [...fixed, ...fromMessage]) {
    const key = r.email.toLowerCase();
    if (!out.has(key))
      out.set(
        key,
        r.name ? { email: r.email, name: r.name, quiet: false } : { email: r.email, quiet: false },
      );
  }
  for (const r of table) {
    if (!r.email || !r.channels.includes('email') || !wants(r, n)) continue;
    const key = r.email.toLowerCase();
    if (out.has(key)) continue;
    out.set(key, { email: r.email, name: r.name, quiet: inQuietHours(r.quietHours, atMs, timeZone) });
  }
  return [...out.values()];
}

/** Dashboard user ids of the table's recipients who want `n` on the dashboard and are not in quiet hours. */
export function dashboardUsers(
  n: Notification,
  table: readonly Recipient[],
  atMs: number,
  timeZone: string,
): string[] {
  const users = new Set<string>();
  for (const r of table) {
    if (!r.userId || !r.channels.includes('dashboard') || !wants(r, n)) continue;
    if (inQuietHours(r.quietHours, atMs, timeZone)) continue;
    users.add(r.userId);
  }
  return [...users];
}

interface RecipientRow {
  id: string;
  name: string;
  email: string | null;
  user_id: string | null;
  kinds: string | null;
  cameras: string | null;
  channels: string;
  quiet_start: string | null;
  quiet_end: string | null;
  enabled: number;
}

function parseList<T>(text: string | null): T[] | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as T[]) : null;
  } catch {
    return null;
  }
}

function fromRow(row: RecipientRow): Recipient {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    userId: row.user_id,
    kinds: parseList<NotificationKind>(row.kinds),
    cameras: parseList<string>(row.cameras),
    channels: parseList<RecipientChannel>(row.channels) ?? ['email'],
    quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end } : null,
    enabled: row.enabled !== 0,
  };
}

/** The recipients table. The dashboard's user administration uses it; notify nodes read it. */
export class RecipientStore {
  private migrated: Promise<void> | undefined;

  constructor(private readonly db: Database) {}

  private ready(): Promise<void> {
    this.migrated ??= migrateNotify(this.db);
    return this.migrated;
  }

  async list(): Promise<Recipient[]> {
    await this.ready();
    const rows = await this.db.all<RecipientRow>('SELECT * FROM notify_recipients ORDER BY name, id');
    return rows.map(fromRow);
  }

  async get(id: string): Promise<Recipient | undefined> {
    await this.ready();
    const row = await this.db.get<RecipientRow>('SELECT * FROM notify_recipients WHERE id = ?', [id]);
    return row ? fromRow(row) : undefined;
  }

  /** The recipients of one dashboard account. */
  async forUser(userId: string): Promise<Recipient[]> {
    await this.ready();
    const rows = await this.db.all<RecipientRow>(
      'SELECT * FROM notify_recipients WHERE user_id = ? ORDER BY id',
      [userId],
    );
    return rows.map(fromRow);
  }

  /** Creates or replaces a recipient; returns it as stored. */
  async save(input: RecipientInput): Promise<Recipient> {
    await this.ready();
    const r = validateRecipient(input);
    await this.db.run(
      `INSERT INTO notify_recipients (id, name, email, user_id, kinds, cameras, channels, quiet_start, quiet_end, enabled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, user_id = excluded.user_id,
         kinds = excluded.kinds, cameras = excluded.cameras, channels = excluded.channels,
         quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, enabled = excluded.enabled,
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')`,
      [
        r.id,
        r.name,
        r.email,
        r.userId,
        r.kinds ? JSON.stringify(r.kinds) : null,
        r.cameras ? JSON.stringify(r.cameras) : null,
        JSON.stringify(r.channels),
        r.quietHours?.start ?? null,
        r.quietHours?.end ?? null,
        r.enabled ? 1 : 0,
      ],
    );
    return r;
  }

  /** Removes a recipient; true when it existed. */
  async remove(id: string): Promise<boolean> {
    await this.ready();
    const res = await this.db.run('DELETE FROM notify_recipients WHERE id = ?', [id]);
    return res.changes > 0;
  }
}
