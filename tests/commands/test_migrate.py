"""The migration runner: the owners' folders in one global order, and databases migrated before the SQL was split
between owners (one folder, `api/migrations`) stay valid: nothing runs again and the schema is the same."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from taskstream.api.database import MIGRATION_FOLDERS
from taskstream.commands.migrate import LOG_MIGRATIONS, migrate, plan
from taskstream.projections.tables import READ_MIGRATIONS
from taskstream.schemas.ids import new_id

# What databases migrated before the split recorded in `schema_migrations`: these names must never change.
RECORDED_BEFORE_THE_SPLIT = ["001_event_log.sql", "002_read_models.sql", "003_queues.sql", "004_task_events.sql",
                             "005_subscriptions.sql", "006_task_search.sql", "007_lock_and_load.sql",
                             "008_listing.sql"]

# Migrations added after the split (each in its owner's folder only): a database migrated before applies just these.
ADDED_AFTER_THE_SPLIT = [name for name, _ in plan(MIGRATION_FOLDERS) if name not in RECORDED_BEFORE_THE_SPLIT]

FreshDatabase = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@pytest.fixture
def fresh_database(database_url: str) -> FreshDatabase:
    """A connection to a new, empty database on the test server, dropped afterwards."""

    @asynccontextmanager
    async def open_one() -> AsyncIterator[asyncpg.Connection]:
        name = f"migrate_{new_id()[:8]}"
        admin = await asyncpg.connect(database_url)
        await admin.execute(f"CREATE DATABASE {name}")
        conn = await asyncpg.connect(urlunsplit(urlsplit(database_url)._replace(path=f"/{name}")))
        try:
            yield conn
        finally:
            await conn.close()
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.close()

    return open_one


async def schema_of(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Tables and columns, indexes, constraints and functions of the public schema, as comparable text."""
    queries = {
        "columns": """SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
                          || coalesce(column_default, '') || ' ' || coalesce(generation_expression, '')
                      FROM information_schema.columns WHERE table_schema = 'public'""",
        "storage": """SELECT c.relname || '.' || a.attname || ' ' || a.attstorage::text || ' '
                          || coalesce(c.reloptions::text, '')
                      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0""",
        "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
        "constraints": """SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                          FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
        "functions": """SELECT pg_get_functiondef(p.oid) FROM pg_proc p
                        WHERE p.pronamespace = 'public'::regnamespace""",
    }
    return {kind: sorted(r[0] for r in await conn.fetch(sql)) for kind, sql in queries.items()}


def single_folder_layout(target: Path) -> Path:
    """The migrations as one folder, as before the split: each migration one file of all its parts (those that
    existed then; later ones are added by owners' folders only)."""
    target.mkdir()
    for name, parts in plan(MIGRATION_FOLDERS):
        if name in RECORDED_BEFORE_THE_SPLIT:
            (target / name).write_text("\n".join(path.read_text() for path in parts))
    return target


def added_since_the_split() -> list[str]:
    return [name for name, _ in plan(MIGRATION_FOLDERS) if name not in RECORDED_BEFORE_THE_SPLIT]


def test_the_owners_folders_keep_every_name_existing_databases_recorded() -> None:
    planned = dict(plan(MIGRATION_FOLDERS))

    assert list(planned)[:len(RECORDED_BEFORE_THE_SPLIT)] == RECORDED_BEFORE_THE_SPLIT
    assert planned["001_event_log.sql"] == [LOG_MIGRATIONS / "001_event_log.sql", READ_MIGRATIONS / "001_event_log.sql"]
    assert MIGRATION_FOLDERS == (LOG_MIGRATIONS, READ_MIGRATIONS), "the log's owner first"


async def test_a_database_migrated_before_the_split_applies_nothing_and_has_the_same_schema(
        fresh_database: FreshDatabase, tmp_path: Path) -> None:
    async with fresh_database() as before_split, fresh_database() as new:
        assert await migrate(before_split, [single_folder_layout(tmp_path / "api_migrations")]) == \
            RECORDED_BEFORE_THE_SPLIT

        assert await migrate(before_split, MIGRATION_FOLDERS) == ADDED_AFTER_THE_SPLIT
        assert await migrate(new, MIGRATION_FOLDERS) == RECORDED_BEFORE_THE_SPLIT + ADDED_AFTER_THE_SPLIT
        assert await schema_of(before_split) == await schema_of(new)
        assert await migrate(new, MIGRATION_FOLDERS) == []


async def test_a_split_migration_runs_all_its_parts_in_one_transaction_or_none(
        fresh_database: FreshDatabase, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "001_both.sql").write_text("CREATE TABLE first_part (id int);")
    (second / "001_both.sql").write_text("CREATE TABLE second_part (id int); SELECT 1 / 0;")
    async with fresh_database() as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, [first, second])

        assert await conn.fetchval("SELECT to_regclass('first_part')") is None
        assert await conn.fetch("SELECT name FROM schema_migrations") == []
        (second / "001_both.sql").write_text("CREATE TABLE second_part (id int REFERENCES first_part (id));")
        (first / "001_both.sql").write_text("CREATE TABLE first_part (id int PRIMARY KEY);")
        assert await migrate(conn, [first, second]) == ["001_both.sql"]
        assert await migrate(conn, [first, second]) == []


def test_two_names_with_one_number_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "009_this.sql").write_text("")
    (second / "009_that.sql").write_text("")

    with pytest.raises(ValueError, match="share the number 009"):
        plan([first, second])
