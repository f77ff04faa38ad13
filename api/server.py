"""Wiring the server: database URL (embedded or given) → migrations → first-run data → the app context."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from taskstream.api.auth import Authenticator
from taskstream.api.context import AppContext
from taskstream.api.database import create_pool
from taskstream.api.http_metrics import sample_forever
from taskstream.commands.accounts import bootstrap, token_secret
from taskstream.schemas.contract import load_contract


def context_factory(database_url: str, kafka_bootstrap: str | None = None
                    ) -> Callable[[], AbstractAsyncContextManager[AppContext]]:
    """What the app's lifespan opens: a pool on the (already migrated) database and the parsed contract, and
    the background tasks (audit subscriber, watchdog, relay to Kafka if `kafka_bootstrap`; each run by one process
    of several, see `projections.background`) and the metrics sampler, stopped at exit."""
    from taskstream.projections.background import start_background, stop_background

    @asynccontextmanager
    async def make_context() -> AsyncIterator[AppContext]:
        pool = await create_pool(database_url)
        background = None
        sampler = None
        ctx: AppContext | None = None
        try:
            ctx = AppContext(pool=pool, contract=load_contract(), auth=Authenticator(pool, await token_secret(pool)))
            background = start_background(pool, ctx.stores, database_url, kafka_bootstrap)
            sampler = asyncio.create_task(sample_forever(pool, background), name="metrics sampler")
            yield ctx
        finally:
            if sampler is not None:
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
            if background is not None:
                await stop_background(background)
            if ctx is not None:
                await ctx.auth.close()
            await pool.close()

    return make_context


async def prepare_database(database_url: str) -> tuple[list[str], object]:
    """Apply migrations and create the first-run data; returns (applied migrations, Bootstrap)."""
    import asyncpg

    from taskstream.api.database import migrate

    conn = await asyncpg.connect(database_url)
    try:
        applied = await migrate(conn)
        boot = await bootstrap(conn, os.environ.get("TASKSTREAM_ACCESS_KEY"),
                               os.environ.get("TASKSTREAM_SECRET_KEY"))
        return applied, boot
    finally:
        await conn.close()
