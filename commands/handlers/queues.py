"""Queue commands (tasks-behaviour.md §8): create, the company's default queue (provisioned when first needed),
the queue an enqueue goes to, add_task, remove_task, claim (get_next_task and queue consumers), delete.

Each queue is a stream; its entries are projected from its events (`queue_entries`), and every command reads them
under the queue's lock. Lock order with tasks: see LOCK ORDER in `handlers.task_queue`.

A claim takes the queue stream's lock (G10). Why not `FOR UPDATE SKIP LOCKED` on the entries: every claim appends
the queue stream's next version, so two claimers can never both commit anyway (one would hit the version guard);
skipping rows would only turn waiting into failures. Under the lock, claims are serialised, each pops the head
seen by the previous one's committed state, and an entry is handed out exactly once.
"""

from __future__ import annotations

import uuid
from typing import Any

from taskstream.commands.decide_queue import (
    DEFAULT_TAG,
    decide_add_entry,
    decide_claim,
    decide_create_queue,
    decide_delete_queue,
    decide_dequeue,
    decide_move_entry,
    decide_remove_entry,
)
from taskstream.commands.decide_task import writable
from taskstream.commands.handlers.context import Caller, CommandContext, Reader
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import (
    AddQueueEntry,
    ChooseQueue,
    ClaimTask,
    CreateQueue,
    DeleteQueue,
    DequeueTask,
    MoveQueueEntry,
    RemoveQueueEntry,
)
from taskstream.commands.session import CommandSession
from taskstream.commands.store import stream_exists
from taskstream.commands.task_document import check_name
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


async def _create_in(ctx: CommandContext, session: CommandSession, caller: Caller, command: CreateQueue,
                     queue_id: str | None = None, exists_ok: bool = False) -> str:
    """Create the queue in this transaction; with `exists_ok` an existing queue of that name is returned."""
    name = check_name(command.name)
    # Why the lock: two callers creating the same name at once must end with one queue (the unique index on
    # (company, name) would otherwise fail one of them with a 500).
    await session.lock(_name_lock(caller.company, name))
    existing = await ctx.queues.by_name(session.conn, caller.company, name)
    if existing and exists_ok:
        return existing
    queue_id = queue_id or new_id()
    events = decide_create_queue(command, existing, queue_id, caller.company, caller.actor.user, utc_now())
    await session.save("queue", await session.load("queue", queue_id), events)
    return queue_id


async def create(ctx: CommandContext, caller: Caller, command: CreateQueue) -> dict[str, Any]:
    """A new queue, its name unique in the company (400/705): `{id}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        return {"id": await _create_in(ctx, session, caller, command)}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def find_or_create(ctx: CommandContext, caller: Caller, name: Any) -> str:
    """The id of the company's queue with exactly this name, created if missing (§5.25 step 2); committed on its
    own, so the queue exists even if the enqueue that asked for it fails. A short name → 400/800."""
    found = await ctx.queues.by_name(ctx.pool, caller.company, check_name(name))
    if found:
        return found

    async def work(session: CommandSession) -> dict[str, Any]:
        return {"id": await _create_in(ctx, session, caller, CreateQueue(name), exists_ok=True)}

    return str((await run_command(ctx, caller.company, caller.metadata, work))["id"])


async def ensure_default(ctx: CommandContext, caller: Caller) -> None:
    """Provision the company's `default` queue (system tag `default`) the first time the company needs one.

    Race-safe: concurrent first calls serialise on the name lock and re-check under it. A company that already
    has a default-tagged queue, or whose provisioned default queue was deleted, gets nothing new.
    """
    company, queue_id = caller.company, default_queue_id(caller.company)
    async with ctx.pool.acquire() as conn:
        if await stream_exists(conn, queue_id) or await ctx.queues.default_queues(conn, company):
            return

    async def work(session: CommandSession) -> dict[str, Any]:
        await session.lock(_name_lock(company, "default"))
        if await stream_exists(session.conn, queue_id) or await ctx.queues.default_queues(session.conn, company) \
                or await ctx.queues.by_name(session.conn, company, "default"):
            return {}
        await _create_in(ctx, session, caller, CreateQueue("default", [], [DEFAULT_TAG]), queue_id)
        return {}

    await run_command(ctx, company, caller.with_metadata(provisioned="default queue"), work)


async def the_default(ctx: CommandContext, caller: Caller) -> dict[str, str]:
    """`{id, name}` of the company's default queue: 400/707 if there is none, 400/708 if there are several."""
    await ensure_default(ctx, caller)
    queues = await ctx.queues.default_queues(ctx.pool, caller.company)
    if not queues:
        raise ApiError(400, 707)
    if len(queues) > 1:
        raise ApiError(400, 708, None, queues=tuple(q["id"] for q in queues))
    return {"id": queues[0]["id"], "name": queues[0]["name"]}


async def choose(ctx: CommandContext, caller: Caller, command: ChooseQueue) -> str:
    """The queue an enqueue goes to (§5.25 steps 1–3): `queue` id, `queue_name` (created if missing), or the
    default queue. Both given → 400/12."""
    if command.queue and command.queue_name:
        raise validation_error("Either queue id or queue name should be provided")
    if command.queue_name:
        return await find_or_create(ctx, caller, command.queue_name)
    if command.queue:
        return str(command.queue)
    return (await the_default(ctx, caller))["id"]


