"""The vocabulary of the task `get_all` compiler: known task fields, read-model columns and dotted-path handling.

Client text reaches SQL only as bound parameters: a field name either maps to a fixed column from the tables
below, or becomes a `text[]` path parameter of `doc #> $n` / a `jsonpath` parameter. Nothing a client sends is
ever formatted into the SQL text.
"""

from __future__ import annotations

from taskstream.projections.query.sql import SqlBuilder
from taskstream.schemas.errors import ApiError, validation_error

TASK_FIELDS = frozenset({
    "id", "name", "user", "company", "type", "status", "comment", "created", "started", "completed",
    "active_duration", "parent", "project", "output", "execution", "models", "container", "script", "tags",
    "system_tags", "status_changed", "status_message", "status_reason", "published", "last_worker",
    "last_worker_report", "last_update", "last_change", "last_iteration", "last_metrics", "hyperparams",
    "configuration", "runtime", "unique_metrics", "metric_stats", "company_origin", "enqueue_status",
})
# Scalar columns of the read model, by API field.
COLUMNS = {
    "id": "id", "name": "name", "user": "user_id", "project": "project", "parent": "parent", "type": "type",
    "status": "status", "comment": "comment", "created": "created", "last_update": "last_update",
    "last_change": "last_change", "status_changed": "status_changed", "started": "started",
    "last_iteration": "last_iteration", "active_duration": "active_duration", "company": "company",
}
TEXT_COLUMNS = frozenset({"id", "name", "user_id", "project", "parent", "type", "status", "comment", "company"})
ARRAY_COLUMNS = {"tags": "tags", "system_tags": "system_tags"}
LEGACY_PATHS = {"execution.parameters": "hyperparams.Args", "execution.model_desc": "configuration",
                "execution.docker_cmd": "container"}
LOOKUP_ERROR = "Lookup error (probably an invalid field name or unsupported nested field)"


def lookup_error(name: str) -> ApiError:
    """400/14 with the reference's text, which replaces (not extends) the subcode's default message."""
    error = ApiError(400, 14, None, err=f'Cannot resolve field "{name}"')
    error.msg = f'{LOOKUP_ERROR}: err=Cannot resolve field "{name}"'
    error.args = (error.msg,)
    return error


def unescape_path(path: str) -> list[str]:
    """`hyperparams.sec%2Etion.lr` → ['hyperparams', 'sec.tion', 'lr'] (§3.3 escaping reversed, legacy aliases
    rewritten). A hyperparams/configuration path deeper than the stored structure is a 400/12."""
    for old, new in LEGACY_PATHS.items():
        if path == old or path.startswith(old + "."):
            path = new + path[len(old):]
    parts = path.split(".")
    if parts[0] in ("hyperparams", "configuration") and not 1 <= len(parts) <= 4:
        raise validation_error("invalid task field", path=path)
    return [p.replace("%2E", ".").replace("%24", "$").replace("%_", "_").replace("%%", "%") for p in parts]


def known_path(path: str) -> list[str]:
    """The unescaped parts of a path whose top-level field exists; 400/14 Lookup error otherwise."""
    parts = unescape_path(path)
    if parts[0] not in TASK_FIELDS:
        raise lookup_error(path)
    return parts


def json_text(b: SqlBuilder, parts: list[str]) -> str:
    """The value at `parts` of the document as text (NULL when missing). A hyper-parameter's value is read from
    the narrow `params` column (migration 008), which holds the same text without reading the whole document."""
    if is_param_value(parts):
        return f"(params #>> {b.param(['0', *parts[1:3]])}::text[])"
    return f"(doc #>> {b.param(parts)}::text[])"


def is_param_value(parts: list[str]) -> bool:
    """Whether `parts` name a hyper-parameter's value (`hyperparams.<section>.<name>.value`)."""
    return len(parts) == 4 and parts[0] == "hyperparams" and parts[3] == "value"


def param_number(b: SqlBuilder, parts: list[str]) -> str:
    """A hyper-parameter's value as `numeric` when it reads as a number (`task_read_model.NUMBER`), else NULL."""
    flag = b.param(["1", *parts[1:3]])
    return f"(CASE WHEN params #> {flag}::text[] IS NOT NULL THEN {json_text(b, parts)}::numeric END)"


def json_value(b: SqlBuilder, parts: list[str]) -> str:
    """The value at `parts` of the document as jsonb (SQL NULL when missing, 'null' when null)."""
    return f"(doc #> {b.param(parts)}::text[])"


def jsonpath_of(parts: list[str]) -> str:
    """A lax jsonpath visiting every value at `parts`, looking through arrays on the way and at the end, as a
    MongoDB dotted path does (`models.input.model` visits each input model). Passed as a bound parameter."""
    quoted = ".".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)
    return f"lax $.{quoted}[*]"
