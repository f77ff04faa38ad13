"""Reads of the model read model: `models.get_all` / `get_all_ex` / `get_by_id`, compiled to one SQL query with
bound parameters over `models` (the caller's company plus public models, company '').

Filters are those of the reference's model listing: `id` and the list fields (`tags`, `system_tags`, `framework`,
`uri`, `user`, `project`, `task`, `parent`, and `metadata.<key>.value`), `name`/`comment` regexes, `ready`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.query.execution import fetch_bounded
from taskstream.projections.query.fields import FieldSpec, dotted_spec, shape
from taskstream.projections.query.list_filters import list_condition
from taskstream.projections.query.ordering import column_order
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder, add_ids, add_regex, select_page
from taskstream.schemas import json_codec
from taskstream.schemas.errors import validation_error

HIDDEN = ("ui_cache", "company_origin", "unique_metrics")
LIST_COLUMNS = {"framework": "framework", "uri": "uri", "user": "user_id", "project": "project", "task": "task",
                "parent": "parent"}
ORDER_COLUMNS = {"name": "name", "created": "created", "last_update": "last_update", "id": "id",
                 "framework": "framework", "user": "user_id", "project": "project", "task": "task",
                 "ready": "ready", "uri": "uri", "comment": "comment", "last_iteration": "last_iteration"}
# The reference answers `metadata` as [] to clients of API 2.16 and older (its `unescape_metadata`).
METADATA_SINCE = (2, 17)


def _add_filters(b: SqlBuilder, data: dict[str, Any]) -> None:
    add_ids(b, "id", data.get("id"))
    add_regex(b, "name", data.get("name"))
    add_regex(b, "comment", data.get("comment"))
    for key in ("tags", "system_tags"):
        if data.get(key) is not None:
            condition = list_condition(b.param, key, data[key], is_array=True)
            if condition:
                b.where.append(condition)
    for key, column in LIST_COLUMNS.items():
        if data.get(key) is not None:
            condition = list_condition(b.param, column, data[key], is_array=False)
            if condition:
                b.where.append(condition)
    for key, value in data.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "metadata" and parts[2] == "value" and value is not None:
            expr = f"(doc->'metadata'->{b.param(parts[1])}->>'value')"
            condition = list_condition(b.param, expr, value, is_array=False)
            if condition:
                b.where.append(condition)
    ready = data.get("ready")
    if ready is not None:
        if not isinstance(ready, bool):
            raise validation_error("ready must be a boolean", ready=ready)
        b.where.append(f"ready = {b.param(ready)}")


def compile_get_all(data: dict[str, Any], company: str, allow_public: bool = True) -> tuple[str, list[Any]]:
    """SQL and parameters for `models.get_all`: filtered, ordered (`order_by`, then creation and id), paged."""
    b = SqlBuilder()
    b.where.append(f"company = ANY({b.param([company, ''] if allow_public else [company])}::text[])")
    _add_filters(b, data)
    order = column_order(data.get("order_by"), ORDER_COLUMNS, ("created", "id"))
    return select_page(b, "doc", "models", order, page_window(data)), b.args


def for_output(doc: dict[str, Any], spec: FieldSpec | None, requested: tuple[int, int]) -> dict[str, Any]:
    """A model as the API returns it: projected, hidden fields left out, metadata by requested version."""
    shaped = shape(doc, spec, HIDDEN)
    if requested < METADATA_SINCE and "metadata" in shaped:
        shaped["metadata"] = []
    return shaped


async def list_models(pool: asyncpg.Pool, company: str, data: dict[str, Any], requested: tuple[int, int],
                      allow_public: bool = True) -> list[dict[str, Any]]:
    """`models.get_all`, projected by `only_fields`. Raises ApiError (400) for an invalid regex, bad paging or an
    `only_fields` entry that is not a field name (400/14, `query.fields.dotted_spec`)."""
    sql, args = compile_get_all(data, company, allow_public)
    only = data.get("only_fields")
    spec = dotted_spec(only) if isinstance(only, list) and only else None
    return [for_output(json_codec.loads(r["doc"]), spec, requested) for r in await fetch_bounded(pool, sql, args)]


async def model_by_id(pool: asyncpg.Pool, company: str, model_id: str,
                      requested: tuple[int, int]) -> dict[str, Any] | None:
    """The model, if it is the company's or public; else None."""
    raw = await pool.fetchval("SELECT doc FROM models WHERE id = $1 AND company = ANY($2::text[])",
                              model_id, [company, ""])
    return None if raw is None else for_output(dict(json_codec.loads(raw)), None, requested)
