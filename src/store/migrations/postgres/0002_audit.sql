-- The audit trail (PostgreSQL dialect of sqlite/0002_audit.sql).
CREATE TABLE audit_events (
  id        BIGINT PRIMARY KEY,
  at        BIGINT NOT NULL,
  actor_id  BIGINT,
  action    TEXT NOT NULL,
  target_id BIGINT,
  ip        TEXT NOT NULL DEFAULT '',
  detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor_id, id);
CREATE INDEX audit_events_target ON audit_events(target_id, id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);
-- A user's own messages, in order: data export and erasure.
CREATE INDEX messages_by_sender ON messages(sender_id, id);
