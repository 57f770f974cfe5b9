/** The owner of the `audit` table: who did what to what, appended, never changed. */
import type { Transaction } from './database';
import { parseJsonObject, truncate, type AuditRecord } from './records';

/** One entry to append. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target?: string | null;
  details?: Readonly<Record<string, unknown>> | null;
}

/** Appends an entry (alone, or inside the caller's transaction). Actor and action are cut at 200 characters. */
export async function appendAudit(sql: Transaction, entry: AuditEntry): Promise<void> {
  await sql.run('INSERT INTO audit (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)', [
    entry.at,
    truncate(entry.actor, 200),
    truncate(entry.action, 200),
    entry.target ?? null,
    entry.details ? JSON.stringify(entry.details) : null,
  ]);
}

/** The newest entries first, before `beforeId` when given. */
export async function listAudit(
  sql: Transaction,
  options: { limit?: number; beforeId?: number } = {},
): Promise<AuditRecord[]> {
  const rows = await sql.all<{
    id: number;
    at: string;
    actor: string;
    action: string;
    target: string | null;
    details: string | null;
  }>('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?', [
    options.beforeId ?? Number.MAX_SAFE_INTEGER,
    Math.max(1, Math.min(options.limit ?? 100, 10_000)),
  ]);
  return rows.map((r) => ({ ...r, details: parseJsonObject(r.details) }));
}
