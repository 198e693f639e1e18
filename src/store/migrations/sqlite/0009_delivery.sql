-- Delivery receipts: per member, the highest seq delivered to any of their
-- devices (read implies delivered).
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
