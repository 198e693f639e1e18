-- Polls: a message with a question and options (messages.poll holds the
-- poll as it was sent, JSON, for clients rendering a replay), each member's
-- votes, and the poll's state (closed, options added later).
ALTER TABLE messages ADD COLUMN poll TEXT NOT NULL DEFAULT '';
CREATE TABLE polls (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  seq             INTEGER NOT NULL,
  question        TEXT NOT NULL,
  max_votes       INTEGER NOT NULL,
  anonymous       INTEGER NOT NULL DEFAULT 0,
  open_options    INTEGER NOT NULL DEFAULT 0,
  closes_at       INTEGER NOT NULL DEFAULT 0,
  closed_at       INTEGER NOT NULL DEFAULT 0,
  created_by      INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE TABLE poll_options (
  conversation_id INTEGER NOT NULL,
  seq             INTEGER NOT NULL,
  option_id       INTEGER NOT NULL,
  text            TEXT NOT NULL,
  added_by        INTEGER NOT NULL REFERENCES users(id),
  PRIMARY KEY (conversation_id, seq, option_id)
) WITHOUT ROWID;
CREATE TABLE poll_votes (
  conversation_id INTEGER NOT NULL,
  seq             INTEGER NOT NULL,
  user_id         INTEGER NOT NULL REFERENCES users(id),
  option_id       INTEGER NOT NULL,
  voted_at        INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq, user_id, option_id)
) WITHOUT ROWID;
CREATE INDEX poll_votes_by_user ON poll_votes(user_id);
