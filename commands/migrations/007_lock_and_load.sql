-- A command's first round trip: take the stream's advisory lock, then read the stream's state from its read model.
-- Why one function and not one statement: under READ COMMITTED a statement reads from the snapshot taken when it
-- starts, which is before a lock it waits for inside is granted; a VOLATILE function takes a fresh snapshot for
-- each statement it runs, so the read below sees everything the previous lock holder committed.
-- The table is named by text, resolved when the read runs: a replay may have swapped the table in meanwhile.
CREATE FUNCTION lock_and_load(lock_key bigint, read_model text, stream_id text, OUT doc text, OUT version integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    EXECUTE format('SELECT doc::text, version FROM %I WHERE id = $1', read_model) INTO doc, version USING stream_id;
END
$$;
