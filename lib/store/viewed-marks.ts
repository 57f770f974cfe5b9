/**
 * "Viewed" marks (owner of `viewed_marks`): which user (or API token) has seen which recording. "Viewed" is per
 * user: one operator opening a clip leaves it unviewed for the others. A mark goes with its recording (foreign
 * key, ON DELETE CASCADE) and with its user (`forgetViewer`, called when a user or token is deleted; their ids are
 * never reused, so a mark left behind by a database kept elsewhere can never be read as another user's).
 *
 * The other modules use the SQL fragments below to filter and select by mark; only this module writes the table.
 */
import type { Principal } from '../auth/permissions';
import type { Database, SqlValue } from './database';

/** Whose marks: a dashboard user or an API token (ids of different tables). */
export interface Viewer {
  readonly kind: 'user' | 'token';
  readonly id: number;
}

/** The viewer of a principal. */
export function viewerOf(principal: Pick<Principal, 'kind' | 'id'>): Viewer {
  return { kind: principal.kind, id: principal.id };
}

/** The table (store schema v4). */
export const VIEWED_MARKS_SQL = `
CREATE TABLE viewed_marks (
  viewer_kind TEXT NOT NULL CHECK (viewer_kind IN ('user', 'token')),
  viewer_id   INTEGER NOT NULL,
  event_id    INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  viewed_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (viewer_kind, viewer_id, event_id)
) WITHOUT ROWID;
CREATE INDEX viewed_marks_event ON viewed_marks (event_id);
`;

export interface SqlFragment {
  sql: string;
  params: SqlValue[];
}

/**
 * An SQL expression (0 or 1) over the events alias `e`: viewed by this viewer, or, without one, by anyone
 * (what a flow's query means by "viewed").
 */
export function viewedExpression(viewer?: Viewer): SqlFragment {
  if (!viewer) return { sql: 'EXISTS (SELECT 1 FROM viewed_marks m WHERE m.event_id = e.id)', params: [] };
  return {
    sql: 'EXISTS (SELECT 1 FROM viewed_marks m WHERE m.event_id = e.id AND m.viewer_kind = ? AND m.viewer_id = ?)',
    params: [viewer.kind, viewer.id],
  };
}

/** Marks a recording viewed (or not) for one viewer. */
export async function setViewed(
  db: Database,
  viewer: Viewer,
  eventId: number,
  viewed: boolean,
): Promise<void> {
  if (viewed)
    await db.run('INSERT OR IGNORE INTO viewed_marks (viewer_kind, viewer_id, event_id) VALUES (?, ?, ?)', [
      viewer.kind,
      viewer.id,
      eventId,
    ]);
  else
    await db.run('DELETE FROM viewed_marks WHERE viewer_kind = ? AND viewer_id = ? AND event_id = ?', [
      viewer.kind,
      viewer.id,
      eventId,
    ]);
}

/** Whether this viewer has marked the recording viewed. */
export async function isViewed(db: Database, viewer: Viewer, eventId: number): Promise<boolean> {
  const row = await db.get<{ n: number }>(
    'SELECT count(*) AS n FROM viewed_marks WHERE viewer_kind = ? AND viewer_id = ? AND event_id = ?',
    [viewer.kind, viewer.id, eventId],
  );
  return (row?.n ?? 0) > 0;
}

/**
 * Deletes every mark of a viewer (a user or token deleted). Resolves with the count; 0 when this database holds
 * no marks table (the archive keeps its index in another file).
 */
export async function forgetViewer(db: Database, viewer: Viewer): Promise<number> {
  const table = await db.get<{ n: number }>(
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'viewed_marks'",
  );
  if (!table?.n) return 0;
  const r = await db.run('DELETE FROM viewed_marks WHERE viewer_kind = ? AND viewer_id = ?', [
    viewer.kind,
    viewer.id,
  ]);
  return r.changes;
}
