/** The owner of the `event_tags` table: a recording's tags. */
import type { Transaction } from './database';
import { InputError } from '../errors';

/** Validates and normalises tags: trimmed, 1-64 characters, at most 32, no duplicates. */
export function normaliseTags(tags: unknown): string[] {
  if (!Array.isArray(tags))
    throw new InputError('tags must be an array of strings', { key: 'errors.badTags' });
  const out = new Set<string>();
  for (const t of tags) {
    if (typeof t !== 'string') throw new InputError('tags must be strings', { key: 'errors.badTags' });
    const tag = t.trim();
    if (tag.length === 0 || tag.length > 64) {
      throw new InputError('a tag must have 1 to 64 characters', { key: 'errors.badTags' });
    }
    out.add(tag);
  }
  if (out.size > 32) throw new InputError('at most 32 tags per recording', { key: 'errors.badTags' });
  return [...out].sort();
}

/** Replaces a recording's tags with `tags` (already normalised), inside the caller's transaction. */
export async function replaceTags(tx: Transaction, eventId: number, tags: readonly string[]): Promise<void> {
  await tx.run('DELETE FROM event_tags WHERE event_id = ?', [eventId]);
  for (const tag of tags)
    await tx.run('INSERT INTO event_tags (event_id, tag) VALUES (?, ?)', [eventId, tag]);
}
