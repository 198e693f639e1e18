-- Collaboration documents (PostgreSQL dialect of sqlite/0003_collab.sql).
CREATE TABLE collab_documents (
  id              BIGINT PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  conversation_id BIGINT REFERENCES conversations(id),
  owner_id        BIGINT NOT NULL REFERENCES users(id),
  title           TEXT NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  last_seq        BIGINT NOT NULL DEFAULT 0,
  log_bytes       BIGINT NOT NULL DEFAULT 0,
  log_rows        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX collab_documents_by_conversation ON collab_documents(conversation_id);
CREATE INDEX collab_documents_by_owner ON collab_documents(owner_id);

-- seq: the document's numbering; a compacted row carries the seq of the
-- newest update it replaced.
CREATE TABLE collab_updates (
  document_id BIGINT NOT NULL REFERENCES collab_documents(id),
  seq         BIGINT NOT NULL,
  data        BYTEA NOT NULL,
  author_id   BIGINT,
  at          BIGINT NOT NULL,
  PRIMARY KEY (document_id, seq)
);

CREATE TABLE collab_access (
  document_id BIGINT NOT NULL REFERENCES collab_documents(id),
  user_id     BIGINT NOT NULL REFERENCES users(id),
  role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
  PRIMARY KEY (document_id, user_id)
);
CREATE INDEX collab_access_by_user ON collab_access(user_id);

CREATE TABLE collab_versions (
  id          BIGINT PRIMARY KEY,
  document_id BIGINT NOT NULL REFERENCES collab_documents(id),
  name        TEXT NOT NULL DEFAULT '',
  seq         BIGINT NOT NULL,
  state       BYTEA NOT NULL,
  created_by  BIGINT,
  created_at  BIGINT NOT NULL
);
CREATE INDEX collab_versions_by_document ON collab_versions(document_id, id);
