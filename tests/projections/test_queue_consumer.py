"""Queue consumers (issue 4 item 5): entries are received in order and claimed exactly once (G10), across several
consumers, concurrent `get_next_task` callers, consumer restarts, and from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from taskstream.api.context import AppContext
from taskstream.commands.store import read_stream
from taskstream.projections.kafka_codec import all_topics
from taskstream.projections.queue_consumer import QueueConsumer
from taskstream.projections.relay import Relay
from taskstream.schemas.ids import new_id
from tests.conftest import Tenant
from tests.projections.kafka_helpers import wait_for


class Received:
    """A consumer's callback: records the tasks handed to it, optionally pausing in each (a busy worker)."""

    def __init__(self, pause: float = 0.0) -> None:
        self.tasks: list[str] = []
        self.pause = pause

    async def __call__(self, entry: dict[str, Any]) -> None:
        self.tasks.append(entry["task"])
        await asyncio.sleep(random.uniform(0, self.pause))


@contextlib.asynccontextmanager
async def consuming(consumer: QueueConsumer) -> AsyncIterator[asyncio.Task[None]]:
    """Run the consumer for the block (started once it watches its queue), cancelled at its end."""
    ready = asyncio.Event()
    task = asyncio.create_task(consumer.run(ready))
    waiter = asyncio.ensure_future(ready.wait())
    await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def new_queue(tenant: Tenant) -> str:
    return str((await tenant.call("queues.create", name=f"consumed-{new_id()[:8]}"))["id"])


async def enqueue(tenant: Tenant, queue_id: str, count: int, label: str = "t") -> list[str]:
    tasks = []
    for index in range(count):
        task_id = await tenant.create_task(f"{label} {index}")
        await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
        tasks.append(task_id)
    return tasks


async def claims_in_log(ctx: AppContext, queue_id: str) -> Counter[str]:
    """How many times each task was claimed, from the queue's own stream (the fact, not what callbacks saw)."""
    async with ctx.pool.acquire() as conn:
        events = await read_stream(conn, queue_id)
    return Counter(e.data["task"] for e in events if e.type == "TaskUnqueued" and e.data["reason"] == "claimed")


async def test_entries_are_received_in_enqueue_order_including_those_waiting_at_start(
        ctx: AppContext, tenant: Tenant) -> None:
    queue_id = await new_queue(tenant)
    waiting = await enqueue(tenant, queue_id, 3, "before")
    received = Received()
    async with consuming(QueueConsumer(ctx.pool, queue_id, "ordered", received, poll_interval=0.01)):
        later = await enqueue(tenant, queue_id, 12, "after")
        await wait_for(lambda: len(received.tasks) >= 15, timeout=30, interval=0.05)
    assert received.tasks == waiting + later
    assert (await tenant.call("queues.get_by_id", queue=queue_id))["queue"]["entries"] == []
    assert await claims_in_log(ctx, queue_id) == Counter(waiting + later)


async def test_three_consumers_and_get_next_task_callers_claim_each_task_exactly_once(
        ctx: AppContext, tenant: Tenant) -> None:
    queue_id = await new_queue(tenant)
    consumers = {name: Received(pause=0.02) for name in ("c1", "c2", "c3")}
    polled: list[str] = []
    stop = asyncio.Event()

    async def agent() -> None:  # an agent polling get_next_task beside the pushed consumers
        while not stop.is_set():
            got = await tenant.call("queues.get_next_task", queue=queue_id)
            if got.get("entry"):
                polled.append(got["entry"]["task"])
            await asyncio.sleep(0.05)  # an agent's poll interval: the pushed consumers get their share too

    async with contextlib.AsyncExitStack() as stack:
        for name, received in consumers.items():
            await stack.enter_async_context(
                consuming(QueueConsumer(ctx.pool, queue_id, name, received, poll_interval=0.01)))
        agents = [asyncio.create_task(agent()) for _ in range(2)]
        batches = await asyncio.gather(*(enqueue(tenant, queue_id, 20, f"w{i}") for i in range(3)))
        enqueued = [t for batch in batches for t in batch]

        def handed_out() -> int:
            return len(polled) + sum(len(r.tasks) for r in consumers.values())

        await wait_for(lambda: handed_out() >= len(enqueued), timeout=60, interval=0.05)
        await asyncio.sleep(0.5)  # a double hand-out would show up here
        stop.set()
        await asyncio.gather(*agents)
    everyone = polled + [t for r in consumers.values() for t in r.tasks]
    assert sorted(everyone) == sorted(enqueued)
    assert sum(len(r.tasks) for r in consumers.values()) > 0
    assert await claims_in_log(ctx, queue_id) == Counter(enqueued)


