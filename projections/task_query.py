"""`tasks.get_all` compiled to SQL over the task read model (§6).

Every filter, the order and the page become SQL with bound parameters; field names come from a whitelist (a
client's text is never interpolated into SQL). Nothing is filtered in Python after fetching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from projections.list_filters import list_condition
from schemas.errors import ApiError, validation_error

MAX_PAGE_SIZE = 500

TASK_FIELDS = frozenset({
    "id", "name", "user", "company", "type", "status", "comment", "created", "started", "completed",
    "active_duration", "parent", "project", "output", "execution", "models", "container", "script", "tags",
    "system_tags", "status_changed", "status_message", "status_reason", "published", "last_worker",
    "last_worker_report", "last_update", "last_change", "last_iteration", "last_metrics", "hyperparams",
    "configuration", "runtime", "unique_metrics", "metric_stats", "company_origin", "enqueue_status",
})
# Scalar or array columns of the read model, by API field.
COLUMNS = {
    "id": "id", "name": "name", "user": "user_id", "project": "project", "parent": "parent", "type": "type",
    "status": "status", "comment": "comment", "created": "created", "last_update": "last_update",
    "last_change": "last_change", "status_changed": "status_changed", "started": "started",
    "last_iteration": "last_iteration", "active_duration": "active_duration", "company": "company",
}
ARRAY_COLUMNS = {"tags": "tags", "system_tags": "system_tags"}
LIST_FIELDS = ("id", "user", "tags", "system_tags", "type", "status", "project", "parent")
PATTERN_FIELDS = ("name", "comment")
LEGACY_PATHS = {"execution.parameters": "hyperparams.Args", "execution.model_desc": "configuration",
                "execution.docker_cmd": "container"}


@dataclass
class SqlBuilder:
    """Collects conditions and their bound parameters."""

    args: list[Any] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


def unescape_path(path: str) -> list[str]:
    """`hyperparams.sec%2Etion.lr` → ['hyperparams', 'sec.tion', 'lr'] (§3.3 escaping, reversed)."""
    for old, new in LEGACY_PATHS.items():
        if path == old or path.startswith(old + "."):
            path = new + path[len(old):]
    parts = path.split(".")
    if parts[0] in ("hyperparams", "configuration") and not 2 <= len(parts) <= 4:
        raise validation_error("invalid task field", path=path)
    return [p.replace("%2E", ".").replace("%24", "$").replace("%_", "_").replace("%%", "%") for p in parts]


def json_path(b: SqlBuilder, parts: list[str], as_text: bool) -> str:
    return f"(doc {'#>>' if as_text else '#>'} {b.param(parts)}::text[])"


def check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ApiError(400, 21, None, err=str(exc)) from exc


def add_filters(b: SqlBuilder, data: dict[str, Any]) -> None:
    for name in PATTERN_FIELDS:
        pattern = data.get(name)
        if isinstance(pattern, str) and pattern:
            check_regex(pattern)
            b.where.append(f"{COLUMNS[name]} ~ {b.param(pattern)}")
    for name in LIST_FIELDS:
        if name in data and data[name] is not None:
            if name in ARRAY_COLUMNS:
                condition = list_condition(b.param, ARRAY_COLUMNS[name], data[name], is_array=True)
            else:
                condition = list_condition(b.param, COLUMNS[name], data[name], is_array=False)
            if condition:
                b.where.append(condition)
    for key, value in data.items():
        if key.startswith("hyperparams.") and value is not None:
            expr = json_path(b, unescape_path(key), as_text=True)
            condition = list_condition(b.param, expr, value, is_array=False)
            if condition:
                b.where.append(condition)


def order_expressions(b: SqlBuilder, order_by: Any) -> list[str]:
    """ORDER BY terms: empty values last for an ascending first key; numeric-aware for parameter paths; id last."""
    fields = [order_by] if isinstance(order_by, str) else list(order_by or [])
    terms: list[str] = []
    for index, spec in enumerate(f for f in fields if f):
        descending = spec.startswith("-")
        name = spec.lstrip("-")
        if name == "@text_score":
            raise ApiError(400, 16, "text score cannot be used in order_by when search text is not used")
        parts = unescape_path(name)
        if parts[0] not in TASK_FIELDS:
            raise ApiError(400, 14, "Lookup error (probably an invalid field name or unsupported nested field)",
                           err=f'Cannot resolve field "{name}"')
        direction = "DESC" if descending else "ASC"
        if len(parts) == 1 and (parts[0] in COLUMNS or parts[0] in ARRAY_COLUMNS):
            expr = COLUMNS.get(parts[0]) or ARRAY_COLUMNS[parts[0]]
        elif parts[0] in ("hyperparams", "last_metrics", "runtime", "configuration"):
            text = json_path(b, parts, as_text=True)
            numeric = f"(CASE WHEN {text} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {text}::numeric END)"
            terms.append(f"{numeric} {direction} NULLS LAST")
            expr = text
        else:
            expr = json_path(b, parts, as_text=False)
        if index == 0 and not descending:
            terms.append(f"({expr} IS NULL) ASC")
        terms.append(f"{expr} {direction}" + (" NULLS LAST" if descending else ""))
    if not any(f.lstrip("-") == "id" for f in fields if f):
        terms.append("id ASC")
    return terms


def paging(data: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit): page ≥ 0, page_size ≥ 1, capped at 500, default 500 (§6.5)."""
    page = data.get("page")
    size = data.get("page_size")
    if page is not None and (not isinstance(page, int) or page < 0):
        raise validation_error("page must be >=0", field="page")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise validation_error("page_size must be >0", field="page_size")
    limit = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    return (page or 0) * limit, limit


def compile_get_all(data: dict[str, Any], company: str, table: str = "tasks") -> tuple[str, list[Any]]:
    """SELECT doc for the caller's company and public tasks, filtered, ordered and paged."""
    b = SqlBuilder()
    b.where.append(f"company = ANY({b.param([company, ''])}::text[])")
    if not data.get("search_hidden") and not data.get("id"):
        b.where.append("NOT (system_tags @> ARRAY['hidden'])")
    add_filters(b, data)
    terms = order_expressions(b, data.get("order_by"))
    offset, limit = paging(data)
    sql = (f"SELECT doc FROM {table} WHERE {' AND '.join(b.where)} ORDER BY {', '.join(terms)} "
           f"LIMIT {b.param(limit)} OFFSET {b.param(offset)}")
    return sql, b.args
