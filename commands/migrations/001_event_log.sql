-- Migration 001, the write side's part: the log, idempotency records and accounts. Its read side's part (the
-- subscribers' checkpoints) is projections/migrations/001_event_log.sql; `commands.migrate` runs both parts in one
-- transaction and records the name once, as when they were one file.

-- The append-only event log (see commands/store.py for why each row records its transaction id).
CREATE TABLE events (
    position bigserial PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL,
    version integer NOT NULL,
    event_id uuid NOT NULL UNIQUE,
    type text NOT NULL,
    schema_version integer NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);
CREATE INDEX events_log_order ON events (txid, position);

-- Responses of requests that carried an Idempotency-Key, written in the same transaction as their events.
CREATE TABLE idempotency_keys (
    company text NOT NULL,
    key text NOT NULL,
    endpoint text NOT NULL,
    response jsonb NOT NULL,
    recorded timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company, key)
);

CREATE TABLE companies (
    id text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE users (
    id text PRIMARY KEY,
    company text NOT NULL REFERENCES companies (id),
    name text NOT NULL,
    role text NOT NULL DEFAULT 'user'
);

-- Key pairs: the secret is stored as a salted scrypt hash, never in clear.
CREATE TABLE credentials (
    access_key text PRIMARY KEY,
    secret_hash text NOT NULL,
    user_id text NOT NULL REFERENCES users (id),
    created timestamptz NOT NULL DEFAULT now(),
    revoked timestamptz,
    last_used timestamptz,
    last_used_from text
);

-- Server-wide settings shared by every replica (the token signing secret).
CREATE TABLE settings (
    key text PRIMARY KEY,
    value text NOT NULL
);
