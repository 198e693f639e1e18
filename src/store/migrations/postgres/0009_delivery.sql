-- Delivery receipts (PostgreSQL dialect of sqlite/0009_delivery.sql).
ALTER TABLE members ADD COLUMN delivered_seq BIGINT NOT NULL DEFAULT 0;
