-- Commands at the database's speed (issue 13): `search` (migration 006) is filled by a trigger that computes it
-- only when what it is made of changes, no longer by a generated column.
--
-- Why: PostgreSQL recomputes a stored generated column on every UPDATE that writes a column it depends on, and
-- `search` depends on `doc`, which every command and every reported batch writes; an upsert computed it twice (for
-- the insert attempt, then for the update). Three `to_tsvector` and two `regexp_replace` per write were a third of
-- the database's CPU per command. Measured per task on 2·10^4 bench tasks (backend CPU): upsert 0.41-0.43 →
-- 0.33-0.34 ms, UPDATE 0.34-0.35 → 0.29-0.30 ms.
--
-- Every writer still fills it without knowing about it: an INSERT (the projector's upsert, replay's and bulk
-- loads' COPY) computes it, an UPDATE computes it when the id, name, comment, `doc.models` or `doc.script`
-- changed and otherwise leaves the stored vector as it is (no writer sets `search` itself). Replay's shadow table
-- gets the live table's triggers (`projections.replay_tables.create_shadows`). The vector is the one migration 006
-- generated (the same expression, now the function `task_search`), so stored rows keep theirs.
ALTER TABLE tasks ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION task_search(id text, name text, comment text, doc jsonb) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, regexp_replace(
            coalesce(name, '') || ' ' || coalesce(comment, ''), '[[:punct:]]+', ' ', 'g') || ' ' || id), 'A')
        || setweight(to_tsvector('english'::regconfig,
            coalesce(jsonb_path_query_array(doc, '$.models.input[*].model')::text, '') || ' '
            || coalesce(jsonb_path_query_array(doc, '$.models.output[*].model')::text, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, regexp_replace(
            coalesce(doc #>> '{script,repository}', '') || ' ' || coalesce(doc #>> '{script,entry_point}', ''),
            '[[:punct:]]+', ' ', 'g')), 'D')
$$;

-- SET search_path FROM CURRENT: the trigger finds `task_search` whatever the writing session's search_path (a
-- data-only `pg_dump` restore writes with search_path = '').
CREATE FUNCTION tasks_fill_search() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.name IS NOT DISTINCT FROM OLD.name
            AND NEW.comment IS NOT DISTINCT FROM OLD.comment
            AND NEW.doc -> 'models' IS NOT DISTINCT FROM OLD.doc -> 'models'
            AND NEW.doc -> 'script' IS NOT DISTINCT FROM OLD.doc -> 'script' THEN
        RETURN NEW;  -- the stored vector, untouched (not even detoasted)
    END IF;
    NEW.search := task_search(NEW.id, NEW.name, NEW.comment, NEW.doc);
    RETURN NEW;
END $$;

CREATE TRIGGER tasks_search BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_fill_search();
