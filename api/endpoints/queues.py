"""The queues service (clients.md §4, tasks-behaviour.md §8): create, get_all, get_by_id, get_default, delete,
add_task, remove_task, get_next_task. Each queue is a stream; its entries are projected from its events.

The mutating calls run the queue commands of `commands.handlers.queues` (claims exactly once there, G10).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.commands.handlers import queues
from taskstream.commands.messages import AddQueueEntry, ClaimTask, CreateQueue, DeleteQueue, RemoveQueueEntry
from taskstream.projections.queue_query import list_queues, queue_by_id
from taskstream.schemas.errors import ApiError


def _queue_id(call: Call) -> str:
    return str(call.data["queue"])


@endpoint("queues.create")
async def create(call: Call) -> dict[str, Any]:
    command = CreateQueue(call.data["name"], call.data.get("tags"), call.data.get("system_tags"),
                          call.data.get("metadata"))
    return await queues.create(call.ctx.commands, call.caller(), command)


@endpoint("queues.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    queue = await queue_by_id(call.ctx.pool, call.actor.company, _queue_id(call), call.data.get("max_task_entries"))
    if queue is None:
        raise ApiError(400, 701, None, id=_queue_id(call), company=call.actor.company)
    return {"queue": queue}


@endpoint("queues.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    await queues.ensure_default(call.ctx.commands, call.caller())
    return {"queues": await list_queues(call.ctx.pool, call.actor.company, call.data)}


@endpoint("queues.get_default")
async def get_default(call: Call) -> dict[str, Any]:
    return await queues.the_default(call.ctx.commands, call.caller())


@endpoint("queues.add_task")
async def add_task(call: Call) -> dict[str, Any]:
    command = AddQueueEntry(_queue_id(call), str(call.data["task"]))
    return await queues.add_task(call.ctx.commands, call.caller(), command)


@endpoint("queues.remove_task")
async def remove_task(call: Call) -> dict[str, Any]:
    command = RemoveQueueEntry(_queue_id(call), str(call.data["task"]))
    return await queues.remove_task(call.ctx.commands, call.caller(), command)


@endpoint("queues.get_next_task")
async def get_next_task(call: Call) -> dict[str, Any]:
    """Pop the head entry: `{entry: {task, added}}`, or `{}` for an empty queue (never null)."""
    command = ClaimTask(_queue_id(call), task_info=bool(call.data.get("get_task_info")))
    return await queues.claim(call.ctx.commands, call.caller(), command)


@endpoint("queues.delete")
async def delete(call: Call) -> dict[str, Any]:
    command = DeleteQueue(_queue_id(call), bool(call.data.get("force")))
    return await queues.delete(call.ctx.commands, call.caller(), command)
