"""Reads of the queue read model: `queues.get_all` / `get_by_id` compiled to one SQL query with bound parameters.

A queue is returned as its document plus `entries` (`[{task, added}]` in FIFO order), aggregated in SQL only when
the projection asks for them.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.query.execution import fetch_bounded
from taskstream.projections.query.fields import FieldSpec, dotted_spec, shape, wants
from taskstream.projections.query.list_filters import list_condition
from taskstream.projections.query.ordering import column_order
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder, add_ids, add_regex, select_page
from taskstream.schemas import json_codec
from taskstream.schemas.errors import ApiError, validation_error

QUEUE_FIELDS = frozenset({"id", "name", "user", "company", "created", "last_update", "tags", "system_tags",
                          "entries", "metadata"})
ORDER_COLUMNS = {"name": "name", "created": "created", "last_update": "last_update", "id": "id"}


def field_spec(data: dict[str, Any]) -> FieldSpec | None:
    """The requested projection (400/14 for a field a queue does not have)."""
    fields = data.get("only_fields")
    if not isinstance(fields, list):
        return None
    bad = [f for f in fields if not isinstance(f, str) or f.lstrip("-").split(".")[0] not in QUEUE_FIELDS]
    if bad:
        raise ApiError(400, 14, "Lookup error (probably an invalid field name or unsupported nested field)",
                       err=f'Cannot resolve field "{bad[0]}"')
    return dotted_spec(fields)


def entries_sql(queue_expr: str, limit_param: str | None) -> str:
    """A jsonb array of the queue's entries in FIFO order, at most `limit_param` of them when given."""
    limit = f" LIMIT {limit_param}" if limit_param else ""
    return (f"COALESCE((SELECT jsonb_agg(jsonb_build_object('task', e.task, 'added', e.added) ORDER BY e.position) "
            f"FROM (SELECT task, added, position FROM queue_entries WHERE queue = {queue_expr} "
            f"ORDER BY position{limit}) e), '[]'::jsonb)")


def compile_get_all(data: dict[str, Any], company: str, spec: FieldSpec | None) -> tuple[str, list[Any]]:
    """SQL and parameters for `queues.get_all` (filters: id, name regex, tags, system_tags, hidden)."""
    b = SqlBuilder()
    b.where.append(f"company = {b.param(company)}")
    add_ids(b, "id", data.get("id"))
    add_regex(b, "name", data.get("name"))
    for key in ("tags", "system_tags"):
        if data.get(key):
            condition = list_condition(b.param, key, data[key], is_array=True)
            if condition:
                b.where.append(condition)
    if not data.get("search_hidden") and not data.get("id"):
        b.where.append("NOT (system_tags @> ARRAY['hidden'])")
    window = page_window(data)
    document = "doc"
    if wants(spec, "entries"):
        limit = entries_limit(data.get("max_task_entries"))
        limit_param = None if limit is None else b.param(limit)
        document = f"doc || jsonb_build_object('entries', {entries_sql('queues.id', limit_param)})"
    order = column_order(data.get("order_by"), ORDER_COLUMNS, ("name", "id"))
    return select_page(b, f"{document} AS doc", "queues", order, window), b.args


def entries_limit(value: Any) -> int | None:
    """`max_task_entries`: absent (None) means every entry; otherwise an integer >= 0, else 400/12."""
    if value is None:
        return None
    # The limit is bound as a bigint: a larger integer is the client's mistake (400), not a database error.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise validation_error("max_task_entries must be an integer >= 0", max_task_entries=value)
    return value


async def list_queues(pool: asyncpg.Pool, company: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """`queues.get_all`: the company's queues, filtered, ordered, paged and projected. Raises ApiError (400) for
    unknown fields, an invalid regex and bad paging."""
    spec = field_spec(data)
    sql, args = compile_get_all(data, company, spec)
    return [shape(json_codec.loads(r["doc"]), spec) for r in await fetch_bounded(pool, sql, args)]


async def queue_by_id(pool: asyncpg.Pool, company: str, queue_id: str,
                      max_entries: int | None) -> dict[str, Any] | None:
    """The company's queue with its first `max_entries` entries (all without a limit), or None."""
    checked = entries_limit(max_entries)
    limit = [] if checked is None else [checked]
    raw = await pool.fetchval(
        f"SELECT doc || jsonb_build_object('entries', {entries_sql('$1', '$3' if limit else None)}) "
        "FROM queues WHERE id = $1 AND company = $2", queue_id, company, *limit)
    return None if raw is None else dict(json_codec.loads(raw))
