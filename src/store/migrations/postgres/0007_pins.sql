-- Pins (PostgreSQL dialect of sqlite/0007_pins.sql).
ALTER TABLE conversations ADD COLUMN pin_role TEXT NOT NULL DEFAULT 'member'
  CHECK (pin_role IN ('member', 'admin'));
CREATE TABLE pins (
  conversation_id BIGINT NOT NULL REFERENCES conversations(id),
  seq             BIGINT NOT NULL,
  pinned_by       BIGINT NOT NULL REFERENCES users(id),
  pinned_at       BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);
