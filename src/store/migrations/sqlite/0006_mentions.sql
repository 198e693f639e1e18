-- Mentions: a message names the members it mentions (messages.mentions:
-- "all", "here" and user ids, comma-separated) and one row per mentioned
-- member (user_id 0: all or here) counts each member's unread mentions.
-- members.notify: the member's notification level in the conversation.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
CREATE TABLE mentions (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  user_id         INTEGER NOT NULL,
  seq             INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, user_id, seq)
) WITHOUT ROWID;
ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT 'all'
  CHECK (notify IN ('all', 'mentions', 'none'));
