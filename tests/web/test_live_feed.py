"""The live feed (`projections.live_feed`): one follower of the log, fanned out per company and per task, resumed
from a position still in memory, and told to reload when the position is older."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from taskstream.api.context import AppContext
from taskstream.commands.store import latest_readable
from taskstream.projections.live_feed import Listener, LiveFeed, LiveMessage, format_position, parse_position
from tests.conftest import Tenant


@pytest.fixture
async def feed(ctx: AppContext) -> AsyncIterator[LiveFeed]:
    running = LiveFeed(ctx.pool, poll_interval=0.02)
    task = asyncio.create_task(running.run())
    await running.started.wait()
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _next(listener: Listener, task_id: str) -> LiveMessage:
    """The next message about `task_id` (others' messages of the shared test database are skipped)."""
    while True:
        message = await asyncio.wait_for(listener.queue.get(), 5)
        assert message is not None
        if message.stream == task_id:
            return message


async def test_a_company_sees_its_changes_and_only_its_own(feed: LiveFeed, tenant: Tenant,
                                                          other_tenant: Tenant) -> None:
    mine, theirs = Listener(tenant.company), Listener(other_tenant.company)
    assert await feed.subscribe(mine, None) and await feed.subscribe(theirs, None)
    task_id = await tenant.create_task("live one")
    await tenant.call("tasks.started", task=task_id)
    created, started = await _next(mine, task_id), await _next(mine, task_id)
    assert created.type == "TaskCreated" and created.data["fields"]["status"] == "created"
    assert started.data["fields"]["status"] == "in_progress" and started.position > created.position
    await asyncio.sleep(0.2)
    assert all(m is None or m.company == other_tenant.company for m in _drain(theirs))


def _drain(listener: Listener) -> list[LiveMessage | None]:
    found = []
    while not listener.queue.empty():
        found.append(listener.queue.get_nowait())
    return found


async def test_a_reconnect_resumes_after_its_last_position(feed: LiveFeed, tenant: Tenant) -> None:
    first = Listener(tenant.company)
    await feed.subscribe(first, None)
    task_id = await tenant.create_task("resumed")
    seen = await _next(first, task_id)
    feed.unsubscribe(first)
    await tenant.call("tasks.started", task=task_id)  # while disconnected
    await tenant.call("tasks.stopped", task=task_id)
    await _until(lambda: feed.position > seen.position)
    await asyncio.sleep(0.2)
    again = Listener(tenant.company)
    assert await feed.subscribe(again, parse_position(format_position(seen.position)))
    missed = [await _next(again, task_id), await _next(again, task_id)]
    assert [m.data["fields"]["status"] for m in missed] == ["in_progress", "stopped"]


async def test_a_position_older_than_the_memory_asks_for_a_reload(feed: LiveFeed, tenant: Tenant) -> None:
    assert not await feed.subscribe(Listener(tenant.company), parse_position("1-1"))
    assert parse_position("junk") is None and parse_position("1-" + "9" * 60) is None


async def test_task_listeners_get_new_telemetry_once_per_batch(feed: LiveFeed, tenant: Tenant) -> None:
    task_id = await tenant.create_task("telemetry")
    watcher = Listener(tenant.company, frozenset([task_id]), telemetry=True)
    await feed.subscribe(watcher, None)
    lines = "\n".join(
        f'{{"type": "training_stats_scalar", "task": "{task_id}", "iter": {i}, "metric": "loss", "variant": "v", '
        f'"value": {1 / i}, "timestamp": 1000}}' for i in range(1, 4))
    response = await tenant.raw("/events.add_batch", content=lines.encode(),
                                headers={"Content-Type": "application/json-lines"})
    assert response.json()["meta"]["result_code"] == 200
    telemetry = await _next(watcher, task_id)
    while telemetry.kind != "telemetry":  # the task's own events come first (TaskCreated, MetricsReported)
        telemetry = await _next(watcher, task_id)
    assert [e["iter"] for e in telemetry.data["events"]] == [1, 2, 3]


async def _until(condition: object) -> None:
    for _ in range(250):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
async def quiet_feed(ctx: AppContext) -> AsyncIterator[LiveFeed]:
    """A feed that rests as soon as nobody watches (no grace), checking the log's end every 20 ms."""
    running = LiveFeed(ctx.pool, poll_interval=0.02, idle_interval=0.02, grace=0.0)
    task = asyncio.create_task(running.run())
    await running.started.wait()
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_resting_feed_keeps_nothing_but_follows_the_end_of_the_log(quiet_feed: LiveFeed,
                                                                         tenant: Tenant) -> None:
    await _until(lambda: quiet_feed.resting)
    before = quiet_feed.position
    await tenant.create_task("while nobody watches")
    await _until(lambda: quiet_feed.position > before)
    assert quiet_feed.resting and not quiet_feed.buffer


async def test_a_page_rendered_while_resting_gets_every_later_change(ctx: AppContext, tenant: Tenant) -> None:
    feed = LiveFeed(ctx.pool, poll_interval=0.02, idle_interval=0.02, grace=1.0)
    running = asyncio.create_task(feed.run())
    try:
        await _until(lambda: feed.resting)
        task_id = await tenant.create_task("rendered")
        async with ctx.pool.acquire() as conn:
            created = await latest_readable(conn)
        assert created is not None
        await _until(lambda: feed.resting and feed.position >= created)  # moved on without reading
        rendered_at = feed.wake()  # what a page does before its reads
        await tenant.call("tasks.started", task=task_id)  # between the page's reads and its stream
        await tenant.call("tasks.stopped", task=task_id)
        await asyncio.sleep(0.3)
        listener = Listener(tenant.company)
        assert await feed.subscribe(listener, rendered_at)
        changes = [await _next(listener, task_id), await _next(listener, task_id)]
        assert [m.data["fields"]["status"] for m in changes] == ["in_progress", "stopped"]
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_resting_feed_starts_at_a_newer_position_from_another_process(ctx: AppContext,
                                                                            tenant: Tenant) -> None:
    feed = LiveFeed(ctx.pool, idle_interval=60.0, grace=0.0)  # rests, and will not look at the log's end again
    running = asyncio.create_task(feed.run())
    try:
        await _until(lambda: feed.resting)
        task_id = await tenant.create_task("elsewhere")
        async with ctx.pool.acquire() as conn:
            head = await latest_readable(conn)  # where another process's follower stands: past the creation
        assert head is not None and head > feed.position
        await tenant.call("tasks.started", task=task_id)
        listener = Listener(tenant.company)
        assert await feed.subscribe(listener, head)
        first = await _next(listener, task_id)
        assert first.type != "TaskCreated" and first.data["fields"]["status"] == "in_progress"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_position_beyond_the_log_does_not_move_a_resting_feed(quiet_feed: LiveFeed, tenant: Tenant) -> None:
    """`Last-Event-ID` is the browser's to send: a made-up position past the log's end answers "reload" and leaves
    the follower where it was, so other browsers still get every change."""
    await _until(lambda: quiet_feed.resting)
    before = quiet_feed.position
    assert not await quiet_feed.subscribe(Listener(tenant.company), parse_position(f"{2**62}-{2**62}"))
    assert quiet_feed.position < parse_position(f"{2**62}-0")  # type: ignore[operator]
    watcher = Listener(tenant.company)
    assert await quiet_feed.subscribe(watcher, None)
    task_id = await tenant.create_task("after a made-up position")
    assert (await _next(watcher, task_id)).type == "TaskCreated" and quiet_feed.position >= before
