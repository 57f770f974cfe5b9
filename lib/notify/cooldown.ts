/**
 * Cooldown and grouping per (camera, kind): the first notification of a quiet period goes out at once and
 * opens a window; those that follow inside the window are counted, not sent; when the window ends, one
 * summary tells them all ("12 new recordings on Camera 2 between ... and ...") and a new window opens, so a
 * storm that goes on yields one message per window.
 *
 * The state is a table row per key, changed in the caller's transaction together with the outbox rows, so a
 * restart neither resends the first notification nor loses the group: an overdue window is summarised as
 * soon as the node is back.
 */
import {
  GROUP_SAMPLE_LIMIT,
  groupKeyOf,
  type GroupItem,
  type MessageRecipient,
  type Notification,
} from './notification';
import type { Sql } from './schema';

interface CooldownRow {
  key: string;
  window_start: number;
  window_end: number;
  pending: number;
  first_at: string | null;
  last_at: string | null;
  items: string;
  sample: string | null;
  recipients: string;
}

/** A group ready to be told: the summary notification and the message recipients gathered in the window. */
export interface DueGroup {
  key: string;
  summary: Notification;
  recipients: MessageRecipient[];
}

export type Admission =
  /** Send now; `overdue` is a previous window's group that must be told first (found late, e.g. after a restart). */
  | { send: true; overdue: DueGroup | null }
  /** Counted into the open window; told when it ends at `windowEnd` (ms). */
  | { send: false; windowEnd: number };

/** What a notification contributes to a group's listing. */
export function itemOf(n: Notification): GroupItem {
  switch (n.kind) {
    case 'recording':
      return { at: n.at, label: n.recording.eventName ?? n.recording.fileName };
    case 'camera-offline':
    case 'camera-online':
    case 'camera-rebooted':
      return { at: n.at, label: n.state };
    case 'storage-low':
      return { at: n.at, label: `${n.freeBytes} B free` };
    case 'backup-failing':
      return { at: n.at, label: n.lastError };
    case 'clock-drift':
      return { at: n.at, label: `${n.driftSeconds} s` };
  }
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function summaryOf(row: CooldownRow): DueGroup | null {
  const sample = parseJson<Notification | null>(row.sample, null);
  if (row.pending <= 0 || !sample || !row.first_at || !row.last_at) return null;
  const summary: Notification = {
    ...sample,
    id: `group:${row.key}:${row.window_start}`,
    at: row.last_at,
    group: {
      count: row.pending,
      firstAt: row.first_at,
      lastAt: row.last_at,
      items: parseJson<GroupItem[]>(row.items, []),
    },
  };
  return { key: row.key, summary, recipients: parseJson<MessageRecipient[]>(row.recipients, []) };
}

function mergeRecipients(a: MessageRecipient[], b: readonly MessageRecipient[]): MessageRecipient[] {
  const seen = new Set(a.map((r) => r.email.toLowerCase()));
  const out = [...a];
  for (const r of b) {
    if (!seen.has(r.email.toLowerCase())) {
      seen.add(r.email.toLowerCase());
      out.push(r);
    }
  }
  return out;
}

/**
 * Decides, inside the caller's transaction, whether `n` is sent now or grouped, and records it.
 * `windowMs <= 0` turns cooldown off (always send).
 */
export async function admit(
  sql: Sql,
  owner: string,
  n: Notification,
  recipients: readonly MessageRecipient[],
  nowMs: number,
  windowMs: number,
): Promise<Admission> {
  if (windowMs <= 0) return { send: true, overdue: null };
  const key = groupKeyOf(n);
  const row = await sql.get<CooldownRow>('SELECT * FROM notify_cooldown WHERE owner = ? AND key = ?', [
    owner,
    key,
  ]);
  if (row && nowMs < row.window_end) {
    const items = parseJson<GroupItem[]>(row.items, []);
    if (items.length < GROUP_SAMPLE_LIMIT) items.push(itemOf(n));
    await sql.run(
      `UPDATE notify_cooldown SET pending = pending + 1, first_at = COALESCE(first_at, ?), last_at = ?, items = ?,
         sample = ?, recipients = ? WHERE owner = ? AND key = ?`,
      [
        n.at,
        n.at,
        JSON.stringify(items),
        JSON.stringify(n),
        JSON.stringify(mergeRecipients(parseJson<MessageRecipient[]>(row.recipients, []), recipients)),
        owner,
        key,
      ],
    );
    return { send: false, windowEnd: row.window_end };
  }
  const overdue = row ? summaryOf(row) : null;
  await sql.run(
    `INSERT INTO notify_cooldown (owner, key, window_start, window_end, pending, first_at, last_at, items, sample, recipients)
     VALUES (?, ?, ?, ?, 0, NULL, NULL, '[]', NULL, '[]')
     ON CONFLICT (owner, key) DO UPDATE SET window_start = excluded.window_start, window_end = excluded.window_end,
       pending = 0, first_at = NULL, last_at = NULL, items = '[]', sample = NULL, recipients = '[]'`,
    [owner, key, nowMs, nowMs + windowMs],
  );
  return { send: true, overdue };
}

/**
 * Takes, inside the caller's transaction, the groups whose window has ended: each with something pending is
 * returned as a summary and its key gets a fresh, empty window (a storm that goes on stays grouped); windows
 * that ended with nothing pending are removed.
 */
export async function takeDue(sql: Sql, owner: string, nowMs: number, windowMs: number): Promise<DueGroup[]> {
  const rows = await sql.all<CooldownRow>(
    'SELECT * FROM notify_cooldown WHERE owner = ? AND window_end <= ? ORDER BY window_end',
    [owner, nowMs],
  );
  const due: DueGroup[] = [];
  for (const row of rows) {
    const group = summaryOf(row);
    if (group && windowMs > 0) {
      due.push(group);
      await sql.run(
        `UPDATE notify_cooldown SET window_start = ?, window_end = ?, pending = 0, first_at = NULL, last_at = NULL,
           items = '[]', sample = NULL, recipients = '[]' WHERE owner = ? AND key = ?`,
        [nowMs, nowMs + windowMs, owner, row.key],
      );
    } else if (group) {
      due.push(group);
      await sql.run('DELETE FROM notify_cooldown WHERE owner = ? AND key = ?', [owner, row.key]);
    } else {
      await sql.run('DELETE FROM notify_cooldown WHERE owner = ? AND key = ?', [owner, row.key]);
    }
  }
  return due;
}

/** When the next window with something pending ends (ms), or null. */
export async function nextDue(sql: Sql, owner: string): Promise<number | null> {
  const row = await sql.get<{ t: number | null }>(
    'SELECT MIN(window_end) AS t FROM notify_cooldown WHERE owner = ? AND pending > 0',
    [owner],
  );
  return row?.t ?? null;
}