async def add_task(ctx: CommandContext, caller: Caller, command: AddQueueEntry) -> dict[str, Any]:
    """Only the queue changes (the task keeps its status); the task must be the caller's (400/101). `{added}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        task = await session.load("task", command.task)  # task, then queue: see LOCK ORDER in task_queue
        writable(task.doc, command.task, caller.company)
        queue = await session.load("queue", command.queue)
        present = await ctx.queues.has_entry(session.conn, command.queue, command.task)
        events = decide_add_entry(queue.doc, command.queue, caller.company, command.task, present, queue.version,
                                  utc_now())
        await session.save("queue", queue, events)
        return {"added": 1}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def remove_task(ctx: CommandContext, caller: Caller, command: RemoveQueueEntry) -> dict[str, Any]:
    """Only the queue changes; a task that is not in the queue → 400/703. `{removed}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue = await session.load("queue", command.queue)
        present = await ctx.queues.has_entry(session.conn, command.queue, command.task)
        events = decide_remove_entry(queue.doc, command.queue, caller.company, command.task, present, "removed",
                                     utc_now())
        if not events:
            raise ApiError(400, 703, None, task=command.task, id=command.queue, company=caller.company)
        await session.save("queue", queue, events)
        return {"removed": 1}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def move_task(ctx: CommandContext, caller: Caller, command: MoveQueueEntry) -> dict[str, Any]:
    """Move the task's entry to the front or the back of the queue (the task keeps its status); not in the queue
    → 400/703. `{moved}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue = await session.load("queue", command.queue)
        present = await ctx.queues.has_entry(session.conn, command.queue, command.task)
        bounds = await ctx.queues.position_bounds(session.conn, command.queue)
        events = decide_move_entry(queue.doc, command.queue, caller.company, command.task, present, bounds,
                                   command.to_front, queue.version, utc_now())
        await session.save("queue", queue, events)
        return {"moved": 1}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def claim(ctx: CommandContext, caller: Caller, command: ClaimTask) -> dict[str, Any]:
    """Pop an entry for a worker: `{entry: {task, added}}` (with `task_info` when asked), or `{}` when there is
    none. The queue must be the caller's (400/701).

    Without `command.task` the head entry is popped (get_next_task); with it, exactly the entry of that task at
    `command.position` if it is still there (a queue consumer), and a deleted queue is `{}` rather than 701.
    Either way the entry is read again under the queue's lock (see the module comment): claimed exactly once.
    """
    if await ctx.queues.company_of(ctx.pool, command.queue) != caller.company:
        if command.task is not None:
            return {}
        raise ApiError(400, 701, None, id=command.queue, company=caller.company)
    if await _next_entry(ctx, ctx.pool, command) is None:  # an idle agent's poll: answered without a transaction
        return {}

    async def work(session: CommandSession) -> dict[str, Any]:
        queue = await session.load("queue", command.queue)  # the claim lock (see the module comment)
        entry = await _next_entry(ctx, session.conn, command)  # re-read under the lock: decides
        if command.task is not None and (queue.doc is None or entry is None):
            return {}
        await session.save("queue", queue, decide_claim(queue.doc, command.queue, caller.company, entry, utc_now()))
        return {} if entry is None else {"entry": entry}

    result = await run_command(ctx, caller.company, caller.metadata, work)
    if result and command.task_info:
        owner = await ctx.tasks.owner(ctx.pool, result["entry"]["task"])
        result["task_info"] = owner or {}
    return result


async def _next_entry(ctx: CommandContext, db: Reader, command: ClaimTask) -> dict[str, Any] | None:
    if command.task is None:
        return await ctx.queues.head(db, command.queue)
    return await ctx.queues.entry(db, command.queue, command.task, command.position or 0)


async def delete(ctx: CommandContext, caller: Caller, command: DeleteQueue) -> dict[str, Any]:
    """Without force a non-empty queue → 400/702; with force its queued tasks go back to `enqueue_status` or
    created ("Queue was deleted"), in the same transaction as the deletion. `{deleted}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        # LOCK ORDER (task_queue): the waiting tasks first, sorted so two deleters never cross, then the queue.
        tasks = sorted(await ctx.queues.entry_tasks(session.conn, command.queue))
        for task_id in tasks:
            await session.lock(task_id)
        queue = await session.load("queue", command.queue)
        current = await ctx.queues.entry_tasks(session.conn, command.queue)
        for late in sorted(set(current) - set(tasks)):  # enqueued between the read and the queue lock
            await session.lock(late)
        events = decide_delete_queue(queue.doc, command.queue, caller.company, len(current), command.force)
        for task_id in current:
            await _return_task(session, task_id, caller.company)
        await session.save("queue", queue, events)
        return {"deleted": 1}

    return await run_command(ctx, caller.company, caller.with_metadata(forced=command.force), work,
                             caller.idempotency_key)


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
