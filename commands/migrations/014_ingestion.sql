-- Migration 014, the write side's part: `lock_and_load` for several streams (events.add_batch's tasks) in one
-- round trip, with one read for all of them. Its read side's part (telemetry indexes) is
-- projections/migrations/014_ingestion.sql.
-- Why the locks first and one read after: calling `lock_and_load` once per stream ran (and planned) its dynamic
-- read once per stream; here every lock is taken, in the order given (callers sort the ids: the global lock order,
-- so two callers never deadlock), before the one read, whose fresh snapshot (a VOLATILE function's statement)
-- sees everything the previous holder of each lock committed, as `lock_and_load` does for one stream.
CREATE FUNCTION lock_and_load_many(lock_keys bigint[], read_model text, stream_ids text[])
RETURNS TABLE (id text, doc text, version integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lock_key bigint;
BEGIN
    FOREACH lock_key IN ARRAY lock_keys LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;
    RETURN QUERY EXECUTE format('SELECT t.id, t.doc::text, t.version FROM %I t WHERE t.id = ANY($1)', read_model)
        USING stream_ids;
END
$$;
