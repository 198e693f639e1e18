-- Moderation: mutes (members.muted_until), the time of a member's last
-- message where slow mode needs it, slow mode per conversation, bans, and
-- reports of messages for the server's admins.
ALTER TABLE members ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN last_sent_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN slow_mode_s INTEGER NOT NULL DEFAULT 0;
CREATE TABLE bans (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  user_id         INTEGER NOT NULL REFERENCES users(id),
  banned_by       INTEGER NOT NULL REFERENCES users(id),
  banned_at       INTEGER NOT NULL,
  reason          TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE TABLE reports (
  id              INTEGER PRIMARY KEY,
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  seq             INTEGER NOT NULL,
  reporter_id     INTEGER NOT NULL REFERENCES users(id),
  reason          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  resolved_by     INTEGER,
  resolved_at     INTEGER NOT NULL DEFAULT 0,
  resolution      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reports_open ON reports(resolved_at, id);
CREATE UNIQUE INDEX reports_once ON reports(conversation_id, seq, reporter_id) WHERE resolved_at = 0;
