-- Migration 014, the write side's part: `lock_and_load` for several streams (events.add_batch's tasks) in one
-- round trip, with one read for all of them. Its read side's part (telemetry indexes) is
-- projections/migrations/014_ingestion.sql.
-- Why the locks first and one read after: calling `lock_and_load` once per stream ran (and planned) its dynamic
-- read once per stream; here every lock is taken, in the order given (callers sort the ids: the global lock order,
-- so two callers never deadlock), before the one read, whose fresh snapshot (a VOLATILE function's statement)
-- sees everything the previous holder of each lock committed, as `lock_and_load` does for one stream.
-- `fields` (NULL: the whole document) names the top-level fields to read: a telemetry batch decides on a task's
-- metrics and status, not on its script or configuration, and decoding those in the API cost more than the rest.
CREATE FUNCTION lock_and_load_many(lock_keys bigint[], read_model text, stream_ids text[], fields text[])
RETURNS TABLE (id text, doc text, version integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lock_key bigint;
BEGIN
    FOREACH lock_key IN ARRAY lock_keys LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;
    RETURN QUERY EXECUTE format(
        'SELECT t.id, CASE WHEN $2::text[] IS NULL THEN t.doc::text ELSE (SELECT COALESCE(jsonb_object_agg(e.key, '
        'e.value), ''{}'') FROM jsonb_each(t.doc) AS e WHERE e.key = ANY($2))::text END, t.version '
        'FROM %I AS t WHERE t.id = ANY($1)', read_model)
        USING stream_ids, fields;
END
$$;
