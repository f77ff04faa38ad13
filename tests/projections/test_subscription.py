"""G5: exactly-once effect in subscribers, and a failing subscriber stops without skipping."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from taskstream.api.context import AppContext
from taskstream.commands.store import LogPosition, RecordedEvent, read_after
from taskstream.projections.subscription import (
    LogSubscription,
    SubscriberFailed,
    apply_from_kafka,
    apply_from_log,
    load_checkpoint,
    save_checkpoint,
)
from taskstream.schemas.ids import new_id
from tests.conftest import Tenant
from tests.projections.counting_subscriber import TABLE, CountingSubscriber, counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
async def counts_table(ctx: AppContext) -> None:
    await ctx.pool.execute(TABLE)


async def _write_some(tenant: Tenant, tasks: int = 5, edits: int = 3) -> None:
    for i in range(tasks):
        task = await tenant.create_task(f"g5-{i}")
        for j in range(edits):
            await tenant.call("tasks.edit", task=task, comment=f"edit {j}")


async def _log_counts(ctx: AppContext) -> Counter[str]:
    async with ctx.pool.acquire() as conn:
        events = await read_after(conn, LogPosition(), limit=1_000_000)
    return Counter(e.stream_id for e in events)


async def test_same_batch_twice_changes_nothing(ctx: AppContext, tenant: Tenant) -> None:
    await _write_some(tenant)
    subscriber = CountingSubscriber(f"twice-{new_id()}")
    async with ctx.pool.acquire() as conn:
        batch = await read_after(conn, LogPosition(), limit=1_000_000)
        first = await apply_from_log(conn, subscriber, batch)
        second = await apply_from_log(conn, subscriber, batch)
        result = await counts(conn, subscriber.name)

    assert (first, second) == (len(batch), 0)
    assert result == Counter(e.stream_id for e in batch)


async def test_killed_after_apply_before_checkpoint_restarts_to_the_same_state(
        ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    await _write_some(tenant)
    name = f"crash-{new_id()}"
    crash_after = sum((await _log_counts(ctx)).values()) // 2 + 3
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.projections.counting_subscriber", database_url, name, str(crash_after)],
        cwd=ROOT, capture_output=True, timeout=60)
    assert crashed.returncode == 9
    async with ctx.pool.acquire() as conn:
        # The batch holding the crash was applied but never committed: the state is exactly the checkpointed
        # prefix of the log, and it stops short of the crash.
        checkpoint = await load_checkpoint(conn, name)
        assert checkpoint.position > 0
        prefix = [e for e in await read_after(conn, LogPosition(), limit=1_000_000) if e.log_position <= checkpoint]
        assert await counts(conn, name) == Counter(e.stream_id for e in prefix)
        assert sum((await counts(conn, name)).values()) < crash_after

    await LogSubscription(ctx.pool, CountingSubscriber(name), batch_size=10).catch_up()

    async with ctx.pool.acquire() as conn:
        assert await counts(conn, name) == await _log_counts(ctx)


async def test_a_failing_subscriber_stops_at_the_event_and_never_skips_it(ctx: AppContext, tenant: Tenant) -> None:
    await _write_some(tenant, tasks=2, edits=1)
    async with ctx.pool.acquire() as conn:
        events = await read_after(conn, LogPosition(), limit=1_000_000)
    poison = events[len(events) // 2]
    subscriber = CountingSubscriber(f"fail-{new_id()}", fail_on=str(poison.event_id))

    with pytest.raises(SubscriberFailed, match=str(poison.event_id)):
        await LogSubscription(ctx.pool, subscriber, batch_size=7).catch_up()

    async with ctx.pool.acquire() as conn:
        checkpoint = await load_checkpoint(conn, subscriber.name)
        applied = await counts(conn, subscriber.name)
    assert checkpoint < poison.log_position
    assert sum(applied.values()) == len([e for e in events if e.log_position <= checkpoint])
    with pytest.raises(SubscriberFailed):
        await LogSubscription(ctx.pool, subscriber, batch_size=7).catch_up()


async def test_kafka_deliveries_are_deduplicated_per_stream_version(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("dedupe")
    for j in range(3):
        await tenant.call("tasks.edit", task=task, comment=f"{j}")
    async with ctx.pool.acquire() as conn:
        from taskstream.commands.store import read_stream

        v1, v2, v3, v4 = await read_stream(conn, task)
        subscriber = CountingSubscriber(f"kafka-{new_id()}")
        # v3 ahead of v2 (a resend after a broker failure), then everything again.
        applied = [await apply_from_kafka(conn, subscriber, batch)
                   for batch in ([v1, v3], [v2, v3, v4], [v1, v2, v3, v4])]
        row = await conn.fetchrow("SELECT n, last_version FROM test_counts WHERE subscriber = $1",
                                  subscriber.name)

    assert applied == [1, 3, 0]
    assert (row["n"], row["last_version"]) == (4, 4)


class LosesItsConnectionOnce(CountingSubscriber):
    """Has PostgreSQL end its own session on one event, once: what a restart of the database does mid-batch."""

    def __init__(self, name: str, on: str) -> None:
        super().__init__(name)
        self.on, self.lost = on, False

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if str(event.event_id) == self.on and not self.lost:
            self.lost = True
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        await super().handle(conn, event)


async def test_a_lost_database_connection_is_retried_not_a_subscriber_failure(ctx: AppContext, tenant: Tenant
                                                                               ) -> None:
    await _write_some(tenant, tasks=2, edits=1)
    name = f"lost-{new_id()}"
    async with ctx.pool.acquire() as conn:
        # The subscriber starts near the end of the log (the session's log is long), with the last 20 events to do.
        everything = await read_after(conn, LogPosition(), limit=1_000_000)
        await load_checkpoint(conn, name)
        await save_checkpoint(conn, name, everything[-21].log_position)
    events = everything[-20:]
    subscriber = LosesItsConnectionOnce(name, on=str(events[10].event_id))

    following = asyncio.create_task(LogSubscription(ctx.pool, subscriber, batch_size=7).run())
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not following.done():
            async with ctx.pool.acquire() as conn:
                applied = await counts(conn, name)
            if sum(applied.values()) >= len(events):
                break
            await asyncio.sleep(0.05)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following

    assert subscriber.lost
    assert applied == Counter(e.stream_id for e in events), "each event applied once, the lost batch again"
