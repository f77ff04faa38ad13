"""`taskstream replay`: rebuild read models from the log into shadow tables, then swap them in atomically.

1. Bulk: in a REPEATABLE READ transaction (snapshot S0), stream the model's events in (stream_id, version) order
   through a server-side cursor (the next chunk is fetched while this one folds), fold one stream at a time
   (`replay_models`) and COPY the rows into `<table>_shadow` (one COPY in flight while folding goes on). Memory
   holds two fetched chunks, one stream and two COPY chunks. The task read model (the big one) is loaded by
   `replay_streams` instead: each stream's events read as one row, in parts of the log folded by several processes
   at once. A COPY-loaded shadow is created bare and gets the live table's indexes once loaded (`replay_tables`).
2. Catch-up: apply the events S0 did not see to the shadow tables through the model's projector (a snapshot S1).
3. Swap, in one short transaction: lock the live tables, apply the events S1 did not see, drop the live tables
   and rename the shadows (and their indexes) to the live names. Calls that waited then use the new tables:
   PostgreSQL resolves a table name again after waiting for its lock.

The API keeps serving meanwhile; nothing is published anywhere (replay never re-fires side effects). Interrupted
(Ctrl-C) before the swap, the shadows are dropped and the live model is untouched. With `to_position`, the model
is rebuilt as of that log position into `<table>_at_<N>` and left there for inspection (never swapped in: the
live model must stay the state commands decide on).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import asyncpg
from tqdm import tqdm

from taskstream.commands.evolve import evolve
from taskstream.commands.store import (
    RecordedEvent,
    current_snapshot,
    horizon,
    read_unseen,
    snapshot_of_log,
    stream_lock_key,
)
from taskstream.projections.audit import AuditTrail
from taskstream.projections.kafka_codec import types_of
from taskstream.projections.replay_models import (
    READ_MODELS,
    AuditFolder,
    ProjectorFolder,
    ReadModel,
    Rows,
)
from taskstream.projections.replay_streams import bulk_load
from taskstream.projections.replay_tables import INDEX_DEF, build_indexes, create_shadows
from taskstream.projections.subscription import load_checkpoint, save_checkpoint

FETCH = 5_000  # events per cursor fetch (larger chunks measured slower to decode: cache misses)
COPY_ROWS = 10_000  # rows per COPY


@dataclass(frozen=True)
class ReplayResult:
    name: str
    events: int
    seconds: float
    tables: tuple[str, ...]
    swapped: bool
    helper_rss_growth_kb: int = 0  # the most a helper process (`replay_streams`) grew beyond its memory at start


# The models loaded by COPY alone; the others are written through their projector.
_COPY_FOLDERS: dict[str, type[AuditFolder]] = {"audit": AuditFolder}


def _folder(model: ReadModel, shadows: tuple[str, ...]) -> AuditFolder | ProjectorFolder:
    if model.name in _COPY_FOLDERS:
        return _COPY_FOLDERS[model.name](shadows)
    projector = model.projector(*shadows)
    if isinstance(projector, AuditTrail):
        raise TypeError(f"{model.name}: the audit trail is loaded by COPY, not through a stream projector")
    return ProjectorFolder(projector)


async def _drop(conn: asyncpg.Connection, tables: tuple[str, ...]) -> None:
    for table in tables:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")


async def _copy(conn: asyncpg.Connection, folder: Any, rows: Rows) -> None:
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=folder.copy_columns[table])


class _Writer:
    """COPYs chunks in the background (one in flight), so PostgreSQL writes while Python folds the next chunk."""

    def __init__(self, conn: asyncpg.Connection, folder: Any) -> None:
        self.conn, self.folder = conn, folder
        self.inflight: asyncio.Task[None] | None = None

    async def flush(self, rows: Rows) -> None:
        await self.wait()
        self.inflight = asyncio.create_task(_copy(self.conn, self.folder, dict(rows)))
        rows.clear()

    async def wait(self) -> None:
        if self.inflight is not None:
            task, self.inflight = self.inflight, None
            await task

    async def abandon(self) -> None:
        """On interruption: stop the COPY in flight, so the connection is free to drop the shadows."""
        if self.inflight is not None:
            self.inflight.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                await self.inflight


class _Reader:
    """Fetches the cursor's next chunk while Python folds the current one (one FETCH in flight)."""

    def __init__(self, cursor: asyncpg.cursor.Cursor) -> None:
        self.cursor = cursor
        self.ahead: asyncio.Task[list[Any]] | None = None

    async def next(self) -> list[Any]:
        batch = await (self.ahead or self.cursor.fetch(FETCH))
        self.ahead = asyncio.create_task(self.cursor.fetch(FETCH)) if batch else None
        return batch

    async def abandon(self) -> None:
        """On interruption: stop the FETCH in flight, so the transaction can end."""
        if self.ahead is not None:
            self.ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                await self.ahead


