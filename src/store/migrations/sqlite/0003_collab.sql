-- Collaboration documents (Yjs): each a log of updates numbered per
-- document, compacted into one row past a threshold, plus who may edit or
-- view it and its named versions. A document of a conversation is open to
-- that conversation's members; a standalone one to its owner and the users
-- in collab_access.
CREATE TABLE collab_documents (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  conversation_id INTEGER REFERENCES conversations(id),
  owner_id        INTEGER NOT NULL REFERENCES users(id),
  title           TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  last_seq        INTEGER NOT NULL DEFAULT 0,
  log_bytes       INTEGER NOT NULL DEFAULT 0,
  log_rows        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX collab_documents_by_conversation ON collab_documents(conversation_id);
CREATE INDEX collab_documents_by_owner ON collab_documents(owner_id);

-- seq: the document's numbering; a compacted row carries the seq of the
-- newest update it replaced.
CREATE TABLE collab_updates (
  document_id INTEGER NOT NULL REFERENCES collab_documents(id),
  seq         INTEGER NOT NULL,
  data        BLOB NOT NULL,
  author_id   INTEGER,
  at          INTEGER NOT NULL,
  PRIMARY KEY (document_id, seq)
) WITHOUT ROWID;

CREATE TABLE collab_access (
  document_id INTEGER NOT NULL REFERENCES collab_documents(id),
  user_id     INTEGER NOT NULL REFERENCES users(id),
  role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
  PRIMARY KEY (document_id, user_id)
) WITHOUT ROWID;
CREATE INDEX collab_access_by_user ON collab_access(user_id);

CREATE TABLE collab_versions (
  id          INTEGER PRIMARY KEY,
  document_id INTEGER NOT NULL REFERENCES collab_documents(id),
  name        TEXT NOT NULL DEFAULT '',
  seq         INTEGER NOT NULL,
  state       BLOB NOT NULL,
  created_by  INTEGER,
  created_at  INTEGER NOT NULL
);
CREATE INDEX collab_versions_by_document ON collab_versions(document_id, id);