async def test_a_restarted_consumer_resumes_without_claiming_anything_twice(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = await new_queue(tenant)
    busy, release = asyncio.Event(), asyncio.Event()
    first: list[str] = []

    async def blocks_on_third(entry: dict[str, Any]) -> None:
        first.append(entry["task"])
        if len(first) == 3:
            busy.set()
            await release.wait()  # stopped while running its third task

    async with consuming(QueueConsumer(ctx.pool, queue_id, "restarted", blocks_on_third, poll_interval=0.01)):
        before = await enqueue(tenant, queue_id, 6, "before")
        await asyncio.wait_for(busy.wait(), 30)
    during = await enqueue(tenant, queue_id, 4, "while stopped")
    received = Received()
    async with consuming(QueueConsumer(ctx.pool, queue_id, "restarted", received, poll_interval=0.01)):
        after = await enqueue(tenant, queue_id, 3, "after")
        await wait_for(lambda: len(received.tasks) >= 10, timeout=30, interval=0.05)
        await asyncio.sleep(0.3)
    assert first == before[:3]  # the third was claimed when the consumer stopped: not handed out again
    assert received.tasks == before[3:] + during + after
    assert await claims_in_log(ctx, queue_id) == Counter(before + during + after)


async def test_a_consumer_stops_when_its_queue_is_deleted(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = await new_queue(tenant)
    received = Received()
    async with consuming(QueueConsumer(ctx.pool, queue_id, "ends", received, poll_interval=0.01)) as running:
        tasks = await enqueue(tenant, queue_id, 2)
        await wait_for(lambda: len(received.tasks) == 2, timeout=30, interval=0.05)
        await tenant.call("queues.delete", queue=queue_id)
        await asyncio.wait_for(running, 30)
    assert received.tasks == tasks


async def test_an_unknown_queue_is_refused(ctx: AppContext) -> None:
    with pytest.raises(LookupError):
        await QueueConsumer(ctx.pool, new_id(), "nobody", Received()).run()


@pytest.mark.kafka
async def test_a_kafka_fed_consumer_receives_in_order_beside_an_agent(
        ctx: AppContext, tenant: Tenant, database_url: str, kafka_bootstrap: str) -> None:
    prefix = f"q{new_id()[:12]}."
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=1) for t in all_topics(prefix)])
    finally:
        await admin.close()
    queue_id = await new_queue(tenant)
    received = Received()
    relay = asyncio.create_task(Relay(database_url, kafka_bootstrap, topic_prefix=prefix).run())
    try:
        consumer = QueueConsumer(ctx.pool, queue_id, "kafka", received, bootstrap=kafka_bootstrap,
                                 topic_prefix=prefix)
        async with consuming(consumer):
            tasks = await enqueue(tenant, queue_id, 10)
            polled = (await tenant.call("queues.get_next_task", queue=queue_id)).get("entry")
            tasks += await enqueue(tenant, queue_id, 5, "more")
            expected = [t for t in tasks if not polled or t != polled["task"]]
            await wait_for(lambda: len(received.tasks) >= len(expected), timeout=60, interval=0.05)
            await asyncio.sleep(0.5)
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    assert received.tasks == expected
    assert await claims_in_log(ctx, queue_id) == Counter(tasks)
