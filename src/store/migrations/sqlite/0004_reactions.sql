-- Reactions: one row per (message, reaction, user). A message's reactions go
-- with its tombstone; a user's with their erasure.
CREATE TABLE reactions (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  seq             INTEGER NOT NULL,
  reaction        TEXT NOT NULL,
  user_id         INTEGER NOT NULL REFERENCES users(id),
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq, reaction, user_id)
) WITHOUT ROWID;
-- One user's reactions on one message (the per-user cap), and erasure.
CREATE INDEX reactions_by_user ON reactions(user_id, conversation_id, seq);
