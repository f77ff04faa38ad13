"""What measure.py and simulate.py share: a PostgreSQL of their own, the server under measurement, and the meters
(CPU of a process tree, WAL position, commit count, pg_stat_statements, relation sizes).

The database is either an embedded PostgreSQL in a temporary directory (started as `taskstream serve` starts it,
`api.database.EmbeddedPostgres`, then restarted once with `pg_stat_statements` preloaded), or a scratch database
created on the server of `--database-url` and dropped at the end (the role needs CREATEDB; WAL and CPU figures
are then only as clean as that server is quiet).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests.bench.processes starts `taskstream serve` the way `make bench` does
    sys.path.insert(0, str(REPO))

from taskstream.commands.migrate import drop_database  # noqa: E402
from tests.bench.processes import ServerProcess, free_port, start_taskstream  # noqa: E402


@dataclass
class Database:
    """A migrated-or-empty database of our own: `url` for the server and our queries, `admin_url` for what needs
    the superuser (VACUUM FULL of any table, pg_stat_statements); `postmaster` is the server's process id when it
    runs on this machine and we may see it (else CPU is not measured)."""

    url: str
    admin_url: str
    postmaster: int | None
    statements: bool  # pg_stat_statements is loaded and created in this database
    walinspect: bool  # pg_walinspect is created in this database (needs the superuser)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def _postmaster_of(conn: asyncpg.Connection) -> int | None:
    """The postmaster of the backend we talk to, when it runs here and is visible (Unix socket or loopback)."""
    try:
        backend = psutil.Process(int(await conn.fetchval("SELECT pg_backend_pid()")))
        parent = backend.parent()
        return parent.pid if parent is not None else None
    except psutil.Error:
        return None


async def _create_walinspect(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


async def _create_statements_extension(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        loaded = await conn.fetchval("SELECT 'pg_stat_statements' = ANY(string_to_array("
                                     "current_setting('shared_preload_libraries'), ','))")
        if not loaded:
            return False
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return True
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()


@asynccontextmanager
async def embedded_database() -> AsyncIterator[Database]:
    """An embedded PostgreSQL (the server's own settings) in a temporary directory, pg_stat_statements preloaded."""
    from taskstream.api.database import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="taskstream-capacity-") as home:
        embedded = EmbeddedPostgres(Path(home))
        admin = await asyncpg.connect(embedded.admin_url)
        await admin.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        await admin.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")  # statements inside lock_and_load
        await admin.close()
        embedded.stop()
        embedded = EmbeddedPostgres(Path(home))  # restarted: the preload takes effect
        try:
            admin_app_db = _with_database(embedded.admin_url, "taskstream")
            statements = await _create_statements_extension(admin_app_db)
            conn = await asyncpg.connect(embedded.url)
            postmaster = await _postmaster_of(conn)
            await conn.close()
            yield Database(embedded.url, admin_app_db, postmaster, statements, await _create_walinspect(admin_app_db))
        finally:
            embedded.stop()


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[Database]:
    """A fresh database on the server of `server_url`, dropped at the end."""
    name = f"capacity_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f"CREATE DATABASE {name}")
    url = _with_database(server_url, name)
    try:
        conn = await asyncpg.connect(url)
        postmaster = await _postmaster_of(conn)
        await conn.close()
        yield Database(url, url, postmaster, await _create_statements_extension(url), await _create_walinspect(url))
    finally:
        await drop_database(admin, name)
        await admin.close()



def database(server_url: str | None) -> Any:
    return scratch_database(server_url) if server_url else embedded_database()


@dataclass
class Server:
    """`taskstream serve` on a free port over `database.url`, with a known key pair."""

    process: ServerProcess
    base_url: str
    auth: tuple[str, str]


@asynccontextmanager
async def taskstream_server(db: Database, workdir: Path, pool_size: int = 16) -> AsyncIterator[Server]:
    """Start `taskstream serve` (which applies the real migrations and creates the key pair), wait until it
    answers, stop it at the end."""
    import httpx

    key, secret = "CAPACITY" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
    port = free_port()
    process = start_taskstream(port, db.url, workdir, REPO, (key, secret), pool_size)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(base_url=base) as client:
            while True:
                if process.exited() or time.monotonic() > deadline:
                    raise RuntimeError(f"taskstream serve did not start:\n{process.log_tail()}")
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        yield Server(process, base, (key, secret))
    finally:
        process.stop()


class CpuMeter:
    """CPU seconds (user + system) of process trees, including children that have already exited and been
    reaped (a postmaster's backends come and go)."""

    def __init__(self, pid: int | None) -> None:
        self.root = psutil.Process(pid) if pid else None

    def seconds(self) -> float | None:
        if self.root is None:
            return None
        try:
            own = self.root.cpu_times()
            total = own.user + own.system + own.children_user + own.children_system
            for child in self.root.children(recursive=True):
                try:
                    times = child.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    continue
            return total
        except psutil.NoSuchProcess:
            return None


