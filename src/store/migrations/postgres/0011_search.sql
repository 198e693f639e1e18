-- Message search (PostgreSQL dialect of sqlite/0011_search.sql): a trigram
-- index (pg_trgm: substrings in any script, ILIKE) and a word index
-- (tsvector, 'simple'), both kept by PostgreSQL in the send's transaction.
-- The extension is per database: it goes to schema public, and its operator
-- class is named there, so every schema of the database finds it.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX messages_body_trgm ON messages USING GIN (body public.gin_trgm_ops);
CREATE INDEX messages_body_words ON messages USING GIN (to_tsvector('simple', body));
