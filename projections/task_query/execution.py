"""Running a compiled `get_all`: in a transaction under a short statement timeout with custom plans, a client's
mistake PostgreSQL rejects turned into a 400, and in scroll mode the window read from and written back to the
scroll state in the same transaction."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import asyncpg

from taskstream.projections.query.execution import bounded
from taskstream.projections.task_query.compiler import QueryOptions, compile_get_all
from taskstream.projections.task_query.scroll import advance, open_window
from taskstream.schemas import json_codec


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
                return [json_codec.loads(r[0]) for r in rows], None
            await advance(conn, window, len(rows))
            return [json_codec.loads(r[0]) for r in rows], window.scroll_id

        return await bounded(conn, read)
