-- Indexes for reading reported results back (events.scalar_metrics_iter_histogram and friends, migration 004's
-- task_events). Task ids are unique across companies, but every read also names the company its telemetry is
-- filed under, so both lead.
--
-- Per series (metric, variant) in iteration order, with the value beside it: the histogram's downsampling, the
-- single values and the metric listings read this index only (index-only scans once vacuumed).
CREATE INDEX task_events_series ON task_events (company, task, type, metric, variant, iter) INCLUDE (value, timestamp);
-- Per type in iteration order: scrolling through a task's events (events.get_task_events) and the latest
-- iterations of plots and debug images.
CREATE INDEX task_events_task_type_iter ON task_events (company, task, type, iter, seq);
