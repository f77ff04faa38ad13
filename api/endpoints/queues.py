"""The queues service (clients.md §4, tasks-behaviour.md §8): create, get_all, get_by_id, get_default, delete,
add_task, remove_task, get_next_task. Each queue is a stream; its entries are projected from its events.

get_next_task claims under the queue stream's lock (G10). Why not `FOR UPDATE SKIP LOCKED` on the entries:
every claim appends the queue stream's next version, so two claimers can never both commit anyway (one would hit
the version guard); skipping rows would only turn waiting into failures. Under the lock, claims are serialised,
each pops the head seen by the previous one's committed state, and an entry is handed out exactly once.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.api.endpoints.queue_commands import create_queue, ensure_default_queue, the_default_queue
from taskstream.commands.decide_queue import (
    CreateQueue,
    DequeueTask,
    decide_add_entry,
    decide_claim,
    decide_delete_queue,
    decide_dequeue,
    decide_remove_entry,
)
from taskstream.commands.decide_task import writable
from taskstream.commands.session import CommandSession
from taskstream.projections.queue_query import list_queues, queue_by_id
from taskstream.projections.queue_read_model import entry_tasks, has_entry, head
from taskstream.projections.task_reads import task_owner
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError


def _queue_id(call: Call) -> str:
    return str(call.data["queue"])


@endpoint("queues.create")
async def create(call: Call) -> dict[str, Any]:
    command = CreateQueue(call.data["name"], call.data.get("tags"), call.data.get("system_tags"),
                          call.data.get("metadata"))

    async def work(session: CommandSession) -> dict[str, Any]:
        return {"id": await create_queue(session, call, command)}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


@endpoint("queues.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    queue = await queue_by_id(call.ctx.pool, call.actor.company, _queue_id(call), call.data.get("max_task_entries"))
    if queue is None:
        raise ApiError(400, 701, None, id=_queue_id(call), company=call.actor.company)
    return {"queue": queue}


@endpoint("queues.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    await ensure_default_queue(call)
    return {"queues": await list_queues(call.ctx.pool, call.actor.company, call.data)}


@endpoint("queues.get_default")
async def get_default(call: Call) -> dict[str, Any]:
    return await the_default_queue(call)


@endpoint("queues.add_task")
async def add_task(call: Call) -> dict[str, Any]:
    """Only the queue changes (the task keeps its status); the task must be the caller's (400/101)."""
    queue_id, task_id = _queue_id(call), str(call.data["task"])

    async def work(session: CommandSession) -> dict[str, Any]:
        task = await session.load("task", task_id)  # task, then queue: see queue_commands LOCK ORDER
        writable(task.doc, task_id, call.actor.company)
        queue = await session.load("queue", queue_id)
        present = await has_entry(session.conn, queue_id, task_id)
        events = decide_add_entry(queue.doc, queue_id, call.actor.company, task_id, present, queue.version,
                                  utc_now())
        await session.save("queue", queue, events)
        return {"added": 1}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


@endpoint("queues.remove_task")
async def remove_task(call: Call) -> dict[str, Any]:
    """Only the queue changes; a task that is not in the queue → 400/703."""
    queue_id, task_id = _queue_id(call), str(call.data["task"])

    async def work(session: CommandSession) -> dict[str, Any]:
        queue = await session.load("queue", queue_id)
        present = await has_entry(session.conn, queue_id, task_id)
        events = decide_remove_entry(queue.doc, queue_id, call.actor.company, task_id, present, "removed",
                                     utc_now())
        if not events:
            raise ApiError(400, 703, None, task=task_id, id=queue_id, company=call.actor.company)
        await session.save("queue", queue, events)
        return {"removed": 1}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


@endpoint("queues.get_next_task")
async def get_next_task(call: Call) -> dict[str, Any]:
    """Pop the head entry: `{entry: {task, added}}`, or `{}` for an empty queue (never null)."""
    queue_id = _queue_id(call)
    pool = call.ctx.pool
    if await pool.fetchval("SELECT company FROM queues WHERE id = $1", queue_id) != call.actor.company:
        raise ApiError(400, 701, None, id=queue_id, company=call.actor.company)
    if await head(pool, queue_id) is None:  # an idle agent's poll: answered without a transaction
        return {}

    async def work(session: CommandSession) -> dict[str, Any]:
        queue = await session.load("queue", queue_id)  # the claim lock (see the module comment)
        first = await head(session.conn, queue_id)
        await session.save("queue", queue, decide_claim(queue.doc, queue_id, call.actor.company, first, utc_now()))
        return {} if first is None else {"entry": first}

    result = await run_command(call.ctx, call.actor.company, call.metadata(), work)
    if result and call.data.get("get_task_info"):
        result["task_info"] = await task_owner(pool, result["entry"]["task"])
    return result


@endpoint("queues.delete")
async def delete(call: Call) -> dict[str, Any]:
    """Without force a non-empty queue → 400/702; with force its queued tasks go back to `enqueue_status` or
    created ("Queue was deleted"), in the same transaction as the deletion."""
    queue_id, force = _queue_id(call), bool(call.data.get("force"))

    async def work(session: CommandSession) -> dict[str, Any]:
        # Lock order (queue_commands): the waiting tasks first, sorted so two deleters never cross, then the queue.
        tasks = sorted(await entry_tasks(session.conn, queue_id))
        for task_id in tasks:
            await session.lock(task_id)
        queue = await session.load("queue", queue_id)
        current = await entry_tasks(session.conn, queue_id)
        for late in sorted(set(current) - set(tasks)):  # enqueued between the read and the queue lock
            await session.lock(late)
        events = decide_delete_queue(queue.doc, queue_id, call.actor.company, len(current), force)
        for task_id in current:
            await _return_task(session, task_id, call.actor.company)
        await session.save("queue", queue, events)
        return {"deleted": 1}

    return await run_command(call.ctx, call.actor.company, call.metadata(forced=force), work, call.idempotency_key)


async def _return_task(session: CommandSession, task_id: str, company: str) -> None:
    """A queued task of a deleted queue goes back to `enqueue_status` or created, forced (§8)."""
    stream = await session.load("task", task_id, lock=False)  # locked by the caller
    if stream.doc is None or stream.doc.get("status") != "queued":
        return
    try:
        events = decide_dequeue(stream.doc, DequeueTask(task_id, "Queue was deleted"), company, utc_now(),
                                force=True)
    except ApiError:  # not the caller's task, or no execution.queue: left as it is, as the reference does
        return
    await session.save("task", stream, events)