async def _bulk(read: asyncpg.Connection, write: asyncpg.Connection, model: ReadModel,
                shadows: tuple[str, ...], to_position: int | None, progress: bool) -> tuple[str, int]:
    """Fold every event of snapshot S0 into the shadows; returns (S0, events read). Memory: two fetched
    chunks, the COPY chunk being filled and the one in flight."""
    folder = _folder(model, shadows)
    types = types_of(model.families)
    async with snapshot_of_log(read) as log:
        # The count (a full scan) only feeds the progress bar.
        total = await log.count(types, to_position) if progress else None
        reader = _Reader(await log.cursor(types, folder.shape, to_position))
        bar = tqdm(total=total, unit="ev", unit_scale=True, desc=f"replay {model.name}", file=sys.stderr,
                   disable=not progress)
        rows: Rows = {}
        writer = _Writer(write, folder)
        count = 0
        try:
            while batch := await reader.next():
                folder.feed(batch, rows)
                await _drain(write, folder)
                count += len(batch)
                bar.update(len(batch))
                if sum(len(r) for r in rows.values()) >= COPY_ROWS:
                    await writer.flush(rows)
            folder.finish(rows)
            await _drain(write, folder)
            await writer.flush(rows)
            await writer.wait()
            bar.close()
        finally:
            await reader.abandon()
            await writer.abandon()
    return log.snapshot, count


async def _drain(write: asyncpg.Connection, folder: Any) -> None:
    """A projector folder writes its ended streams itself (never while a COPY is in flight: it only COPYs)."""
    if isinstance(folder, ProjectorFolder):
        await folder.drain(write)


async def _late_events(conn: asyncpg.Connection, model: ReadModel, snapshot: str) -> list[RecordedEvent]:
    """Committed events of the model that `snapshot` did not see, in (stream, version) order."""
    return await read_unseen(conn, snapshot, types_of(model.families))


async def _apply_late(conn: asyncpg.Connection, model: ReadModel, shadows: tuple[str, ...],
                      events: list[RecordedEvent]) -> None:
    """Apply late events through the live projector on the shadows; versions already there are skipped."""
    projector = model.projector(*shadows)
    if isinstance(projector, AuditTrail):
        for event in events:
            await projector.handle(conn, event)
        return
    for stream_id, group in groupby(events, key=lambda e: e.stream_id):
        loaded = await projector.load(conn, stream_id)
        doc, version = loaded if loaded is not None else (None, 0)
        fresh = [e.event() for e in group if e.version > version]
        if not fresh:
            continue
        for change in fresh:
            doc = evolve(doc, change)
        await projector.project(conn, stream_id, version + len(fresh), doc)
        if doc is not None:
            await projector.project_events(conn, stream_id, version, fresh)


async def _catch_up(conn: asyncpg.Connection, model: ReadModel, shadows: tuple[str, ...], snapshot: str) -> str:
    """Apply what `snapshot` missed, without blocking writers; returns the snapshot this pass saw."""
    async with conn.transaction(isolation="repeatable_read"):
        seen = await current_snapshot(conn)
        await _apply_late(conn, model, shadows, await _late_events(conn, model, snapshot))
    return seen


