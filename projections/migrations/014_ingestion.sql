-- Migration 014, the read side's part: the index by timestamp holds log lines only. Its write side's part
-- (`lock_and_load_many`) is commands/migrations/014_ingestion.sql.
-- Why: its only reader is the log endpoint (`events.get_task_log`, `projections.task_telemetry.read_log`, which
-- names the type as a literal so that this partial index matches its plan); scalars, plots and debug images are
-- read by iteration (task_events_series, task_events_task_type_iter), and every scalar a training loop reported
-- paid for an entry here.
DROP INDEX task_events_task_type_time;
CREATE INDEX task_events_log_time ON task_events (company, task, timestamp, seq) WHERE type = 'log';
