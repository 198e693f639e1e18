-- Pins: messages pinned in a conversation, and who may pin there
-- (conversations.pin_role: 'member' anyone, 'admin' owners and admins).
ALTER TABLE conversations ADD COLUMN pin_role TEXT NOT NULL DEFAULT 'member'
  CHECK (pin_role IN ('member', 'admin'));
CREATE TABLE pins (
  conversation_id INTEGER NOT NULL REFERENCES conversations(id),
  seq             INTEGER NOT NULL,
  pinned_by       INTEGER NOT NULL REFERENCES users(id),
  pinned_at       INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
