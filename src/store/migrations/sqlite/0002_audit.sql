-- The audit trail: who did what to which account, from where. Written in the
-- transaction of the change it records; purged after audit.retention_days.
CREATE TABLE audit_events (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor_id  INTEGER,
  action    TEXT NOT NULL,
  target_id INTEGER,
  ip        TEXT NOT NULL DEFAULT '',
  detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_actor ON audit_events(actor_id, id);
CREATE INDEX audit_events_target ON audit_events(target_id, id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);
-- A user's own messages, in order: data export and erasure.
CREATE INDEX messages_by_sender ON messages(sender_id, id);
