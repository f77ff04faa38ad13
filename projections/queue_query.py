"""Reads of the queue read model: `queues.get_all` / `get_by_id` compiled to one SQL query with bound parameters.

A queue is returned as its document plus `entries` (`[{task, added}]` in FIFO order), aggregated in SQL only when
the projection asks for them.
"""

from __future__ import annotations

import re
from typing import Any

from taskstream.projections.list_filters import list_condition
from taskstream.schemas.errors import ApiError, validation_error

QUEUE_FIELDS = frozenset({"id", "name", "user", "company", "created", "last_update", "tags", "system_tags",
                          "entries", "metadata"})
ORDER_COLUMNS = {"name": "name", "created": "created", "last_update": "last_update", "id": "id"}
MAX_PAGE_SIZE = 500


def only_fields(data: dict[str, Any]) -> list[str] | None:
    """The requested projection (400/14 for a field a queue does not have)."""
    fields = data.get("only_fields")
    if not isinstance(fields, list):
        return None
    bad = [f for f in fields if not isinstance(f, str) or f.lstrip("-").split(".")[0] not in QUEUE_FIELDS]
    if bad:
        raise ApiError(400, 14, "Lookup error (probably an invalid field name or unsupported nested field)",
                       err=f'Cannot resolve field "{bad[0]}"')
    return list(fields)


def wants_entries(fields: list[str] | None) -> bool:
    includes = [f for f in fields or [] if not f.startswith("-")]
    return not includes or any(f.split(".")[0] == "entries" for f in includes)


def entries_sql(queue_expr: str, limit_param: str | None) -> str:
    """A jsonb array of the queue's entries in FIFO order, at most `limit_param` of them when given."""
    limit = f" LIMIT {limit_param}" if limit_param else ""
    return (f"COALESCE((SELECT jsonb_agg(jsonb_build_object('task', e.task, 'added', e.added) ORDER BY e.position) "
            f"FROM (SELECT task, added, position FROM queue_entries WHERE queue = {queue_expr} "
            f"ORDER BY position{limit}) e), '[]'::jsonb)")


def _order(data: dict[str, Any]) -> str:
    terms = []
    for item in data.get("order_by") or []:
        if not isinstance(item, str):
            continue
        descending = item.startswith("-")
        column = ORDER_COLUMNS.get(item.lstrip("-+"))
        if column is None:
            raise ApiError(400, 14, None, field=item)
        terms.append(f"{column} {'DESC' if descending else 'ASC'}")
    return ", ".join([*terms, "name", "id"])


def compile_get_all(data: dict[str, Any], company: str, fields: list[str] | None) -> tuple[str, list[Any]]:
    """SQL and parameters for `queues.get_all` (filters: id, name regex, tags, system_tags, hidden)."""
    args: list[Any] = [company]

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["company = $1"]
    ids = data.get("id")
    if ids:
        where.append(f"id = ANY({param(ids if isinstance(ids, list) else [ids])}::text[])")
    pattern = data.get("name")
    if isinstance(pattern, str) and pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ApiError(400, 21, None, err=str(exc)) from exc
        where.append(f"name ~ {param(pattern)}")
    for key in ("tags", "system_tags"):
        if data.get(key):
            condition = list_condition(param, key, data[key], is_array=True)
            if condition:
                where.append(condition)
    if not data.get("search_hidden") and not ids:
        where.append("NOT (system_tags @> ARRAY['hidden'])")
    size, page = data.get("page_size") or MAX_PAGE_SIZE, data.get("page") or 0
    if not isinstance(size, int) or not isinstance(page, int) or size < 1 or page < 0:
        raise validation_error("invalid paging", page=page, page_size=size)
    document = "doc"
    if wants_entries(fields):
        limit = data.get("max_task_entries")
        limit_param = param(limit) if isinstance(limit, int) and not isinstance(limit, bool) else None
        document = f"doc || jsonb_build_object('entries', {entries_sql('queues.id', limit_param)})"
    sql = (f"SELECT {document} AS doc FROM queues WHERE {' AND '.join(where)} ORDER BY {_order(data)} "
           f"LIMIT {min(size, MAX_PAGE_SIZE)} OFFSET {page * min(size, MAX_PAGE_SIZE)}")
    return sql, args
