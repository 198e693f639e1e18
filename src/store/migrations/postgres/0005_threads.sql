-- Threads (PostgreSQL dialect of sqlite/0005_threads.sql).
ALTER TABLE messages ADD COLUMN reply_to BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN broadcast SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX messages_by_thread ON messages(conversation_id, reply_to, seq) WHERE reply_to > 0;
