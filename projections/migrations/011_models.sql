-- The model read model (issue 10 §2): one row per model stream, built by the inline projector in the command's
-- transaction and rebuilt by replay (`taskstream replay --projection models`). `doc` is the model as the API
-- returns it; the columns beside it exist for `models.get_all`'s filters and ordering and for the lookups of
-- task commands (input models must exist; the task's output model is published with it).
CREATE TABLE models (
    id text PRIMARY KEY,
    company text NOT NULL,
    version integer NOT NULL,
    doc jsonb NOT NULL,
    name text NOT NULL,
    user_id text,
    project text,
    task text,
    parent text,
    framework text,
    uri text,
    comment text,
    ready boolean NOT NULL DEFAULT false,
    tags text[] NOT NULL DEFAULT '{}',
    system_tags text[] NOT NULL DEFAULT '{}',
    created timestamptz,
    last_update timestamptz,
    last_iteration integer
);
CREATE INDEX models_company_created ON models (company, created DESC, id);
CREATE INDEX models_company_project ON models (company, project, created DESC);
CREATE INDEX models_company_uri ON models (company, uri);
CREATE INDEX models_task ON models (task);
CREATE INDEX models_tags ON models USING gin (tags);
CREATE INDEX models_system_tags ON models USING gin (system_tags);
