"""The non-responsive watchdog: stops stale in_progress tasks once, attributed to the system, with several
replicas sweeping at the same time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from taskstream.api.context import AppContext
from taskstream.commands.store import read_stream
from taskstream.projections.watchdog import Watchdog
from taskstream.schemas.clock import utc_now
from tests.conftest import Tenant

REASON = "Forced stop (non-responsive)"


async def test_two_replicas_stop_each_stale_task_exactly_once(ctx: AppContext, tenant: Tenant) -> None:
    running = [await tenant.create_task(f"running-{i}") for i in range(12)]
    for task in running:
        await tenant.call("tasks.started", task=task)
    idle = await tenant.create_task("never started")
    later = utc_now() + timedelta(hours=3)
    replicas = [Watchdog(ctx.pool, ctx.stores, threshold=timedelta(hours=2)) for _ in range(2)]

    stopped = await asyncio.gather(*(w.sweep(later) for w in replicas))

    assert sum(stopped) >= len(running)
    for task in running:
        doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
        assert (doc["status"], doc["status_reason"], doc["status_message"]) == ("stopped", REASON, REASON)
        async with ctx.pool.acquire() as conn:
            watchdog_events = [e for e in await read_stream(conn, task) if e.type == "TaskStoppedNonResponsive"]
        assert len(watchdog_events) == 1
        assert watchdog_events[0].metadata["user"] == "__system__"
        assert watchdog_events[0].metadata["company"] == tenant.company
    assert (await tenant.call("tasks.get_by_id", task=idle))["task"]["status"] == "created"


async def test_a_task_updated_within_the_threshold_is_left_running(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("alive")
    await tenant.call("tasks.started", task=task)

    await Watchdog(ctx.pool, ctx.stores, threshold=timedelta(hours=2)).sweep(utc_now() + timedelta(hours=1))

    assert (await tenant.call("tasks.get_by_id", task=task))["task"]["status"] == "in_progress"
