-- Reactions (PostgreSQL dialect of sqlite/0004_reactions.sql).
CREATE TABLE reactions (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  seq             BIGINT NOT NULL,
  reaction        TEXT NOT NULL,
  user_id         BIGINT NOT NULL REFERENCES users(id),
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, seq, reaction, user_id)
);
CREATE INDEX reactions_by_user ON reactions(user_id, conversation_id, seq);
