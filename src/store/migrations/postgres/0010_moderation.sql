-- Moderation (PostgreSQL dialect of sqlite/0010_moderation.sql).
ALTER TABLE members ADD COLUMN muted_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN last_sent_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN slow_mode_s BIGINT NOT NULL DEFAULT 0;
CREATE TABLE bans (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  user_id         BIGINT NOT NULL REFERENCES users(id),
  banned_by       BIGINT NOT NULL REFERENCES users(id),
  banned_at       BIGINT NOT NULL,
  reason          TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (conversation_id, user_id)
);
CREATE TABLE reports (
  id              BIGINT PRIMARY KEY,
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  seq             BIGINT NOT NULL,
  reporter_id     BIGINT NOT NULL REFERENCES users(id),
  reason          TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  resolved_by     BIGINT,
  resolved_at     BIGINT NOT NULL DEFAULT 0,
  resolution      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reports_open ON reports(resolved_at, id);
CREATE UNIQUE INDEX reports_once ON reports(conversation_id, seq, reporter_id) WHERE resolved_at = 0;
