-- get_all under load (issue 13): indexes the compiler's partitions read in order and stop early, and that answer
-- the tag and system-tag filters from the index itself.
--
-- The compiler (`projections.task_query.compiler`) reads one LATERAL partition per company and, for a plain status
-- filter, per status; each partition selects only the task id and its sort keys. With `tags` and `system_tags`
-- INCLUDEd, a partition ordered by `-last_update` is an index-only scan that filters tags, `hidden` and `archived` on
-- the index entries: the rows it drops are never read (before: "status + -last_update" walked
-- `tasks_company_recent` and dropped thousands of heap rows of other statuses per page).

-- Status pages across projects (`status: [...]`, `-last_update`): one partition per status.
CREATE INDEX tasks_company_status_recent ON tasks (company, status, last_update DESC NULLS LAST, id)
    INCLUDE (tags, system_tags);

-- Project and status (the UI's project table): ordered like the compiler orders (`DESC NULLS LAST, id`, which
-- the old `last_update DESC` could not serve), so a page stops after its rows instead of sorting the partition.
DROP INDEX tasks_company_project_status;
CREATE INDEX tasks_company_project_status ON tasks (company, project, status, last_update DESC NULLS LAST, id)
    INCLUDE (tags, system_tags);

-- Project pages and pages across projects without a status filter: the same keys as before, with the tags.
DROP INDEX tasks_company_project_recent;
CREATE INDEX tasks_company_project_recent ON tasks (company, project, last_update DESC NULLS LAST, id)
    INCLUDE (tags, system_tags);
DROP INDEX tasks_company_recent;
CREATE INDEX tasks_company_recent ON tasks (company, last_update DESC NULLS LAST, id) INCLUDE (tags, system_tags);
