-- Subscribers fed by Kafka: the last version of each stream they applied, written in the same transaction as
-- their own writes (partitions interleave streams, so a single log position cannot say what was applied).
CREATE TABLE subscription_streams (
    subscriber text NOT NULL,
    stream_id text NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (subscriber, stream_id)
);

-- The audit trail: one row per task event, who made the change, through which call, and the fields before/after.
CREATE TABLE task_audit (
    task_id text NOT NULL,
    version integer NOT NULL,
    event_id uuid NOT NULL UNIQUE,
    position bigint NOT NULL,
    company text NOT NULL,
    time timestamptz NOT NULL,
    user_id text,
    endpoint text,
    event_type text NOT NULL,
    force boolean NOT NULL DEFAULT false,
    status_reason text,
    status_message text,
    before jsonb,
    after jsonb,
    PRIMARY KEY (task_id, version)
);

-- The audit subscriber's own copy of each task (to compute "before"); `doc` is null once the task is deleted.
CREATE TABLE audit_task_state (
    task_id text PRIMARY KEY,
    company text NOT NULL,
    version integer NOT NULL,
    doc jsonb
);
