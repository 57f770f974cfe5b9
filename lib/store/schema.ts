/**
 * The event store's tables (namespace `store`), as versioned migrations. Append new versions; never edit an
 * applied one.
 *
 * Times are ISO-8601 UTC strings of one fixed width (`YYYY-MM-DDTHH:MM:SS.sssZ`), so text order is time order
 * and indexes on them serve range queries.
 */
import type { Migration } from './database';
import { VIEWED_MARKS_SQL } from './viewed-marks';

export const STORE_NAMESPACE = 'store';

const NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))";

const v1 = `
CREATE TABLE cameras (
  id            INTEGER PRIMARY KEY,
  serial_number TEXT NOT NULL UNIQUE,
  name          TEXT,
  base_url      TEXT,
  timezone      TEXT,
  info          TEXT,                                   -- JSON: the last SystemInfo seen (no secrets)
  first_seen    TEXT NOT NULL DEFAULT ${NOW},
  last_seen     TEXT NOT NULL DEFAULT ${NOW},
  event_count   INTEGER NOT NULL DEFAULT 0,             -- kept by triggers: live (not retired) events
  stored_bytes  INTEGER NOT NULL DEFAULT 0              -- kept by triggers: video + thumbnail bytes of live events
);

CREATE TABLE events (
  id                   INTEGER PRIMARY KEY,
  camera_id            INTEGER NOT NULL REFERENCES cameras(id),
  file_name            TEXT NOT NULL,
  event_name           TEXT,
  triggered_at         TEXT NOT NULL,                   -- as the camera gave it
  triggered_at_utc     TEXT NOT NULL,                   -- normalised
  playback_time        INTEGER,
  vid_ext              TEXT NOT NULL,
  thmb_ext             TEXT NOT NULL,
  dir                  TEXT,
  state                TEXT NOT NULL DEFAULT 'new'
                       CHECK (state IN ('new', 'fetching', 'stored', 'failed', 'gone')),
  attempts             INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT,
  discovered_at        TEXT NOT NULL DEFAULT ${NOW},
  fetch_started_at     TEXT,
  stored_at            TEXT,
  video_path           TEXT,                            -- relative to the media folder
  video_size           INTEGER,
  video_sha256         TEXT,
  thumb_path           TEXT,
  thumb_size           INTEGER,
  thumb_sha256         TEXT,
  backup_state         TEXT NOT NULL DEFAULT 'none'
                       CHECK (backup_state IN ('none', 'pending', 'done', 'failed')),
  backed_up_at         TEXT,
  deleted_on_camera_at TEXT,
  retired_at           TEXT,                            -- files removed by retention; the row stays as the cursor
  flagged              INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
  viewed               INTEGER NOT NULL DEFAULT 0 CHECK (viewed IN (0, 1)),
  metadata             TEXT,                            -- JSON object
  created_at           TEXT NOT NULL DEFAULT ${NOW},
  UNIQUE (camera_id, file_name)
);

-- last N of a camera, a camera's time range
CREATE INDEX events_camera_time ON events (camera_id, triggered_at_utc, id);
-- time range over all cameras, keyset pagination by time
CREATE INDEX events_time ON events (triggered_at_utc, id);
-- exact name (case-insensitive), named / unnamed
CREATE INDEX events_name ON events (event_name COLLATE NOCASE, triggered_at_utc);
-- work queues: only the few rows that are not done are indexed
CREATE INDEX events_pending ON events (state, id) WHERE state IN ('new', 'fetching', 'failed');
CREATE INDEX events_backup ON events (backup_state, id) WHERE backup_state IN ('pending', 'failed');
CREATE INDEX events_flagged ON events (triggered_at_utc, id) WHERE flagged = 1;
CREATE INDEX events_unviewed ON events (triggered_at_utc, id) WHERE viewed = 0;
-- sort by size (the expression must match query.ts)
CREATE INDEX events_size ON events (ifnull(video_size, -1), id);

-- substring search on event names (trigram: any 3+ character substring, case-insensitive)
CREATE VIRTUAL TABLE events_name_fts USING fts5 (
  event_name, content = 'events', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER events_ai AFTER INSERT ON events BEGIN
  INSERT INTO events_name_fts (rowid, event_name) VALUES (new.id, new.event_name);
  UPDATE cameras SET
    event_count = event_count + (new.retired_at IS NULL),
    stored_bytes = stored_bytes + (new.retired_at IS NULL) * (coalesce(new.video_size, 0) + coalesce(new.thumb_size, 0))
  WHERE id = new.camera_id;
END;

CREATE TRIGGER events_ad AFTER DELETE ON events BEGIN
  INSERT INTO events_name_fts (events_name_fts, rowid, event_name) VALUES ('delete', old.id, old.event_name);
  UPDATE cameras SET
    event_count = event_count - (old.retired_at IS NULL),
    stored_bytes = stored_bytes - (old.retired_at IS NULL) * (coalesce(old.video_size, 0) + coalesce(old.thumb_size, 0))
  WHERE id = old.camera_id;
END;

CREATE TRIGGER events_au_name AFTER UPDATE OF event_name ON events BEGIN
  INSERT INTO events_name_fts (events_name_fts, rowid, event_name) VALUES ('delete', old.id, old.event_name);
  INSERT INTO events_name_fts (rowid, event_name) VALUES (new.id, new.event_name);
END;

CREATE TRIGGER events_au_size AFTER UPDATE OF video_size, thumb_size, retired_at ON events BEGIN
  UPDATE cameras SET
    event_count = event_count - (old.retired_at IS NULL) + (new.retired_at IS NULL),
    stored_bytes = stored_bytes
      - (old.retired_at IS NULL) * (coalesce(old.video_size, 0) + coalesce(old.thumb_size, 0))
      + (new.retired_at IS NULL) * (coalesce(new.video_size, 0) + coalesce(new.thumb_size, 0))
  WHERE id = new.camera_id;
END;

CREATE TABLE event_tags (
  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  tag      TEXT NOT NULL,
  PRIMARY KEY (event_id, tag)
) WITHOUT ROWID;
CREATE INDEX event_tags_tag ON event_tags (tag, event_id);

CREATE TABLE backup_outbox (
  id              INTEGER PRIMARY KEY,
  event_id        INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  kind            TEXT NOT NULL CHECK (kind IN ('video', 'thumbnail', 'manifest')),
  key             TEXT NOT NULL,                        -- object key in the bucket
  path            TEXT,                                 -- local file, relative to the media folder (none: manifest)
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL DEFAULT ${NOW},     -- pending: when due; inflight: when the claim lapses
  last_error      TEXT,
  etag            TEXT,
  size            INTEGER,
  created_at      TEXT NOT NULL DEFAULT ${NOW},
  done_at         TEXT,
  UNIQUE (event_id, kind)
);
CREATE INDEX backup_outbox_due ON backup_outbox (next_attempt_at, id) WHERE state IN ('pending', 'inflight');
CREATE INDEX backup_outbox_event ON backup_outbox (event_id);

CREATE TABLE audit (
  id      INTEGER PRIMARY KEY,
  at      TEXT NOT NULL DEFAULT ${NOW},
  actor   TEXT NOT NULL,
  action  TEXT NOT NULL,
  target  TEXT,
  details TEXT                                          -- JSON
);
CREATE INDEX audit_at ON audit (at);
`;

