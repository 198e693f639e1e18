-- Message search: a word index (unicode61, diacritics folded) and a trigram
-- index (substrings, any script) over message bodies, both external-content
-- FTS5 tables filled behind the send path: a new message's id goes to
-- search_queue (the send's multi-row inserts add one small row per message)
-- and the indexer drains it; edits and deletions update the indexes at once.
CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE messages_tri USING fts5(body, content='messages', content_rowid='id',
  tokenize='trigram');
CREATE TABLE search_queue (id INTEGER PRIMARY KEY);
INSERT INTO search_queue (id) SELECT id FROM messages WHERE deleted_at = 0;
