"""Commands over a task and its queue: enqueue, dequeue, archive, unarchive (§5.18, §5.19, §5.25–§5.28), and
taking a queued task out of its queue inside another task command (stop, reset, delete, archive).

Enqueue and dequeue are ONE transaction over two streams (G3): the task's status event and the queue's entry
event are appended and projected together, after both locks are held. A rejected enqueue therefore leaves both
streams untouched; there is no intermediate status write to revert, unlike the reference.

LOCK ORDER. A command that touches a task and a queue takes the task's stream lock first, then the queue's, and
never waits for a task lock while it holds a queue lock. Why this order and not, say, sorted ids: stop, reset,
delete and archive only learn which queue a task waits in by reading the task under its lock, so "task, then
queue" is the one order every command can follow; enqueue and dequeue follow it too, a claim (get_next_task, a
queue consumer) and remove_task lock only the queue, and queues.delete locks the queue's tasks (sorted) before the
queue (`handlers.queues`). With one order there is no lock cycle, hence no deadlock. Every lock is taken before the
command writes anything (the per-stream ordering rule of `commands.store`).
"""

from __future__ import annotations

from typing import Any

from taskstream.commands.decide_queue import (
    decide_add_entry,
    decide_archive,
    decide_dequeue,
    decide_enqueue,
    decide_remove_entry,
    decide_unarchive,
    queue_of,
)
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.single_task import change_task, fields_of, run_task_command, update_result
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import ArchiveTask, DequeueTask, EnqueueTask, UnarchiveTask
from taskstream.commands.session import CommandSession
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import invalid_task_id
from taskstream.schemas.events import TaskDequeued


async def lock_task_and_queue(session: CommandSession, task_id: str) -> str | None:
    """Lock the task, then the queue it waits in if it is queued (see LOCK ORDER); returns that queue's id.

    Call it first in a task command that may dequeue, before anything is written.
    """
    queue_id = queue_of((await session.load("task", task_id)).doc)
    if queue_id:
        await session.lock(queue_id)
    return queue_id


async def remove_from_queue(ctx: CommandContext, session: CommandSession, task_id: str, queue_id: str | None,
                            reason: str) -> int:
    """Take the task's entry out of `queue_id` in this transaction; 1 if there was one, else 0 (a queue or entry
    that is gone is ignored, as the reference does). The queue must be locked (`lock_task_and_queue`)."""
    if queue_id is None:
        return 0
    queue = await session.load("queue", queue_id, lock=False)
    if queue.doc is None:
        return 0
    present = await ctx.queues.has_entry(session.conn, queue_id, task_id)
    events = decide_remove_entry(queue.doc, queue_id, queue.doc["company"], task_id, present, reason, utc_now())
    await session.save("queue", queue, events)
    return len(events)


async def enqueue(ctx: CommandContext, caller: Caller, command: EnqueueTask, queue_id: str) -> dict[str, Any]:
    """Status → queued and the entry appended, in one transaction; 101/403/110/706 from the task, then 701/706
    from the queue (the reference's order). `{updated, queued, fields}`."""
    company = caller.company

    async def work(session: CommandSession) -> dict[str, Any]:
        now = utc_now()
        task = await session.load("task", command.task)  # task, then queue: see LOCK ORDER
        task_events = decide_enqueue(task.doc, command, queue_id, company, now)
        queue = await session.load("queue", queue_id)
        present = await ctx.queues.has_entry(session.conn, queue_id, command.task)
        queue_events = decide_add_entry(queue.doc, queue_id, company, command.task, present, queue.version, now)
        await session.save("task", task, task_events)
        await session.save("queue", queue, queue_events)
        return {"updated": 1, "queued": 1, "fields": fields_of(task_events)}

    metadata = caller.with_metadata(forced=command.force, status_reason=command.status_reason or "",
                                    status_message=command.status_message or "", queue=queue_id)
    return await run_command(ctx, company, metadata, work, caller.idempotency_key)


async def dequeue(ctx: CommandContext, caller: Caller, command: DequeueTask) -> dict[str, Any]:
    """Entry removed (if still there) and status back to `enqueue_status` or created, in one transaction.
    `{updated, dequeued, fields}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        task = await session.load("task", command.task)  # task, then queue: see LOCK ORDER
        events = decide_dequeue(task.doc, command, caller.company, utc_now())
        queue_id = events[0].queue if isinstance(events[0], TaskDequeued) else None
        if queue_id:
            await session.lock(queue_id)
        await remove_from_queue(ctx, session, command.task, queue_id, "dequeued")
        await session.save("task", task, events)
        return {"updated": 1, "dequeued": 1, "fields": fields_of(events)}

    metadata = caller.with_metadata(status_reason=command.status_reason or "",
                                    status_message=command.status_message or "")
    return await run_command(ctx, caller.company, metadata, work, caller.idempotency_key)


async def archive(ctx: CommandContext, caller: Caller, command: ArchiveTask) -> dict[str, Any]:
    """Dequeue if queued (entry and status, errors ignored), then tag `archived`: one transaction, never
    idempotency-recorded (archive answers for the whole call). `{updated, fields}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue_id = await lock_task_and_queue(session, command.task)
        _, events = await change_task(session, command.task, lambda doc: decide_archive(
            doc, command.task, caller.company, command.status_reason, command.status_message, utc_now()))
        await remove_from_queue(ctx, session, command.task, queue_id, "archived")
        return update_result(events)

    return await run_command(ctx, caller.company, caller.metadata, work)


async def archive_all(ctx: CommandContext, caller: Caller, commands: list[ArchiveTask]) -> int:
    """tasks.archive: every id must be the caller's task, else 400/101 listing them all and nothing is done;
    then each task is archived in its own transaction. Returns how many."""
    ids = [command.task for command in commands]
    if await ctx.tasks.count_owned(ctx.pool, list(set(ids)), caller.company) != len(set(ids)):
        raise invalid_task_id(ids=ids)
    for command in commands:
        await archive(ctx, caller, command)
    return len(ids)


async def unarchive(ctx: CommandContext, caller: Caller, command: UnarchiveTask) -> dict[str, Any]:
    """The `archived` system tag removed. `{updated, fields}`."""
    return await run_task_command(ctx, caller, command.task, lambda doc: decide_unarchive(
        doc, command.task, caller.company, command.status_reason, command.status_message, utc_now()))
