"""The claim handler (`commands.handlers.queues.claim`) that `queues.get_next_task` and queue consumers share: an
entry is handed out once, whichever of them asks."""

from __future__ import annotations

from taskstream.api.context import AppContext
from taskstream.commands.handlers import queues
from taskstream.commands.handlers.context import Caller
from taskstream.commands.messages import ClaimTask
from taskstream.commands.session import Actor
from taskstream.commands.store import read_stream
from tests.conftest import Tenant


def consumer(tenant: Tenant) -> Caller:
    return Caller(Actor(tenant.company, ""), {"company": tenant.company, "endpoint": "queues.get_next_task"})


async def queued(tenant: Tenant, queue_id: str) -> str:
    task_id = await tenant.create_task("claimed")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    return task_id


async def test_a_named_entry_is_claimed_once(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="claims"))["id"]
    task_id = await queued(tenant, queue_id)
    async with ctx.pool.acquire() as conn:
        version = len(await read_stream(conn, queue_id))  # the entry's position is its event's stream version
    command = ClaimTask(queue_id, task_id, version)
    first = await queues.claim(ctx.commands, consumer(tenant), command)
    assert first["entry"]["task"] == task_id
    assert await queues.claim(ctx.commands, consumer(tenant), command) == {}, "the entry is gone"
    async with ctx.pool.acquire() as conn:
        assert len(await read_stream(conn, queue_id)) == version + 1, "a repeated claim appends nothing"


async def test_an_entry_taken_by_get_next_task_is_not_claimed_again(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="shared"))["id"]
    task_id = await queued(tenant, queue_id)
    async with ctx.pool.acquire() as conn:
        position = len(await read_stream(conn, queue_id))
    assert (await tenant.call("queues.get_next_task", queue=queue_id))["entry"]["task"] == task_id
    assert await queues.claim(ctx.commands, consumer(tenant), ClaimTask(queue_id, task_id, position)) == {}


async def test_a_deleted_queue_is_no_entry_for_a_consumer(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="gone"))["id"]
    task_id = await queued(tenant, queue_id)
    await tenant.call("queues.delete", queue=queue_id, force=True)
    assert await queues.claim(ctx.commands, consumer(tenant), ClaimTask(queue_id, task_id, 2)) == {}