// The video and the thumbnail of a recording have their own state: a thumbnail failing never costs the
// video. Failed fetches and thumbnails are retried at a time kept in the row (growing delay, capped).
const v2 = `
ALTER TABLE events ADD COLUMN next_attempt_at TEXT;         -- failed: when the next fetch is due
ALTER TABLE events ADD COLUMN thumb_state TEXT NOT NULL DEFAULT 'none'; -- none, pending, stored, missing, failed
ALTER TABLE events ADD COLUMN thumb_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN thumb_next_attempt_at TEXT;   -- thumb_state pending: when the next try is due
UPDATE events SET thumb_state = 'stored' WHERE thumb_sha256 IS NOT NULL;
CREATE INDEX events_thumb_due ON events (thumb_next_attempt_at, id) WHERE thumb_state = 'pending';
`;

// A recording the archive stored is to be announced to the flow (the alert path): set in the same statement
// that marks it stored, cleared once the announcement was handed over; replayed at start when still set.
const v3 = `
ALTER TABLE events ADD COLUMN announce_pending INTEGER NOT NULL DEFAULT 0 CHECK (announce_pending IN (0, 1));
CREATE INDEX events_announce ON events (id) WHERE announce_pending = 1;
`;

// "Viewed" is per user: marks in their own table (lib/store/viewed-marks.ts). The old one-for-all column
// events.viewed is no longer read or written (a mark made before cannot be given to a user).
const v4 = `
${VIEWED_MARKS_SQL}
DROP INDEX events_unviewed;
`;

export const STORE_MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'cameras, events, tags, backup outbox, audit', up: v1 },
  { version: 2, description: 'thumbnail state and per-row retry times', up: v2 },
  { version: 3, description: 'announcements of stored recordings not handed over yet', up: v3 },
  { version: 4, description: 'per-user viewed marks', up: v4 },
];
