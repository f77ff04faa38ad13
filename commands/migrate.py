"""Schema migrations: the SQL files of every package that owns tables, applied by one runner in one global order.

Each package keeps the SQL of the tables it owns beside its code (`commands/migrations`: the log, idempotency
records, accounts; `projections/migrations`: read models, checkpoints, subscriber and scroll state, audit trail,
telemetry). The app wiring hands `migrate` the folders, the log's owner first.

Order and identity: a migration is its file name (`NNN_what.sql`); names sort into one order across all folders,
and `schema_migrations` records each applied name. A migration split across owners keeps its name in each folder:
its parts run in folder order in ONE transaction and are recorded once under that name, so a database migrated
before the split (which recorded the name when it was one file) never runs a part again, and a new database gets
exactly the schema the single file gave. Two different names with one number would make the order depend on the
words after it, so they are refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import asyncpg

# The write side's own migrations (the log's tables and functions, idempotency records, accounts).
LOG_MIGRATIONS = Path(__file__).parent / "migrations"

_LOCK_KEY = 727274  # the advisory lock that serialises migrating replicas


def plan(folders: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """Every migration of `folders` as (name, its parts in folder order), in name order.

    Raises ValueError when two different names share a number (their order would be an accident).
    """
    parts: dict[str, list[Path]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.sql")):
            parts.setdefault(path.name, []).append(path)
    numbers: dict[str, str] = {}
    for name in sorted(parts):
        number = name.split("_", 1)[0]
        if numbers.setdefault(number, name) != name:
            raise ValueError(f"migrations {numbers[number]} and {name} share the number {number}")
    return sorted(parts.items())


async def migrate(conn: asyncpg.Connection, folders: Sequence[Path]) -> list[str]:
    """Apply the migrations of `folders` not applied yet, in name order, each (all its parts) in its own
    transaction; returns the names applied. A failing migration raises and leaves the ones before it applied."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied timestamptz DEFAULT now())"
    )
    # Why the lock: two replicas starting at once must not both apply a migration.
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        applied = []
        for name, paths in plan(folders):
            if name in done:
                continue
            async with conn.transaction():
                for path in paths:
                    await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def pending(conn: asyncpg.Connection, folders: Sequence[Path]) -> list[str]:
    """The names of the migrations of `folders` not applied to this database yet (all of them on a database
    never migrated): empty means the schema this code needs is in place."""
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return [name for name, _ in plan(folders)]
    done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    return [name for name, _ in plan(folders) if name not in done]


async def drop_database(admin: asyncpg.Connection, name: str, attempts: int = 40) -> None:
    """Drop database `name` (a scratch database of a test, bench or simulation), ending what is still connected.

    Why retried: `WITH (FORCE)` refuses to terminate a backend of a role the caller has no privileges of, with
    "permission denied to terminate process" (seen once in CI, from the capacity simulation's scratch database;
    PostgreSQL's check also refuses an autovacuum worker, which has no role, the likeliest such backend there); such
    a backend is gone within moments, so the drop is tried again, up to `attempts` times 0.25 s apart."""
    for attempt in range(attempts):
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.25)
