"""The queue-related tasks endpoints: enqueue, enqueue_many, dequeue, dequeue_many, archive, archive_many,
unarchive_many (§5.18, §5.19, §5.25–§5.28). The commands, with their lock order, are in
`commands.handlers.task_queue`; the queue an enqueue goes to is chosen by `commands.handlers.queues.choose`.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.batch import run_batch
from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id, text_or_none
from taskstream.commands.handlers import queues, task_queue
from taskstream.commands.handlers.references import check_task_references
from taskstream.commands.messages import ArchiveTask, ChooseQueue, DequeueTask, EnqueueTask, UnarchiveTask
from taskstream.projections.queue_read_model import queue_watched


def _reason(call: Call) -> str | None:
    return text_or_none(call.data.get("status_reason"))


def _message(call: Call) -> str | None:
    return text_or_none(call.data.get("status_message"))


async def _choose_queue(call: Call) -> str:
    return await queues.choose(call.ctx.commands, call.caller(),
                               ChooseQueue(call.data.get("queue"), call.data.get("queue_name")))


@endpoint("tasks.enqueue")
async def enqueue(call: Call) -> dict[str, Any]:
    command = EnqueueTask(require_task_id(call), bool(call.data.get("force")), _reason(call), _message(call))
    queue_id = await _choose_queue(call)
    response = await task_queue.enqueue(call.ctx.commands, call.caller(), command, queue_id)
    if call.data.get("verify_watched_queue"):
        response["queue_watched"] = await queue_watched(call.ctx.pool, call.actor.company, queue_id)
    return response


@endpoint("tasks.enqueue_many")
async def enqueue_many(call: Call) -> dict[str, Any]:
    """Each id: steps 1–7 of enqueue in its own transaction (the queue is chosen per id, §7); no force."""
    chosen: list[str] = []

    async def handle_one(task_id: str) -> dict[str, Any]:
        queue_id = await _choose_queue(call)
        if call.data.get("validate_tasks"):
            await check_task_references(call.ctx.commands, call.actor.company, task_id)
        command = EnqueueTask(task_id, False, _reason(call), _message(call))
        result = await task_queue.enqueue(call.ctx.commands, call.caller(), command, queue_id)
        chosen.append(queue_id)
        return {"queued": True, "updated": result["updated"], "fields": result["fields"]}

    response = await run_batch(call, handle_one)
    if call.data.get("verify_watched_queue") and chosen:
        response["queue_watched"] = await queue_watched(call.ctx.pool, call.actor.company, chosen[0])
    return response


@endpoint("tasks.dequeue")
async def dequeue(call: Call) -> dict[str, Any]:
    command = DequeueTask(require_task_id(call), _reason(call), _message(call))
    return await task_queue.dequeue(call.ctx.commands, call.caller(), command)


@endpoint("tasks.dequeue_many")
async def dequeue_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        result = await task_queue.dequeue(call.ctx.commands, call.caller(),
                                          DequeueTask(task_id, _reason(call), _message(call)))
        return {"dequeued": True, "updated": result["updated"], "fields": result["fields"]}

    return await run_batch(call, handle_one)


@endpoint("tasks.archive")
async def archive(call: Call) -> dict[str, Any]:
    """All ids must be the caller's tasks, else 400/101 listing them all and nothing is done (§5.18)."""
    commands = [ArchiveTask(str(i), _reason(call), _message(call)) for i in call.data["tasks"]]
    return {"archived": await task_queue.archive_all(call.ctx.commands, call.caller(), commands)}


@endpoint("tasks.archive_many")
async def archive_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        await task_queue.archive(call.ctx.commands, call.caller(), ArchiveTask(task_id, _reason(call), _message(call)))
        return {"archived": True}

    return await run_batch(call, handle_one)


@endpoint("tasks.unarchive_many")
async def unarchive_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        await task_queue.unarchive(call.ctx.commands, call.caller(),
                                   UnarchiveTask(task_id, _reason(call), _message(call)))
        return {"unarchived": True}

    return await run_batch(call, handle_one)