@dataclass(frozen=True)
class Counters:
    """Server-wide counters at one moment: WAL position, WAL statistics, commits of our database."""

    wal_lsn: int
    lsn: str
    wal_records: int
    wal_fpi: int
    commits: int


async def counters(conn: asyncpg.Connection) -> Counters:
    row = await conn.fetchrow(
        """SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS lsn, pg_current_wal_lsn()::text AS lsn_text,
                  w.wal_records, w.wal_fpi,
                  (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits
           FROM pg_stat_wal w""")
    return Counters(int(row["lsn"]), row["lsn_text"], int(row["wal_records"]), int(row["wal_fpi"]),
                    int(row["commits"]))


@dataclass(frozen=True)
class WalMakeUp:
    """What the WAL between two positions holds (pg_walinspect): record bytes, full-page image bytes, commit
    records (transactions that wrote, each a WAL flush unless group commit merges them), bytes per kind."""

    record_bytes: int
    fpi_bytes: int
    commits: int
    by_kind: dict[str, int]


async def wal_make_up(conn: asyncpg.Connection, start: str, end: str) -> WalMakeUp:
    rows = await conn.fetch(
        "SELECT \"resource_manager/record_type\" AS kind, count, record_size, fpi_size "
        "FROM pg_get_wal_stats($1::text::pg_lsn, $2::text::pg_lsn, true) WHERE count > 0", start, end)
    by_kind: dict[str, int] = {}
    for r in rows:
        manager = r["kind"].split("/")[0]
        by_kind[manager] = by_kind.get(manager, 0) + int(r["record_size"]) + int(r["fpi_size"])
    return WalMakeUp(sum(int(r["record_size"]) for r in rows), sum(int(r["fpi_size"]) for r in rows),
                     sum(int(r["count"]) for r in rows if r["kind"] == "Transaction/COMMIT"), by_kind)


async def top_statements(conn: asyncpg.Connection, limit: int = 4) -> list[dict[str, Any]]:
    """The statements that took the most execution time since the last reset, with their WAL."""
    rows = await conn.fetch(
        """SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query, calls,
                  total_exec_time AS ms, wal_bytes::bigint AS wal
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           ORDER BY total_exec_time DESC LIMIT $1""", limit)
    return [dict(r) for r in rows]


async def statements_total(conn: asyncpg.Connection) -> tuple[float, int]:
    """(execution ms, WAL bytes) of every top-level statement of this database since the last reset."""
    row = await conn.fetchrow(
        """SELECT coalesce(sum(total_exec_time), 0) AS ms, coalesce(sum(wal_bytes), 0)::bigint AS wal
           FROM pg_stat_statements WHERE toplevel
             AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())""")
    return float(row["ms"]), int(row["wal"])


@dataclass(frozen=True)
class Size:
    """A relation's bytes: heap, TOAST (with its index) and indexes."""

    heap: int
    toast: int
    indexes: int

    @property
    def total(self) -> int:
        return self.heap + self.toast + self.indexes


async def relation_size(conn: asyncpg.Connection, table: str) -> Size:
    """Sizes as pg_total_relation_size counts them (heap incl. free-space and visibility maps)."""
    row = await conn.fetchrow(
        """SELECT pg_table_size(c.oid) - coalesce(pg_total_relation_size(c.reltoastrelid), 0) AS heap,
                  coalesce(pg_total_relation_size(c.reltoastrelid), 0) AS toast,
                  pg_indexes_size(c.oid) AS indexes
           FROM pg_class c WHERE c.oid = $1::regclass""", table)
    return Size(int(row["heap"]), int(row["toast"]), int(row["indexes"]))


def cpu_count() -> int:
    return os.cpu_count() or 1


async def bytes_per_row_of_kind(conn: asyncpg.Connection, table: str, kind: str) -> tuple[float, float, int, int]:
    """(bytes per row not of `kind`, bytes per row of `kind`, rows not of it, rows of it) of `table`, where `kind`
    is a boolean SQL expression over its rows. Index bytes are shared equally (index entries of the log and
    the audit trail do not depend on the payload), heap and TOAST bytes in proportion to each row's stored
    size (pg_column_size of the row)."""
    size = await relation_size(conn, table)
    rows = {r["kind"]: (int(r["n"]), float(r["bytes"])) for r in await conn.fetch(
        f"SELECT ({kind}) AS kind, count(*) AS n, sum(pg_column_size(t.*))::float AS bytes FROM {table} t GROUP BY 1")}
    other, of_kind = rows.get(False, (0, 0.0)), rows.get(True, (0, 0.0))
    count, stored = other[0] + of_kind[0], other[1] + of_kind[1]
    if not count:
        return 0.0, 0.0, 0, 0

    def per_row(group: tuple[int, float]) -> float:
        if not group[0]:
            return 0.0
        return size.indexes / count + (size.heap + size.toast) * group[1] / stored / group[0]

    return per_row(other), per_row(of_kind), other[0], of_kind[0]
