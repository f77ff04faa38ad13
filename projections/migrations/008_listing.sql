-- get_all at 10^6 tasks (DESIGN.md performance table): a narrow heap, and hyper-parameter values beside the
-- document.

-- `params`: every hyper-parameter's value, [{section: {name: value}}, {section: {name: true}} for the values that
-- read as numbers], written by the projector and by replay (`projections.task_read_model.params_of`). Ordering or
-- filtering on `hyperparams.<section>.<name>.value` reads it instead of the whole document, and ordering needs
-- no regular expression per row. Rows written before this migration get it from the backfill at the end.
ALTER TABLE tasks ADD COLUMN params jsonb;

-- A narrow heap: the document (~1 kB) and the search vector go to the TOAST table, so scans, filters and sorts
-- walk rows of ~0.65 kB and only the rows returned read their document. PostgreSQL moves values out of line only
-- when a row exceeds toast_tuple_target, biggest first: EXTERNAL (no compression, one TOAST fetch to read) for
-- the two wide values; MAIN (compressed in line first, out of line only past 8 kB) for the columns filters,
-- sorts and index scans read, so a long row never pushes them out instead. 768 bytes holds a typical row
-- without its document and search vector (~650 bytes with five hyper-parameters); `comment` stays EXTENDED and
-- is the next to go out of line in a longer row. Replay's shadow table copies the column storage (LIKE ...
-- INCLUDING ALL) and the table option (`projections.replay_tables.create_shadows`). Rows already stored move out
-- of line when next written: the backfill below rewrites every row, so it moves them all.
ALTER TABLE tasks SET (toast_tuple_target = 768);
ALTER TABLE tasks ALTER COLUMN doc SET STORAGE EXTERNAL, ALTER COLUMN search SET STORAGE EXTERNAL,
    ALTER COLUMN id SET STORAGE MAIN, ALTER COLUMN company SET STORAGE MAIN, ALTER COLUMN project SET STORAGE MAIN,
    ALTER COLUMN status SET STORAGE MAIN, ALTER COLUMN user_id SET STORAGE MAIN, ALTER COLUMN parent SET STORAGE MAIN,
    ALTER COLUMN type SET STORAGE MAIN, ALTER COLUMN tags SET STORAGE MAIN, ALTER COLUMN system_tags SET STORAGE MAIN,
    ALTER COLUMN name SET STORAGE MAIN, ALTER COLUMN params SET STORAGE MAIN;

-- The backfill of `params` (the value `row_values` computes: [values, number flags], NULL without sections; the
-- pattern is `task_read_model.NUMBER`).
UPDATE tasks SET params = (
    SELECT CASE WHEN x.vals IS NOT NULL THEN jsonb_build_array(x.vals, x.numbers) END FROM (
        SELECT jsonb_object_agg(s.key, coalesce((
                   SELECT jsonb_object_agg(p.key, p.value->'value') FROM jsonb_each(s.value) p
                   WHERE jsonb_typeof(p.value) = 'object' AND p.value ? 'value'), '{}'::jsonb)) AS vals,
               jsonb_object_agg(s.key, coalesce((
                   SELECT jsonb_object_agg(p.key, true) FROM jsonb_each(s.value) p
                   WHERE jsonb_typeof(p.value->'value') = 'string'
                     AND p.value->>'value' ~ '^[ \t\n\r\f\v]*-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]{1,3})?[ \t\n\r\f\v]*$'),
                   '{}'::jsonb)) AS numbers
        FROM jsonb_each(CASE WHEN jsonb_typeof(doc->'hyperparams') = 'object' THEN doc->'hyperparams' END) s
        WHERE jsonb_typeof(s.value) = 'object') x);
