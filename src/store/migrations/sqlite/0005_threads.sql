-- Threads: a reply names its thread's root by seq (a reply to a reply joins
-- the root's thread, so threads do not nest); broadcast: the reply is also
-- shown in the conversation. Thread summaries are counted from the index.
ALTER TABLE messages ADD COLUMN reply_to INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_by_thread ON messages(conversation_id, reply_to, seq) WHERE reply_to > 0;
