-- Accounts, refresh tokens, conversations, members, messages (PostgreSQL
-- dialect of sqlite/0001_init.sql: same tables, columns and constraints).
CREATE TABLE users (
  id            BIGINT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
  password_hash TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  disabled      SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
  id          BIGINT PRIMARY KEY,
  token_hash  TEXT NOT NULL UNIQUE,
  user_id     BIGINT NOT NULL REFERENCES users(id),
  family_id   BIGINT NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  used_at     BIGINT NOT NULL DEFAULT 0,
  revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE conversations (
  id          BIGINT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
  title       TEXT NOT NULL DEFAULT '',
  created_by  BIGINT NOT NULL REFERENCES users(id),
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  last_seq    BIGINT NOT NULL DEFAULT 0,
  activity_at BIGINT NOT NULL,
  direct_key  TEXT UNIQUE
);

CREATE TABLE members (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  user_id         BIGINT NOT NULL REFERENCES users(id),
  role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  joined_at       BIGINT NOT NULL,
  last_read_seq   BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members(user_id);

CREATE TABLE messages (
  id              BIGINT PRIMARY KEY,
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  seq             BIGINT NOT NULL,
  sender_id       BIGINT NOT NULL REFERENCES users(id),
  client_id       TEXT NOT NULL,
  body            TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  edited_at       BIGINT NOT NULL DEFAULT 0,
  deleted_at      BIGINT NOT NULL DEFAULT 0,
  UNIQUE (conversation_id, seq),
  UNIQUE (sender_id, client_id)
);
