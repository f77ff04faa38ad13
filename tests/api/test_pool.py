"""The connection pool bounds every statement, also on a connection's second and later use."""

from __future__ import annotations

from taskstream.api.database import create_pool


async def test_the_statement_timeout_survives_the_reset_on_release(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        for use in range(3):  # asyncpg runs RESET ALL when a connection goes back to the pool
            async with pool.acquire() as conn:
                assert await conn.fetchval("SHOW statement_timeout") == "30s", f"use {use + 1}"
    finally:
        await pool.close()
