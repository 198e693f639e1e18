-- Polls (PostgreSQL dialect of sqlite/0008_polls.sql).
ALTER TABLE messages ADD COLUMN poll TEXT NOT NULL DEFAULT '';
CREATE TABLE polls (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  seq             BIGINT NOT NULL,
  question        TEXT NOT NULL,
  max_votes       BIGINT NOT NULL,
  anonymous       SMALLINT NOT NULL DEFAULT 0,
  open_options    SMALLINT NOT NULL DEFAULT 0,
  closes_at       BIGINT NOT NULL DEFAULT 0,
  closed_at       BIGINT NOT NULL DEFAULT 0,
  created_by      BIGINT NOT NULL REFERENCES users(id),
  PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE poll_options (
  conversation_id BIGINT NOT NULL,
  seq             BIGINT NOT NULL,
  option_id       BIGINT NOT NULL,
  text            TEXT NOT NULL,
  added_by        BIGINT NOT NULL REFERENCES users(id),
  PRIMARY KEY (conversation_id, seq, option_id)
);
CREATE TABLE poll_votes (
  conversation_id BIGINT NOT NULL,
  seq             BIGINT NOT NULL,
  user_id         BIGINT NOT NULL REFERENCES users(id),
  option_id       BIGINT NOT NULL,
  voted_at        BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, seq, user_id, option_id)
);
CREATE INDEX poll_votes_by_user ON poll_votes(user_id);
