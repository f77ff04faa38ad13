"""Guarantees of the event log on the real PostgreSQL.

G1: per-task optimistic concurrency (contiguous versions, one winner per version, no lost update).
G3: a command's events and read-model rows commit together or not at all (also when the backend dies).
G4: `read_after` never skips an event and keeps per-stream order: two writers x 1000 events under a polling
reader; a slow open transaction holding an early position; a rolled-back append.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from taskstream.api.context import AppContext
from taskstream.commands import store
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import CommandSession
from taskstream.commands.store import LogPosition, RecordedEvent, StaleVersion
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import TaskUpdated
from tests.conftest import Tenant


def stream_name(label: str) -> str:
    return f"g-{label}-{uuid.uuid4().hex}"


async def drain(conn: asyncpg.Connection, after: LogPosition) -> tuple[LogPosition, list[RecordedEvent]]:
    """Read everything visible after `after`; returns the new position and the events, in read order."""
    read: list[RecordedEvent] = []
    while batch := await store.read_after(conn, after, limit=500):
        read.extend(batch)
        after = batch[-1].log_position
    return after, read


async def append_one(conn: asyncpg.Connection, stream_id: str, version: int, value: int) -> None:
    """One command transaction: take the stream lock first (it assigns no txid), then append."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", store.stream_lock_key(stream_id))
        await store.append(conn, stream_id, version, [TaskUpdated(set={"value": value})], {"test": True})


# --- G1 ---------------------------------------------------------------------------------------------------------

