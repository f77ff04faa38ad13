"""Queue commands shared by the queues and tasks endpoints: resolving the queue of an enqueue (by id, by name,
or the company's default queue, created when first needed), and taking a queued task out of its queue inside
another task command (stop, reset, delete, archive).

LOCK ORDER. A command that touches a task and a queue takes the task's stream lock first, then the queue's, and
never waits for a task lock while it holds a queue lock. Why this order and not, say, sorted ids: stop, reset,
delete and archive only learn which queue a task waits in by reading the task under its lock, so "task, then
queue" is the one order every command can follow; enqueue and dequeue follow it too, get_next_task and
remove_task lock only the queue, and queues.delete locks the queue's tasks (sorted) before the queue. With one
order there is no lock cycle, hence no deadlock. Every lock is taken before the command writes anything (the
per-stream ordering rule of `commands.store`).
"""

from __future__ import annotations

import uuid
from typing import Any

from taskstream.api.call import Call
from taskstream.api.context import run_command
from taskstream.api.endpoints.task_commands import Decide, change_task, update_response
from taskstream.commands.decide_queue import (
    DEFAULT_TAG,
    CreateQueue,
    decide_create_queue,
    decide_remove_entry,
    queue_of,
)
from taskstream.commands.session import CommandSession
from taskstream.commands.store import stream_exists
from taskstream.commands.task_document import check_name
from taskstream.projections.queue_read_model import default_queues, has_entry, queue_by_name
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError, validation_error
from taskstream.schemas.ids import new_id

_DEFAULT_QUEUE_NAMESPACE = uuid.UUID("5f0c6f8e-3b7a-4c1e-9a51-7d2f1c0b9e44")


def default_queue_id(company: str) -> str:
    """The id the company's default queue gets when it is provisioned: fixed per company, so "was it ever
    provisioned" is "does its stream exist in the log" (a deleted default queue is not brought back)."""
    return uuid.uuid5(_DEFAULT_QUEUE_NAMESPACE, company).hex


def _name_lock(company: str, name: str) -> str:
    return f"queue-name:{company}:{name}"


async def create_queue(session: CommandSession, call: Call, command: CreateQueue, queue_id: str | None = None,
                       exists_ok: bool = False) -> str:
    """Create the queue in this transaction; with `exists_ok` an existing queue of that name is returned."""
    name = check_name(command.name)
    # Why the lock: two callers creating the same name at once must end with one queue (the unique index on
    # (company, name) would otherwise fail one of them with a 500).
    await session.lock(_name_lock(call.actor.company, name))
    existing = await queue_by_name(session.conn, call.actor.company, name)
    if existing and exists_ok:
        return str(existing)
    queue_id = queue_id or new_id()
    events = decide_create_queue(command, existing, queue_id, call.actor.company, call.actor.user, utc_now())
    await session.save("queue", await session.load("queue", queue_id), events)
    return queue_id


async def find_or_create_queue(call: Call, name: Any) -> str:
    """The id of the company's queue with exactly this name, created if missing (§5.25 step 2); committed on its
    own, so the queue exists even if the enqueue that asked for it fails. A short name → 400/800."""
    found = await queue_by_name(call.ctx.pool, call.actor.company, check_name(name))
    if found:
        return str(found)

    async def work(session: CommandSession) -> dict[str, Any]:
        return {"id": await create_queue(session, call, CreateQueue(name), exists_ok=True)}

    return str((await run_command(call.ctx, call.actor.company, call.metadata(), work))["id"])


async def ensure_default_queue(call: Call) -> None:
    """Provision the company's `default` queue (system tag `default`) the first time the company needs one.

    Race-safe: concurrent first calls serialise on the name lock and re-check under it. A company that already
    has a default-tagged queue, or whose provisioned default queue was deleted, gets nothing new.
    """
    queue_id = default_queue_id(call.actor.company)
    async with call.ctx.pool.acquire() as conn:
        if await stream_exists(conn, queue_id) or await default_queues(conn, call.actor.company):
            return

    async def work(session: CommandSession) -> dict[str, Any]:
        await session.lock(_name_lock(call.actor.company, "default"))
        if await stream_exists(session.conn, queue_id) or await default_queues(session.conn, call.actor.company) \
                or await queue_by_name(session.conn, call.actor.company, "default"):
            return {}
        await create_queue(session, call, CreateQueue("default", [], [DEFAULT_TAG]), queue_id)
        return {}

    await run_command(call.ctx, call.actor.company, call.metadata(provisioned="default queue"), work)


async def the_default_queue(call: Call) -> dict[str, str]:
    """`{id, name}` of the company's default queue: 400/707 if there is none, 400/708 if there are several."""
    await ensure_default_queue(call)
    rows = await default_queues(call.ctx.pool, call.actor.company)
    if not rows:
        raise ApiError(400, 707)
    if len(rows) > 1:
        raise ApiError(400, 708, None, queues=tuple(r["id"] for r in rows))
    return {"id": rows[0]["id"], "name": rows[0]["name"]}


async def resolve_queue(call: Call) -> str:
    """The queue an enqueue goes to (§5.25 steps 1–3): `queue` id, `queue_name` (created if missing), or the
    default queue. Both given → 400/12."""
    queue, name = call.data.get("queue"), call.data.get("queue_name")
    if queue and name:
        raise validation_error("Either queue id or queue name should be provided")
    if name:
        return await find_or_create_queue(call, name)
    if queue:
        return str(queue)
    return (await the_default_queue(call))["id"]


async def lock_task_and_queue(session: CommandSession, task_id: str) -> str | None:
    """Lock the task, then the queue it waits in if it is queued (see LOCK ORDER); returns that queue's id.

    Call it first in a task command that may dequeue, before anything is written.
    """
    queue_id = queue_of((await session.load("task", task_id)).doc)
    if queue_id:
        await session.lock(queue_id)
    return queue_id


async def remove_from_queue(session: CommandSession, task_id: str, queue_id: str | None, reason: str) -> int:
    """Take the task's entry out of `queue_id` in this transaction; 1 if there was one, else 0 (a queue or entry
    that is gone is ignored, as the reference does). The queue must be locked (`lock_task_and_queue`)."""
    if queue_id is None:
        return 0
    queue = await session.load("queue", queue_id, lock=False)
    if queue.doc is None:
        return 0
    present = await has_entry(session.conn, queue_id, task_id)
    events = decide_remove_entry(queue.doc, queue_id, queue.doc["company"], task_id, present, reason, utc_now())
    await session.save("queue", queue, events)
    return len(events)


async def run_dequeuing_task_command(call: Call, task_id: str, decide: Decide, *, reason: str = "stopped",
                                     **metadata: Any) -> dict[str, Any]:
    """`run_task_command` for a call that takes a queued task out of its queue (stop): task lock, queue lock,
    decide and save, remove the entry; one transaction, so a rejected call leaves the entry in place."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue_id = await lock_task_and_queue(session, task_id)
        _, events = await change_task(session, task_id, decide)
        await remove_from_queue(session, task_id, queue_id, reason)
        return update_response(events)

    return await run_command(call.ctx, call.actor.company, call.metadata(**metadata), work, call.idempotency_key)
