"""The task replay's bulk read (`LogSnapshot.streams`: each stream's events as rows of one JSON array) and its load
in parts over several processes: every event once, in version order, long streams over several rows, integers
beyond 64 bits kept exactly, a failing part failing the whole replay. On a database of their own: the histories
here are written straight into the log (the shared log must stay a valid history for the other replay tests)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from taskstream.commands import store
from taskstream.commands.store import StreamRow, snapshot_of_log
from taskstream.projections import replay_streams
from taskstream.projections.replay import replay_model
from tests.conftest import scratch_database

BIG = 123456789012345678901  # beyond 64 bits: orjson alone would read it as a float


@pytest.fixture
async def log_url(database_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    async with scratch_database(database_url, "replay_streams") as url:
        yield url


async def append(conn: asyncpg.Connection, stream_id: str, version: int, type_name: str, data: dict[str, Any]
                 ) -> int:
    """One raw event; its log position."""
    return int(await conn.fetchval(
        "INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata) "
        "VALUES ($1, $2, $3, $4, 1, $5::jsonb, '{}'::jsonb) RETURNING position",
        stream_id, version, uuid.uuid4(), type_name, json.dumps(data)))


def created(task_id: str, **fields: Any) -> dict[str, Any]:
    return {"task": {"id": task_id, "name": task_id, "company": "c", "status": "created", **fields},
            "cloned_from": None}


def edited(**fields: Any) -> dict[str, Any]:
    return {"set": fields, "unset": [], "quiet": [], "force": False}


async def read_streams(conn: asyncpg.Connection, **options: Any) -> list[StreamRow]:
    async with snapshot_of_log(conn) as log:
        return [row async for batch in log.streams(["TaskCreated", "TaskEdited"], **options) for row in batch]


def events_by_stream(rows: list[StreamRow]) -> dict[str, list[str]]:
    """Each stream's comments in the order read; asserts a stream's rows are consecutive and end at their version."""
    seen: dict[str, list[str]] = {}
    for n, (stream_id, version, events) in enumerate(rows):
        assert stream_id not in seen or rows[n - 1][0] == stream_id, "a stream's rows are consecutive"
        decoded = json.loads(events)
        assert len(decoded) <= store.STREAM_ROW_EVENTS
        seen.setdefault(stream_id, []).extend(data["set"]["comment"] for _, _, data in decoded)
        assert seen[stream_id][-1].endswith(f"-{version}")
    return seen


async def test_stream_rows_hold_every_event_once_in_version_order(log_url: str, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.setattr(store, "STREAM_ROW_EVENTS", 2)
    conn = await asyncpg.connect(log_url)
    positions = {}
    for stream_id, length in (("s-a", 1), ("s-b", 2), ("s-c", 3), ("s-d", 5)):
        for version in range(1, length + 1):
            positions[stream_id, version] = await append(conn, stream_id, version, "TaskEdited",
                                                         edited(comment=f"{stream_id}-{version}"))
    expected = {s: [f"{s}-{v}" for v in range(1, n + 1)] for s, n in (("s-a", 1), ("s-b", 2), ("s-c", 3), ("s-d", 5))}

    assert events_by_stream(await read_streams(conn)) == expected
    assert events_by_stream(await read_streams(conn, streams=("s-b", "s-d"))) == {
        s: expected[s] for s in ("s-b", "s-c")}
    assert events_by_stream(await read_streams(conn, up_to_position=positions["s-d", 3])) == {
        **{s: expected[s] for s in ("s-a", "s-b", "s-c")}, "s-d": expected["s-d"][:3]}
    await conn.close()


async def test_stream_bounds_split_the_log_by_its_statistics(log_url: str) -> None:
    conn = await asyncpg.connect(log_url)
    for n in range(200):
        await append(conn, f"s-{n:03d}", 1, "TaskEdited", edited(comment="x"))
    async with snapshot_of_log(conn) as log:
        assert await log.stream_bounds(2) == []  # no statistics yet: one part
    await conn.execute("ANALYZE events")
    async with snapshot_of_log(conn) as log:
        bounds = await log.stream_bounds(3)
        assert await log.stream_bounds(1) == []
    assert len(bounds) == 2 and "s-000" < bounds[0] < bounds[1] < "s-199", bounds
    await conn.close()


async def tasks_of(url: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return {r["id"]: {"version": r["version"], "doc": r["doc"], "comment": r["comment"]}
                for r in await conn.fetch("SELECT id, version, doc::text AS doc, comment FROM tasks")}
    finally:
        await conn.close()


@pytest.mark.parametrize("parts", [1, 3])
async def test_replay_in_parts_folds_long_streams_and_big_integers_exactly(
        log_url: str, monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    monkeypatch.setattr(store, "STREAM_ROW_EVENTS", 3)
    monkeypatch.setattr(replay_streams, "PARTS", parts)
    conn = await asyncpg.connect(log_url)
    for n in range(60):
        task = f"t-{n:02d}"
        await append(conn, task, 1, "TaskCreated", created(task, runtime={"big": BIG}))
        for version in range(2, 2 + n % 8):
            await append(conn, task, version, "TaskEdited", edited(comment=f"{task}-{version}"))
    await append(conn, "t-00", 2, "TaskDeleted", {})
    await conn.execute("ANALYZE events")
    await conn.close()

    result = await replay_model(log_url, "tasks", progress=False)

    tasks = await tasks_of(log_url)
    assert result.swapped and result.events == 60 + sum(n % 8 for n in range(60)) + 1
    assert sorted(tasks) == [f"t-{n:02d}" for n in range(1, 60)], "the deleted task has no row"
    for n in range(1, 60):
        task = tasks[f"t-{n:02d}"]
        assert task["version"] == 1 + n % 8
        assert task["comment"] == (f"t-{n:02d}-{1 + n % 8}" if n % 8 else None)
        assert json.loads(task["doc"])["runtime"] == {"big": BIG} and str(BIG) in task["doc"]


@pytest.mark.parametrize("broken", ["a-first", "z-last"])
async def test_a_failing_part_fails_the_replay_and_leaves_no_shadow(
        log_url: str, monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    monkeypatch.setattr(replay_streams, "PARTS", 2)
    conn = await asyncpg.connect(log_url)
    for n in range(100):
        await append(conn, f"m-{n:02d}", 1, "TaskCreated", created(f"m-{n:02d}"))
    await append(conn, broken, 1, "TaskEdited", edited(comment="a change to no task"))
    await conn.execute("ANALYZE events")
    async with snapshot_of_log(conn) as log:
        assert await log.stream_bounds(2), "two parts: the broken stream is in the first or the last"

    with pytest.raises((ValueError, RuntimeError), match="no state"):
        await replay_model(log_url, "tasks", progress=False)

    assert not await conn.fetchval("SELECT to_regclass('tasks_shadow') IS NOT NULL")
    assert await conn.fetchval("SELECT count(*) FROM tasks") == 0, "the live model is untouched"
    await conn.close()
