-- get_all / get_all_ex at scale (tasks-behaviour.md §6): full-text search, scroll state, listing indexes.

-- `search_text` (§6.3f): the reference's text index as a generated tsvector, so every writer of the read model
-- (inline projector, replay, bulk loads) fills it without knowing about it. Weights follow the reference's
-- index: name, id, comment 10 (A); input/output model ids 2 (B); script repository and entry point 1 (D).
-- Punctuation separates words, as in MongoDB's tokenizer ("example.com/net.git" holds the word "net").
ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, regexp_replace(
        coalesce(name, '') || ' ' || coalesce(comment, ''), '[[:punct:]]+', ' ', 'g') || ' ' || id), 'A')
    || setweight(to_tsvector('english'::regconfig,
        coalesce(jsonb_path_query_array(doc, '$.models.input[*].model')::text, '') || ' '
        || coalesce(jsonb_path_query_array(doc, '$.models.output[*].model')::text, '')), 'B')
    || setweight(to_tsvector('english'::regconfig, regexp_replace(
        coalesce(doc #>> '{script,repository}', '') || ' ' || coalesce(doc #>> '{script,entry_point}', ''),
        '[[:punct:]]+', ' ', 'g')), 'D')
) STORED;
CREATE INDEX tasks_search ON tasks USING gin (search);

-- Listing indexes. The query compiler orders descending keys NULLS LAST (missing values last, as the reference)
-- and always ends with `id`, so these match `ORDER BY last_update DESC NULLS LAST, id` per company (+ project).
CREATE INDEX tasks_company_project_recent ON tasks (company, project, last_update DESC NULLS LAST, id);
CREATE INDEX tasks_company_recent ON tasks (company, last_update DESC NULLS LAST, id);
CREATE INDEX tasks_company_created ON tasks (company, created, id);
-- Superseded by tasks_company_recent (a DESC NULLS FIRST index cannot serve DESC NULLS LAST order).
DROP INDEX IF EXISTS tasks_company_last_update;
CREATE INDEX projects_parent ON projects (parent);

-- Scroll state of get_all / get_all_ex (§6.5): kept in PostgreSQL so any API replica can continue a scroll.
-- A state expires 600 s after its last use; expired rows are swept when new scrolls start.
CREATE TABLE scroll_states (
    id text PRIMARY KEY,
    company text NOT NULL,
    position integer NOT NULL DEFAULT 0,
    expires timestamptz NOT NULL
);
CREATE INDEX scroll_states_expires ON scroll_states (expires);
