"""The queue-related tasks endpoints: enqueue, enqueue_many, dequeue, dequeue_many, archive, archive_many,
unarchive_many (§5.18, §5.19, §5.25–§5.28).

Enqueue and dequeue are ONE transaction over two streams (G3): the task's status event and the queue's entry
event are appended and projected together, after both locks are held (task first, then queue: see
`queue_commands`). A rejected enqueue therefore leaves both streams untouched; there is no intermediate status
write to revert, unlike the reference.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.api.endpoints.batch import run_batch
from taskstream.api.endpoints.queue_commands import lock_task_and_queue, remove_from_queue, resolve_queue
from taskstream.api.endpoints.task_commands import (
    change_task,
    fields_of,
    require_task_id,
    run_task_command,
    text_or_none,
    update_response,
)
from taskstream.api.endpoints.task_references import check_references
from taskstream.commands.decide_queue import (
    DequeueTask,
    EnqueueTask,
    decide_add_entry,
    decide_archive,
    decide_dequeue,
    decide_enqueue,
    decide_unarchive,
)
from taskstream.commands.session import CommandSession
from taskstream.projections.queue_read_model import has_entry, queue_watched
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import invalid_task_id
from taskstream.schemas.events import TaskDequeued


def _reason(call: Call) -> str | None:
    return text_or_none(call.data.get("status_reason"))


def _message(call: Call) -> str | None:
    return text_or_none(call.data.get("status_message"))


async def enqueue_task(call: Call, command: EnqueueTask, queue_id: str) -> dict[str, Any]:
    """Status → queued and the entry appended, in one transaction; 101/403/110/706 from the task, then 701/706
    from the queue (the reference's order)."""
    company = call.actor.company

    async def work(session: CommandSession) -> dict[str, Any]:
        now = utc_now()
        task = await session.load("task", command.task)  # task, then queue: see queue_commands LOCK ORDER
        task_events = decide_enqueue(task.doc, command, queue_id, company, now)
        queue = await session.load("queue", queue_id)
        present = await has_entry(session.conn, queue_id, command.task)
        queue_events = decide_add_entry(queue.doc, queue_id, company, command.task, present, queue.version, now)
        await session.save("task", task, task_events)
        await session.save("queue", queue, queue_events)
        return {"updated": 1, "queued": 1, "fields": fields_of(task_events)}

    metadata = call.metadata(forced=command.force, status_reason=command.status_reason or "",
                             status_message=command.status_message or "", queue=queue_id)
    return await run_command(call.ctx, company, metadata, work, call.idempotency_key)


@endpoint("tasks.enqueue")
async def enqueue(call: Call) -> dict[str, Any]:
    command = EnqueueTask(require_task_id(call), bool(call.data.get("force")), _reason(call), _message(call))
    queue_id = await resolve_queue(call)
    response = await enqueue_task(call, command, queue_id)
    if call.data.get("verify_watched_queue"):
        response["queue_watched"] = await queue_watched(call.ctx.pool, call.actor.company, queue_id)
    return response


@endpoint("tasks.enqueue_many")
async def enqueue_many(call: Call) -> dict[str, Any]:
    """Each id: steps 1–7 of enqueue in its own transaction (the queue is resolved per id, §7); no force."""
    queues: list[str] = []

    async def handle_one(task_id: str) -> dict[str, Any]:
        queue_id = await resolve_queue(call)
        if call.data.get("validate_tasks"):
            await _validate_task(call, task_id)
        result = await enqueue_task(call, EnqueueTask(task_id, False, _reason(call), _message(call)), queue_id)
        queues.append(queue_id)
        return {"queued": True, "updated": result["updated"], "fields": result["fields"]}

    response = await run_batch(call, handle_one)
    if call.data.get("verify_watched_queue") and queues:
        response["queue_watched"] = await queue_watched(call.ctx.pool, call.actor.company, queues[0])
    return response


async def _validate_task(call: Call, task_id: str) -> None:
    """`validate_tasks`: the task's parent and project must still be valid, as on create."""
    row = await call.ctx.pool.fetchrow("SELECT parent, project FROM tasks WHERE id = $1 AND company = $2",
                                       task_id, call.actor.company)
    if row is None:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    await check_references(call.ctx.pool, call.actor, {"parent": row["parent"], "project": row["project"]})


async def dequeue_task(call: Call, command: DequeueTask) -> dict[str, Any]:
    """Entry removed (if still there) and status back to `enqueue_status` or created, in one transaction."""

    async def work(session: CommandSession) -> dict[str, Any]:
        task = await session.load("task", command.task)  # task, then queue: see queue_commands LOCK ORDER
        events = decide_dequeue(task.doc, command, call.actor.company, utc_now())
        queue_id = events[0].queue if isinstance(events[0], TaskDequeued) else None
        if queue_id:
            await session.lock(queue_id)
        await remove_from_queue(session, command.task, queue_id, "dequeued")
        await session.save("task", task, events)
        return {"updated": 1, "dequeued": 1, "fields": fields_of(events)}

    metadata = call.metadata(status_reason=command.status_reason or "", status_message=command.status_message or "")
    return await run_command(call.ctx, call.actor.company, metadata, work, call.idempotency_key)


@endpoint("tasks.dequeue")
async def dequeue(call: Call) -> dict[str, Any]:
    return await dequeue_task(call, DequeueTask(require_task_id(call), _reason(call), _message(call)))


@endpoint("tasks.dequeue_many")
async def dequeue_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        result = await dequeue_task(call, DequeueTask(task_id, _reason(call), _message(call)))
        return {"dequeued": True, "updated": result["updated"], "fields": result["fields"]}

    return await run_batch(call, handle_one)


async def archive_task(call: Call, task_id: str) -> dict[str, Any]:
    """Dequeue if queued (entry and status, errors ignored), then tag `archived`: one transaction."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue_id = await lock_task_and_queue(session, task_id)
        _, events = await change_task(session, task_id, lambda doc: decide_archive(
            doc, task_id, call.actor.company, _reason(call), _message(call), utc_now()))
        await remove_from_queue(session, task_id, queue_id, "archived")
        return update_response(events)

    return await run_command(call.ctx, call.actor.company, call.metadata(), work)


@endpoint("tasks.archive")
async def archive(call: Call) -> dict[str, Any]:
    """All ids must be the caller's tasks, else 400/101 listing them all and nothing is done (§5.18)."""
    ids = [str(i) for i in call.data["tasks"]]
    found = await call.ctx.pool.fetchval(
        "SELECT count(*) FROM tasks WHERE id = ANY($1::text[]) AND company = $2", list(set(ids)), call.actor.company)
    if found != len(set(ids)):
        raise invalid_task_id(ids=ids)
    for task_id in ids:
        await archive_task(call, task_id)
    return {"archived": len(ids)}


@endpoint("tasks.archive_many")
async def archive_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        await archive_task(call, task_id)
        return {"archived": True}

    return await run_batch(call, handle_one)


@endpoint("tasks.unarchive_many")
async def unarchive_many(call: Call) -> dict[str, Any]:
    async def handle_one(task_id: str) -> dict[str, Any]:
        await run_task_command(call, task_id, lambda doc: decide_unarchive(
            doc, task_id, call.actor.company, _reason(call), _message(call), utc_now()))
        return {"unarchived": True}

    return await run_batch(call, handle_one)

