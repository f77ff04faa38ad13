"""Running a compiled `get_all`: in a transaction under a short statement timeout with custom plans, a client's
mistake PostgreSQL rejects turned into a 400, and in scroll mode the window read from and written back to the
scroll state in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import asyncpg

from taskstream.projections.task_query.compiler import QueryOptions, compile_get_all
from taskstream.projections.task_query.scroll import advance, open_window
from taskstream.schemas.errors import ApiError, validation_error

# A client's filters (regexes above all) must not hold a connection for the pool-wide 30 s limit.
QUERY_TIMEOUT = "5s"

T = TypeVar("T")


async def bounded(conn: asyncpg.Connection, read: Callable[[], Awaitable[T]]) -> T:
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


async def fetch_tasks(pool: asyncpg.Pool, company: str, data: dict[str, Any], options: QueryOptions,
                      scroll: bool) -> tuple[list[dict[str, Any]], str | None]:
    """The matching documents (as selected by `options.top_keys`), and the scroll id in scroll mode.

    Raises ApiError (400) for malformed filters, a timed-out query and bad paging or scroll size."""
    async with pool.acquire() as conn:
        async def read() -> tuple[list[dict[str, Any]], str | None]:
            window = await open_window(conn, company, data) if scroll else None
            query_options = options if window is None else replace(options, window=(window.offset, window.limit))
            sql, args = compile_get_all(data, company, query_options)
            rows = await conn.fetch(sql, *args)
            if window is None:
                return [json.loads(r[0]) for r in rows], None
            await advance(conn, window, len(rows))
            return [json.loads(r[0]) for r in rows], window.scroll_id

        return await bounded(conn, read)
