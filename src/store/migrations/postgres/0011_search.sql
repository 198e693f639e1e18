-- Message search (PostgreSQL dialect of sqlite/0011_search.sql): a trigram
-- index (pg_trgm: substrings in any script, ILIKE) and a word index
-- (tsvector, 'simple'), both kept by PostgreSQL in the send's transaction.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_body_trgm ON messages USING GIN (body gin_trgm_ops);
CREATE INDEX messages_body_words ON messages USING GIN (to_tsvector('simple', body));
