"""`tasks.get_all`, `tasks.get_all_ex` and `tasks.get_by_id_ex` (§5.2–5.4, §6): compiled to one SQL query over
the task read model, projected, and (for the `_ex` forms) reference-expanded and joined."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import asyncpg

from taskstream.api.call import Call, endpoint
from taskstream.api.endpoints.task_scroll import advance, open_window
from taskstream.api.versions import conform_tags
from taskstream.projections.documents import for_version
from taskstream.projections.task_fields import FieldSpec, expand_references, field_spec, shape
from taskstream.projections.task_joins import apply_joins
from taskstream.projections.task_query import QueryOptions, compile_get_all
from taskstream.schemas.errors import ApiError, validation_error

# A client's filters (regexes above all) must not hold a connection for the pool-wide 30 s limit.
QUERY_TIMEOUT = "5s"


async def _bounded(conn: asyncpg.Connection, read: Callable[[], Awaitable[Any]]) -> Any:
    """Run `read` in a transaction with a lower statement timeout; a cancelled query or a regex PostgreSQL
    rejects becomes a 400, never a 500."""
    try:
        async with conn.transaction():
            # Why custom plans: a listing's selectivity depends on its values (a project of 50 tasks or of 20k),
            # and a cached generic plan picked for one value can walk a whole company's index for another.
            await conn.execute(f"SET LOCAL statement_timeout = '{QUERY_TIMEOUT}'; "
                               "SET LOCAL plan_cache_mode = force_custom_plan")
            return await read()
    except asyncpg.QueryCanceledError as exc:
        raise validation_error(f"query timed out after {QUERY_TIMEOUT}, narrow the filters") from exc
    except asyncpg.InvalidRegularExpressionError as exc:
        raise ApiError(400, 21, None, err=str(exc)) from exc


async def _fetch(call: Call, options: QueryOptions, scroll: bool) -> tuple[list[dict[str, Any]], str | None]:
    """The matching documents (as selected), and the scroll id in scroll mode."""
    async with call.ctx.pool.acquire() as conn:
        async def read() -> tuple[list[dict[str, Any]], str | None]:
            window = await open_window(conn, call.actor.company, call.data) if scroll else None
            query_options = options if window is None else replace(options, window=(window.offset, window.limit))
            sql, args = compile_get_all(call.data, call.actor.company, query_options)
            rows = await conn.fetch(sql, *args)
            if window is None:
                return [json.loads(r[0]) for r in rows], None
            await advance(conn, window, len(rows))
            return [json.loads(r[0]) for r in rows], window.scroll_id

        result: tuple[list[dict[str, Any]], str | None] = await _bounded(conn, read)
        return result


async def _respond(call: Call, docs: list[dict[str, Any]], spec: FieldSpec | None,
                   extended: bool) -> list[dict[str, Any]]:
    tasks = [shape(doc, spec) for doc in docs]
    if extended:
        tasks = [expand_references(t) for t in tasks]
        if spec is not None and spec.joins:
            await apply_joins(call.ctx.pool, tasks, spec.joins, call.actor.company)
    return [for_version(t, call.requested) for t in tasks]


async def list_tasks(call: Call, extended: bool, by_id: bool = False) -> dict[str, Any]:
    """The shared body of the three listing endpoints (see §6.1 and §5.2 for how they differ)."""
    call = replace(call, data=conform_tags(call.data, call.requested))
    spec = field_spec(call.data, extended)
    options = QueryOptions(
        include_subprojects=extended and not by_id and bool(call.data.get("include_subprojects")),
        hide_hidden=not by_id and not call.data.get("search_hidden"),
        top_keys=spec.top_keys() if spec else None,
    )
    scroll = "scroll_id" in call.data and not by_id
    docs, scroll_id = await _fetch(call, options, scroll)
    response: dict[str, Any] = {"tasks": await _respond(call, docs, spec, extended)}
    if scroll_id is not None:
        response["scroll_id"] = scroll_id
    return response


@endpoint("tasks.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    return await list_tasks(call, extended=False)


@endpoint("tasks.get_all_ex")
async def get_all_ex(call: Call) -> dict[str, Any]:
    return await list_tasks(call, extended=True)


@endpoint("tasks.get_by_id_ex")
async def get_by_id_ex(call: Call) -> dict[str, Any]:
    if "id" not in call.data:
        raise ApiError(400, 11, None, missing=["id"])
    return await list_tasks(call, extended=True, by_id=True)
