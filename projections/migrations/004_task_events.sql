-- Telemetry that clients report (events.add_batch): log lines, scalars, plots, debug images, as sent.
-- This is the counterpart of the reference server's Elasticsearch indices, not part of the event log: the task
-- fields derived from it (last_metrics, last_iteration, ...) are written as MetricsReported events of the task.
CREATE TABLE task_events (
    seq bigserial PRIMARY KEY,
    company text NOT NULL,
    task text NOT NULL,
    type text NOT NULL,
    timestamp bigint NOT NULL,
    iter bigint,
    metric text NOT NULL DEFAULT '',
    variant text NOT NULL DEFAULT '',
    value double precision,
    msg text,
    level text,
    worker text,
    doc jsonb NOT NULL
);
CREATE INDEX task_events_task_type_time ON task_events (company, task, type, timestamp, seq);

-- Workers (workers.register / status_report): live state with an expiry, like the reference server's Redis keys.
CREATE TABLE workers (
    company text NOT NULL,
    id text NOT NULL,
    user_id text NOT NULL,
    ip text NOT NULL DEFAULT '',
    queues text[] NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    system_tags text[] NOT NULL DEFAULT '{}',
    task text,
    queue text,
    register_time timestamptz NOT NULL,
    last_activity_time timestamptz NOT NULL,
    last_report_time timestamptz,
    timeout_sec integer NOT NULL,
    PRIMARY KEY (company, id)
);