async def test_g1_concurrent_http_writers_get_contiguous_versions(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("contended")
    writers = 30
    results = await asyncio.gather(*[tenant.call("tasks.update", task=task_id, comment=f"writer {i}")
                                     for i in range(writers)])
    assert all(r["updated"] == 1 for r in results)
    async with ctx.pool.acquire() as conn:
        recorded = await store.read_stream(conn, task_id)
    assert [e.version for e in recorded] == list(range(1, writers + 2))
    comments = sorted(e.data["set"]["comment"] for e in recorded[1:])
    assert comments == sorted(f"writer {i}" for i in range(writers)), "each writer won exactly one version"
    row = await ctx.pool.fetchrow("SELECT version, doc FROM tasks WHERE id = $1", task_id)
    assert row["version"] == writers + 1
    assert json.loads(row["doc"])["comment"] == recorded[-1].data["set"]["comment"], "read model = last event"


async def test_g1_no_lost_update_under_concurrent_read_modify_write(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("counter")

    async def increment(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("task", task_id)
        assert stream.doc is not None
        count = stream.doc.get("runtime", {}).get("count", 0)
        await asyncio.sleep(0)  # give the others every chance to interleave
        await session.save("task", stream, [TaskUpdated(set={"runtime.count": count + 1})])
        return {}

    metadata = {"company": tenant.company, "user": tenant.user}
    await asyncio.gather(*[run_command(ctx.commands, tenant.company, metadata, increment) for _ in range(25)])
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["runtime"]["count"] == 25


async def test_g1_stale_expected_version_has_exactly_one_winner(raw_log_pool: asyncpg.Pool) -> None:
    stream_id = stream_name("stale")
    async with raw_log_pool.acquire() as conn:
        await store.append(conn, stream_id, 0, [TaskUpdated(set={"v": 0})], {})

    async def contender(value: int) -> bool:
        async with raw_log_pool.acquire() as conn, conn.transaction():
            try:
                await store.append(conn, stream_id, 1, [TaskUpdated(set={"v": value})], {})
            except StaleVersion:
                return False
            await asyncio.sleep(0.01)
            return True

    wins = await asyncio.gather(*[contender(i) for i in range(8)])
    assert wins.count(True) == 1
    async with raw_log_pool.acquire() as conn:
        assert [e.version for e in await store.read_stream(conn, stream_id)] == [1, 2]



# --- a statement run with the append ----------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    "INSERT INTO projected_here VALUES ($8, $9)",  # numbered as if already shifted past the append's parameters
    "INSERT INTO projected_here VALUES ($1, $3)",  # a gap: $3 would bind nothing of its own
    "INSERT INTO projected_here VALUES ($1, $1)",  # an argument left unbound
])
async def test_a_statement_numbered_other_than_from_1_is_refused_before_anything_is_written(
        raw_log_pool: asyncpg.Pool, wrong: str) -> None:
    stream_id = stream_name("numbering")
    async with raw_log_pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE projected_here (id text, n int) ON COMMIT DROP")
        with pytest.raises(ValueError, match=r"exactly \$1\.\.\$2"):
            await store.append(conn, stream_id, 0, [TaskUpdated(set={"v": 1})], {}, then=(wrong, [stream_id, 7]))
        assert await store.read_stream(conn, stream_id) == []
        assert await conn.fetch("SELECT * FROM projected_here") == []


async def test_a_statement_numbered_from_1_binds_its_own_arguments_after_the_append(
        raw_log_pool: asyncpg.Pool) -> None:
    stream_id = stream_name("numbered")
    async with raw_log_pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE projected_here (id text, n int) ON COMMIT DROP")
        await store.append(conn, stream_id, 0, [TaskUpdated(set={"v": 1})], {"m": 1},
                           then=("INSERT INTO projected_here VALUES ($1, $2)", [stream_id, 7]))
        assert [tuple(r) for r in await conn.fetch("SELECT id, n FROM projected_here")] == [(stream_id, 7)]
        assert [(e.version, e.metadata) for e in await store.read_stream(conn, stream_id)] == [(1, {"m": 1})]

# --- G3 ---------------------------------------------------------------------------------------------------------

async def test_g3_failed_command_leaves_nothing(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("atomic")
    before = await ctx.pool.fetchrow("SELECT version, doc::text AS doc FROM tasks WHERE id = $1", task_id)

    async def fails_after_save(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("task", task_id)
        await session.save("task", stream, [TaskUpdated(set={"comment": "never"})])
        raise ApiError(400, 110)

    with pytest.raises(ApiError):
        await run_command(ctx.commands, tenant.company, {}, fails_after_save)
    assert await ctx.pool.fetchrow("SELECT version, doc::text AS doc FROM tasks WHERE id = $1", task_id) == before
    assert await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", task_id) == 1


async def test_g3_backend_killed_mid_command_leaves_nothing(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("killed")

    async def killed(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("task", task_id)
        await session.save("task", stream, [TaskUpdated(set={"comment": "never"})])
        pid = await session.conn.fetchval("SELECT pg_backend_pid()")
        await ctx.pool.execute("SELECT pg_terminate_backend($1)", pid)
        await session.conn.execute("SELECT 1")
        return {}

    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
        await run_command(ctx.commands, tenant.company, {}, killed)
    assert await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", task_id) == 1
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert "comment" not in task
    await tenant.call("tasks.update", task=task_id, comment="after")
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["comment"] == "after"


# --- G4 ---------------------------------------------------------------------------------------------------------

async def test_g4_two_writers_1000_events_reader_never_skips(raw_log_pool: asyncpg.Pool) -> None:
    streams = [stream_name("w1"), stream_name("w2")]
    per_stream = 1000
    async with raw_log_pool.acquire() as reader:
        start, _ = await drain(reader, LogPosition())
        done = asyncio.Event()

        async def writer(stream_id: str) -> None:
            async with raw_log_pool.acquire() as conn:
                for version in range(per_stream):
                    await append_one(conn, stream_id, version, version + 1)

        polls_with_events = 0

        async def poll() -> list[RecordedEvent]:
            nonlocal polls_with_events
            position, collected = start, []
            while True:
                finished = done.is_set()
                position, batch = await drain(reader, position)
                collected.extend(batch)
                polls_with_events += bool(batch)
                if finished:
                    return collected
                await asyncio.sleep(0.002)

        polling = asyncio.create_task(poll())
        await asyncio.gather(*[writer(s) for s in streams])
        done.set()
        collected = await asyncio.wait_for(polling, 30)
        _, reread = await drain(reader, start)

    assert polls_with_events > 10, "the reader really read while the writers wrote"
    assert [e.event_id for e in collected] == [e.event_id for e in reread], "the poller saw exactly the log"
    ours = [e for e in collected if e.stream_id in streams]
    assert len(ours) == 2 * per_stream and len({e.event_id for e in ours}) == 2 * per_stream
    for stream_id in streams:
        versions = [e.version for e in ours if e.stream_id == stream_id]
        assert versions == list(range(1, per_stream + 1)), "per-stream order kept in read order"
    positions = [(e.txid, e.position) for e in collected]
    assert positions == sorted(positions)


async def test_g4_slow_open_transaction_holds_the_reader_back(raw_log_pool: asyncpg.Pool) -> None:
    slow, fast = stream_name("slow"), stream_name("fast")
    async with raw_log_pool.acquire() as reader, raw_log_pool.acquire() as holder, raw_log_pool.acquire() as writer:
        start, _ = await drain(reader, LogPosition())
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", store.stream_lock_key(slow))
        [early] = await store.append(holder, slow, 0, [TaskUpdated(set={"slow": True})], {})
        for version in range(5):
            await append_one(writer, fast, version, version)
        late = await writer.fetchval("SELECT min(position) FROM events WHERE stream_id = $1", fast)
        assert late > early
        for _ in range(3):
            _, seen = await drain(reader, start)
            assert [e for e in seen if e.stream_id in (slow, fast)] == [], "nothing past the open transaction"
            await asyncio.sleep(0.05)
        await transaction.commit()
        _, seen = await drain(reader, start)
    ours = [(e.stream_id, e.version) for e in seen if e.stream_id in (slow, fast)]
    assert ours == [(slow, 1)] + [(fast, v) for v in range(1, 6)], "the early event first, nothing skipped"


async def test_g4_rolled_back_append_leaves_no_event_and_no_stall(raw_log_pool: asyncpg.Pool) -> None:
    stream_id, other = stream_name("rolled"), stream_name("after")
    async with raw_log_pool.acquire() as reader, raw_log_pool.acquire() as conn:
        start, _ = await drain(reader, LogPosition())
        transaction = conn.transaction()
        await transaction.start()
        await store.append(conn, stream_id, 0, [TaskUpdated(set={"attempt": "rolled back"})], {})
        await transaction.rollback()
        await append_one(conn, other, 0, 1)
        await append_one(conn, stream_id, 0, 2)
        _, seen = await drain(reader, start)
        recorded = await store.read_stream(conn, stream_id)
    ours = [e for e in seen if e.stream_id in (stream_id, other)]
    assert [(e.stream_id, e.version) for e in ours] == [(other, 1), (stream_id, 1)]
    assert [e.data["set"] for e in recorded] == [{"value": 2}], "the rolled-back event never existed"
