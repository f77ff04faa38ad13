"""Running a listing's SQL: in a transaction under a short statement timeout with custom plans, and a client's
mistake that PostgreSQL rejects (a regex it cannot compile, a query too slow to finish) answered as a 400."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

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



async def fetch_bounded(pool: asyncpg.Pool, sql: str, args: list[Any]) -> list[asyncpg.Record]:
    """The rows of one listing statement, run under `bounded`."""
    async with pool.acquire() as conn:
        async def read() -> list[asyncpg.Record]:
            return list(await conn.fetch(sql, *args))

        return await bounded(conn, read)
