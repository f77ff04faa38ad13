"""Replay's shadow tables: created like the live ones, loaded bare, indexed once loaded.

A shadow filled by COPY is created without its indexes (and so without the primary key and unique constraints
that own one): PostgreSQL builds an index over loaded rows by one sort, several times cheaper than maintaining it
row by row (measured on the task read model: 1.6 s after the load against 4.5 s during it, per 10^5 rows). Every
index and index-backed constraint of the live table is then created on the shadow with the live definition, so
the swap's name matching (`replay._index_renames`) finds each one. Defaults, generated columns, NOT NULL and
CHECK constraints come with `LIKE ... INCLUDING ALL`; storage parameters (`toast_tuple_target`) and triggers (the
task read model's `search`, migration 016), which LIKE does not copy, are given to the shadow from the live table's.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg

INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ (.*)$")
TRIGGER_DEF = re.compile(r"^(CREATE (?:CONSTRAINT )?TRIGGER \S+ .*? ON )\S+( .*)$")

# Indexes of a table, with the constraint owning each one (primary key, unique, exclusion), if any.
_INDEXES = """
SELECT pg_get_indexdef(i.indexrelid) AS indexdef, pg_get_constraintdef(c.oid) AS constraintdef
FROM pg_index i
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
WHERE i.indrelid = $1::regclass
ORDER BY i.indexrelid
"""


async def create_shadows(conn: asyncpg.Connection, live_tables: tuple[str, ...], shadows: tuple[str, ...],
                         with_indexes: bool) -> None:
    """(Re)create each shadow empty, shaped like its live table; without indexes unless `with_indexes`."""
    like = "INCLUDING ALL" if with_indexes else "INCLUDING ALL EXCLUDING INDEXES"
    for live, shadow in zip(live_tables, shadows, strict=True):
        await conn.execute(f"DROP TABLE IF EXISTS {shadow}")
        await conn.execute(f"CREATE TABLE {shadow} (LIKE {live} {like})")
        options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = $1::regclass", live)
        if options:
            await conn.execute(f"ALTER TABLE {shadow} SET ({', '.join(options)})")
        for (definition,) in await conn.fetch("SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                                              "WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY oid", live):
            match = TRIGGER_DEF.match(definition)
            if match is None:
                raise ValueError(f"unexpected trigger definition on {live}: {definition}")
            await conn.execute(f"{match.group(1)}{shadow}{match.group(2)}")


async def _statements(conn: asyncpg.Connection, live: str, shadow: str) -> tuple[list[str], list[str]]:
    """(constraint statements, index statements) giving `shadow` every index and index-backed constraint of
    `live`."""
    constraints, indexes = [], []
    for n, row in enumerate(await conn.fetch(_INDEXES, live)):
        name = f"{shadow}_ix{n}"
        if row["constraintdef"] is not None:
            constraints.append(f"ALTER TABLE {shadow} ADD CONSTRAINT {name} {row['constraintdef']}")
            continue
        match = INDEX_DEF.match(row["indexdef"])
        if match is None:
            raise ValueError(f"unexpected index definition on {live}: {row['indexdef']}")
        indexes.append(f"CREATE {match.group(1) or ''}INDEX {name} ON {shadow} {match.group(2)}")
    return constraints, indexes


async def build_indexes(conns: list[asyncpg.Connection], live_tables: tuple[str, ...],
                        shadows: tuple[str, ...]) -> None:
    """Create the live tables' indexes on the loaded shadows, the plain ones spread over `conns` (CREATE INDEX
    takes a SHARE lock, which does not conflict with itself). Raises what PostgreSQL raises (a unique index
    over duplicate rows); the other builds are then cancelled."""
    queue: list[str] = []
    for live, shadow in zip(live_tables, shadows, strict=True):
        constraints, indexes = await _statements(conns[0], live, shadow)
        # Why constraints first, on one connection: ADD CONSTRAINT takes an exclusive lock on the table, which
        # would make concurrent builds on it wait.
        for statement in constraints:
            await conns[0].execute(statement)
        queue += indexes

    async def worker(conn: asyncpg.Connection) -> None:
        # Why no parallel workers: the builds already run side by side on `conns`; PostgreSQL's workers on top of
        # them cost more CPU than they save (measured at 10^5 tasks: 0.8-1.0 s of CPU without, 1.1-1.9 s with).
        await conn.execute("SET max_parallel_maintenance_workers = 0")
        while queue:
            await conn.execute(queue.pop(0))

    async with asyncio.TaskGroup() as group:
        for conn in conns:
            group.create_task(worker(conn))