async def _index_renames(conn: asyncpg.Connection, live: str, shadow: str) -> list[tuple[str, str]]:
    """(shadow index, live index) pairs with the same definition: the shadow's indexes take the live names."""
    def key(definition: str) -> tuple[str, str]:
        match = INDEX_DEF.match(definition)
        return (match.group(1) or "", match.group(2)) if match else ("", definition)

    rows = await conn.fetch("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1)",
                            [live, shadow])
    live_names = {key(r["indexdef"]): r["indexname"] for r in rows if r["tablename"] == live}
    return [(r["indexname"], live_names[key(r["indexdef"])]) for r in rows
            if r["tablename"] == shadow and key(r["indexdef"]) in live_names]


async def _advance_checkpoint(conn: asyncpg.Connection, name: str) -> None:
    """Every transaction below the current horizon is in the swapped-in tables: the subscriber resumes there
    (events above it that are in the tables too are skipped by the subscriber's per-stream versions)."""
    current = await load_checkpoint(conn, name)
    await save_checkpoint(conn, name, max(current, await horizon(conn)))


async def _swap(conn: asyncpg.Connection, model: ReadModel, shadows: tuple[str, ...], snapshot: str) -> None:
    async with conn.transaction():
        if model.checkpoint:
            # Why first: the live subscriber locks its checkpoint row before writing these tables (same order).
            await load_checkpoint(conn, model.checkpoint, for_update=True)
        for live in model.tables:
            # ACCESS EXCLUSIVE at once (the drop needs it): upgrading from a weaker lock would deadlock with a
            # command that read the table and waits to write it. Readers and writers wait the few milliseconds
            # of this transaction, then use the new tables (PostgreSQL resolves a table name again after waiting).
            await conn.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
        await _apply_late(conn, model, shadows, await _late_events(conn, model, snapshot))
        if model.checkpoint:
            await _advance_checkpoint(conn, model.checkpoint)
        for live, shadow in zip(model.tables, shadows, strict=True):
            renames = await _index_renames(conn, live, shadow)
            await conn.execute(f"DROP TABLE {live}")
            await conn.execute(f"ALTER TABLE {shadow} RENAME TO {live}")
            for shadow_index, live_index in renames:
                await conn.execute(f'ALTER INDEX "{shadow_index}" RENAME TO "{live_index}"')


class ReplayBusy(Exception):
    """Another replay of the same read model holds its lock."""


async def replay_model(database_url: str, name: str, to_position: int | None = None,
                       progress: bool = True) -> ReplayResult:
    """Rebuild one read model (see the module comment); the live model is untouched unless the swap commits."""
    model = READ_MODELS[name]
    suffix = "_shadow" if to_position is None else f"_at_{to_position}"
    shadows = tuple(t + suffix for t in model.tables)
    started = time.perf_counter()
    read, write = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    finished = False
    # Why bare shadows only for COPY-loaded models: a projector's upserts need the primary key during the load.
    bare = model.name in _COPY_FOLDERS or model.name == "tasks"
    try:
        # Why a lock: two replays of one model would drop and fill the same shadow tables.
        if not await write.fetchval("SELECT pg_try_advisory_lock($1)", stream_lock_key(f"replay:{name}")):
            raise ReplayBusy(f"another replay of {name} is running")
        await create_shadows(write, model.tables, shadows, with_indexes=not bare)
        helper_growth = 0
        if model.name == "tasks":
            snapshot, count, helper_growth = await bulk_load(database_url, read, write, shadows[0],
                                                             types_of(model.families), to_position, progress)
        else:
            snapshot, count = await _bulk(read, write, model, shadows, to_position, progress)
        if bare:
            await build_indexes([write, read], model.tables, shadows)
        for shadow in shadows:
            # Fresh tables have no planner statistics; give them before they serve queries.
            await write.execute(f"ANALYZE {shadow}")
        if to_position is None:
            await _swap(write, model, shadows, await _catch_up(write, model, shadows, snapshot))
        finished = True
        return ReplayResult(name, count, time.perf_counter() - started,
                            model.tables if to_position is None else shadows, to_position is None, helper_growth)
    finally:
        if not finished:
            await asyncio.shield(_drop(write, shadows))
        await read.close()
        await write.close()


async def replay(database_url: str, names: list[str], to_position: int | None = None,
                 progress: bool = True) -> list[ReplayResult]:
    """Rebuild the named read models one after the other."""
    return [await replay_model(database_url, name, to_position, progress) for name in names]
