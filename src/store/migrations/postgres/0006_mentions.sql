-- Mentions (PostgreSQL dialect of sqlite/0006_mentions.sql).
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
CREATE TABLE mentions (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  user_id         BIGINT NOT NULL,
  seq             BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, user_id, seq)
);
ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'all'
  CHECK (notify IN ('all', 'mentions', 'none'));
