-- Read models: built by the inline projectors in the command's transaction, rebuilt by replay.
-- `doc` is the task document as the API returns it; the columns beside it exist for filtering and ordering.
CREATE TABLE tasks (
    id text PRIMARY KEY,
    company text NOT NULL,
    version integer NOT NULL,
    doc jsonb NOT NULL,
    name text NOT NULL,
    user_id text,
    project text,
    parent text,
    type text,
    status text NOT NULL,
    comment text,
    tags text[] NOT NULL DEFAULT '{}',
    system_tags text[] NOT NULL DEFAULT '{}',
    created timestamptz,
    last_update timestamptz,
    last_change timestamptz,
    status_changed timestamptz,
    started timestamptz,
    last_iteration integer,
    active_duration integer
);
CREATE INDEX tasks_company_last_update ON tasks (company, last_update DESC, id);
CREATE INDEX tasks_company_project_status ON tasks (company, project, status, last_update DESC);
CREATE INDEX tasks_tags ON tasks USING gin (tags);
CREATE INDEX tasks_system_tags ON tasks USING gin (system_tags);
CREATE INDEX tasks_parent ON tasks (parent);

CREATE TABLE projects (
    id text PRIMARY KEY,
    company text NOT NULL,
    version integer NOT NULL,
    doc jsonb NOT NULL,
    name text NOT NULL,
    parent text,
    created timestamptz
);
CREATE UNIQUE INDEX projects_company_name ON projects (company, name);
