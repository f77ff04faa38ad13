"""G4/G8 through a real Kafka broker: the relay's output is complete and in order per task, through concurrent
writers, a slow open transaction, a rolled-back one, a broker stopped for 30 s, and a relay killed mid-batch
(a standby takes over: duplicates possible, gaps never)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from taskstream.api.context import AppContext
from taskstream.commands.decide_task import decide_create
from taskstream.commands.messages import CreateTask
from taskstream.commands.session import CommandSession, Stream
from taskstream.projections.relay import RELAY_LOCK_KEY, Relay
from taskstream.schemas.clock import utc_now
from taskstream.schemas.ids import new_id
from tests.conftest import Tenant
from tests.projections.kafka_helpers import ROOT, Broker, Recorder, start_consumer, wait_for

pytestmark = pytest.mark.kafka


async def _company_events(ctx: AppContext, company: str) -> dict[str, list[int]]:
    rows = await ctx.pool.fetch(
        "SELECT stream_id, version FROM events WHERE metadata->>'company' = $1 ORDER BY stream_id, version",
        company)
    streams: dict[str, list[int]] = {}
    for r in rows:
        streams.setdefault(r["stream_id"], []).append(r["version"])
    return streams


def _applied(recorder: Recorder, streams: dict[str, list[int]]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for event in recorder.applied:
        if event.stream_id in streams:
            seen.setdefault(event.stream_id, []).append(event.version)
    return seen


async def _writer(tenant: Tenant, task: str, stop: asyncio.Event, pause: float = 0.0) -> int:
    """Edits `task` until `stop`; every call must succeed (the broker is never in the command path)."""
    count = 0
    while not stop.is_set():
        await tenant.call("tasks.edit", task=task, comment=f"edit {count}")
        count += 1
        await asyncio.sleep(pause)
    return count


@contextlib.asynccontextmanager
async def running(work: object) -> AsyncIterator[asyncio.Task[None]]:
    """Run a coroutine (or own an already started task) for the block; cancelled at its end."""
    task = work if isinstance(work, asyncio.Task) else asyncio.create_task(work)  # type: ignore[arg-type]
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _create_in(conn: asyncpg.Connection, ctx: AppContext, tenant: Tenant, name: str) -> str:
    """Create a task through the command layer inside the caller's open transaction (commit is the caller's)."""
    task_id = new_id()
    events = decide_create(CreateTask({"name": name, "type": "training"}), task_id, tenant.company, tenant.user,
                           utc_now())
    session = CommandSession(conn, ctx.stores, {"company": tenant.company, "user": tenant.user})
    await session.save("task", Stream(task_id, None, 0), events)
    return task_id


async def test_relay_output_is_complete_and_ordered_under_concurrent_writers(
        ctx: AppContext, tenant: Tenant, database_url: str, kafka_bootstrap: str) -> None:
    prefix = f"t{new_id()[:12]}."
    recorder, consumer = await start_consumer(ctx.pool, kafka_bootstrap, prefix, f"g4-{new_id()}")
    tasks = [await tenant.create_task(f"g4-{i}") for i in range(2)]
    relay = Relay(database_url, kafka_bootstrap, topic_prefix=prefix)
    async with running(relay.run()), running(consumer):
        async with ctx.pool.acquire() as slow, ctx.pool.acquire() as doomed:
            slow_tx, doomed_tx = slow.transaction(), doomed.transaction()
            await slow_tx.start()
            await doomed_tx.start()
            slow_id = await _create_in(slow, ctx, tenant, "slow")
            doomed_id = await _create_in(doomed, ctx, tenant, "doomed")
            stop = asyncio.Event()
            writers = [asyncio.create_task(_writer(tenant, t, stop)) for t in tasks]
            await asyncio.sleep(2)
            await doomed_tx.rollback()
            await asyncio.sleep(1)
            await slow_tx.commit()
            await asyncio.sleep(1)
            stop.set()
            written = await asyncio.gather(*writers)
        expected = await _company_events(ctx, tenant.company)
        await wait_for(lambda: _applied(recorder, expected) == expected, timeout=60)

    assert sum(written) > 50
    assert doomed_id not in expected
    assert slow_id in _applied(recorder, expected)


async def test_broker_stopped_30s_commands_succeed_and_consumers_get_everything(
        ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    broker = Broker.private()
    await broker.run("start")
    try:
        prefix = f"t{new_id()[:12]}."
        recorder, consumer = await start_consumer(ctx.pool, broker.bootstrap, prefix, f"g8-{new_id()}")
        tasks = [await tenant.create_task(f"g8-{i}") for i in range(3)]
        relay = Relay(database_url, broker.bootstrap, topic_prefix=prefix)
        async with running(relay.run()), running(consumer):
            stop = asyncio.Event()
            writers = [asyncio.create_task(_writer(tenant, t, stop, pause=0.05)) for t in tasks]
            await asyncio.sleep(3)
            await broker.run("stop")
            during = sum(len(v) for v in (await _company_events(ctx, tenant.company)).values())
            await asyncio.sleep(30)
            assert sum(len(v) for v in (await _company_events(ctx, tenant.company)).values()) > during + 100
            await broker.run("start")
            await asyncio.sleep(3)
            stop.set()
            await asyncio.gather(*writers)
            expected = await _company_events(ctx, tenant.company)
            await wait_for(lambda: _applied(recorder, expected) == expected, timeout=90)
    finally:
        await broker.run("stop")


async def _lock_holder(ctx: AppContext) -> int | None:
    high, low = divmod(RELAY_LOCK_KEY, 2**32)
    return await ctx.pool.fetchval(
        """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND classid = $1::bigint::oid AND objid = $2::bigint::oid""", high, low)


async def test_relay_killed_mid_batch_standby_takes_over_without_gaps(
        ctx: AppContext, tenant: Tenant, database_url: str, kafka_bootstrap: str) -> None:
    prefix = f"t{new_id()[:12]}."
    recorder, consumer = await start_consumer(ctx.pool, kafka_bootstrap, prefix, f"kill-{new_id()}")
    tasks = [await tenant.create_task(f"kill-{i}") for i in range(3)]
    leader = subprocess.Popen(
        [sys.executable, "-m", "taskstream.api.cli", "relay", "--kafka", kafka_bootstrap, "--topic-prefix", prefix],
        cwd=ROOT, env={**os.environ, "TASKSTREAM_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await _lock_holder(ctx) is None:
            assert asyncio.get_running_loop().time() < deadline, "the relay process never led"
            await asyncio.sleep(0.2)
        standby = Relay(database_url, kafka_bootstrap, topic_prefix=prefix, standby_interval=0.2)
        async with running(standby.run()), running(consumer):
            stop = asyncio.Event()
            writers = [asyncio.create_task(_writer(tenant, t, stop)) for t in tasks]
            await asyncio.sleep(2)
            assert not standby.leading.is_set()
            leader.send_signal(signal.SIGKILL)
            await asyncio.wait_for(standby.leading.wait(), 15)
            await asyncio.sleep(2)
            stop.set()
            await asyncio.gather(*writers)
            expected = await _company_events(ctx, tenant.company)
            await wait_for(lambda: _applied(recorder, expected) == expected, timeout=60)
        assert standby.published > 0
    finally:
        leader.kill()
        leader.wait()
