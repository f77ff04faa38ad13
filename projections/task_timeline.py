"""A task's past for the web UI's history tab: the audit trail a page at a time, and the task as it was after any
version, folded from the log.

The audit trail (`projections.audit`) is written by a subscriber behind the log, so its newest entries may lag the
task by a moment; the folded view reads the log itself (`commands.store.read_stream`) with the same `evolve` every
projector uses, so "the task as it was at version n" is exactly the state the read model held after event n.
Both follow `tasks.get_history`'s tenancy: the task's latest company must be one of the caller's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg

from taskstream.commands.evolve import evolve
from taskstream.commands.store import read_stream
from taskstream.projections.audit import history_entry
from taskstream.schemas.clock import iso
from taskstream.schemas.events import MetricsReported, TaskPinged, WorkerReported

# Events a running task writes by the thousand (one per reported batch, ping or worker report): hidden from the
# timeline unless asked for, so the changes people made stay in view.
ROUTINE_EVENTS = (MetricsReported.type_name(), TaskPinged.type_name(), WorkerReported.type_name())
MAX_PAGE = 500


@dataclass(frozen=True)
class HistoryPage:
    entries: list[dict[str, Any]]  # newest first, as `tasks.get_history` shapes them
    older: int | None  # the version to pass as `before` for the next (older) page; None at the first event
    hidden: int  # routine events left out of this page's version range


async def _company(conn: asyncpg.Pool | asyncpg.Connection, task_id: str) -> str | None:
    company = await conn.fetchval("SELECT company FROM audit_task_state WHERE task_id = $1", task_id)
    return None if company is None else str(company)


async def history_page(pool: asyncpg.Pool, task_id: str, companies: list[str], limit: int,
                       before: int | None = None, routine: bool = False) -> HistoryPage | None:
    """Up to `limit` (at most MAX_PAGE) audit entries of the task older than version `before` (all when None),
    newest first, routine events left out unless `routine`; None when the task's company is not in `companies`."""
    company = await _company(pool, task_id)
    if company is None or company not in companies:
        return None
    limit = max(1, min(limit, MAX_PAGE))
    skipped = [] if routine else list(ROUTINE_EVENTS)
    rows = await pool.fetch(
        "SELECT * FROM task_audit WHERE task_id = $1 AND ($2::int IS NULL OR version < $2) "
        "AND event_type <> ALL($3::text[]) ORDER BY version DESC LIMIT $4", task_id, before, skipped, limit + 1)
    entries = [history_entry(r) for r in rows[:limit]]
    older = entries[-1]["version"] if len(rows) > limit else None
    low = entries[-1]["version"] if entries else 0
    hidden = 0 if routine else int(await pool.fetchval(
        "SELECT count(*) FROM task_audit WHERE task_id = $1 AND version >= $2 AND ($3::int IS NULL OR version < $3) "
        "AND event_type = ANY($4::text[])", task_id, low if older is not None else 0, before, skipped))
    return HistoryPage(entries, older, hidden)


@dataclass(frozen=True)
class TaskAsOf:
    version: int  # the last version folded
    time: str  # when that event was recorded
    event: str  # its type
    doc: dict[str, Any] | None  # None: the task was deleted by then


AS_OF_CHUNK = 2000  # events read and folded at a time by `task_as_of`


async def task_as_of(pool: asyncpg.Pool, task_id: str, companies: list[str], version: int) -> TaskAsOf | None:
    """The task's document after its event `version` (after its last one when `version` is past it), folded from
    the log; None when the task has no such stream or its latest company is not in `companies`.

    Reads the stream up to `version` only, so the cost follows the version asked for, not the task's age."""
    if version < 1:
        return None
    company = await _company(pool, task_id)
    if company is None or company not in companies:
        return None
    # Why chunks: a long training run's stream holds one event per metrics report, so the fold reads and folds
    # AS_OF_CHUNK events at a time (bounded memory) and gives the event loop back between chunks.
    doc: dict[str, Any] | None = None
    last = None
    start = 1
    while start <= version:
        async with pool.acquire() as conn:
            records = await read_stream(conn, task_id, up_to_version=min(version, start + AS_OF_CHUNK - 1),
                                        from_version=start)
        if not records:
            break
        for record in records:
            doc = evolve(doc, record.event())
        last = records[-1]
        start = last.version + 1
        await asyncio.sleep(0)
    if last is None:
        return None
    return TaskAsOf(last.version, iso(last.recorded), last.type, doc)
