-- Migration 001, the read side's part (the write side's part, the log itself, is commands/migrations/001_event_log.sql;
-- `commands.migrate` runs both parts in one transaction and records the name once, as when they were one file).

-- Where each subscriber stands in the log, written in the same transaction as the subscriber's own writes.
CREATE TABLE checkpoints (
    name text PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT '0',
    position bigint NOT NULL DEFAULT 0,
    updated timestamptz NOT NULL DEFAULT now()
);
