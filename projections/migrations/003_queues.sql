-- Queue read model: one row per queue (document without entries) and one row per entry, both written by the
-- inline projector of queue streams (projections/queue_read_model.py). `position` is the queue stream version
-- the entry was added at (carried by the TaskQueued event), so FIFO order is rebuilt exactly by replay.
CREATE TABLE queues (
    id text PRIMARY KEY,
    company text NOT NULL,
    version integer NOT NULL,
    doc jsonb NOT NULL,
    name text NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    system_tags text[] NOT NULL DEFAULT '{}',
    created timestamptz,
    last_update timestamptz
);
-- Names are unique per company; creators also take a name lock, so this index is the last line of defence.
CREATE UNIQUE INDEX queues_company_name ON queues (company, name);

CREATE TABLE queue_entries (
    queue text NOT NULL,
    task text NOT NULL,
    added text NOT NULL,
    position integer NOT NULL,
    PRIMARY KEY (queue, task)
);
CREATE UNIQUE INDEX queue_entries_order ON queue_entries (queue, position);
CREATE INDEX queue_entries_task ON queue_entries (task);
