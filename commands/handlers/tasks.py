"""The task commands of the core: create, validate, edit, update, the status calls, reset, delete, ping.

Each is one transaction. Reset, delete and stop may take a queued task out of its queue: they lock the task, then
its queue (LOCK ORDER in `handlers.task_queue`); delete also locks the children it orphans, all before anything
is written.
"""

from __future__ import annotations

from typing import Any

from taskstream.commands.decide_status import (
    decide_delete,
    decide_publish,
    decide_reset,
    decide_status,
    decide_stop,
    file_urls,
    reset_fields,
)
from taskstream.commands.decide_task import decide_create, decide_edit, decide_ping, decide_update, prepare_fields
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.models import publish_output_model, settle_output_models
from taskstream.commands.handlers.references import check_references
from taskstream.commands.handlers.single_task import change_task, fields_of, run_task_command, update_result
from taskstream.commands.handlers.task_queue import lock_task_and_queue, remove_from_queue
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import ChangeStatus, CreateTask, DeleteTask, EditTask, PingTask, ResetTask, UpdateTask
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.clock import utc_now
from taskstream.schemas.events import Event, ParentDeleted
from taskstream.schemas.ids import new_id


def _status_metadata(command: ChangeStatus) -> dict[str, Any]:
    return {"forced": command.force, "status_reason": command.status_reason or "",
            "status_message": command.status_message or ""}


async def create(ctx: CommandContext, caller: Caller, command: CreateTask) -> dict[str, Any]:
    """A new task (§5.9): references checked, then `TaskCreated` on a new stream. `{id}`."""
    await check_references(ctx, ctx.pool, caller.company, command.fields)
    task_id = new_id()
    events = decide_create(command, task_id, caller.company, caller.actor.user, utc_now())

    async def work(session: CommandSession) -> dict[str, Any]:
        # Why no load: the id was made just now, so the stream is empty (a collision would fail the append at
        # version 1, `UNIQUE (stream_id, version)`); reading it would be a round trip that finds nothing.
        await session.save("task", Stream(task_id, None, 0), events)
        return {"id": task_id}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def validate(ctx: CommandContext, caller: Caller, command: CreateTask) -> None:
    """What create would check, writing nothing (§5.10); a deleted parent is not checked."""
    fields = dict(command.fields)
    if isinstance(fields.get("parent"), str) and fields["parent"].startswith("__DELETED__"):
        fields.pop("parent")
    prepare_fields(fields, utc_now(), None, saved=False)
    await check_references(ctx, ctx.pool, caller.company, fields)


async def edit(ctx: CommandContext, caller: Caller, command: EditTask) -> dict[str, Any]:
    """`{updated, fields}`."""
    await check_references(ctx, ctx.pool, caller.company, command.fields)
    return await run_task_command(ctx, caller, command.task,
                                  lambda doc: decide_edit(doc, command, caller.company, utc_now()),
                                  forced=command.force)


async def update(ctx: CommandContext, caller: Caller, command: UpdateTask) -> dict[str, Any]:
    """`{updated, fields}`."""
    return await run_task_command(ctx, caller, command.task,
                                  lambda doc: decide_update(doc, command, caller.company, utc_now()))


async def change_status(ctx: CommandContext, caller: Caller, command: ChangeStatus) -> dict[str, Any]:
    """started, stopped, failed, close: `{updated, fields}`, plus `started` for started."""

    def respond(events: list[Event]) -> dict[str, Any]:
        result = update_result(events)
        if command.call == "started":
            result["started"] = result["updated"]
        return result

    return await run_task_command(ctx, caller, command.task,
                                  lambda doc: decide_status(doc, command, caller.company, utc_now()),
                                  respond, **_status_metadata(command))


async def stop(ctx: CommandContext, caller: Caller, command: ChangeStatus) -> dict[str, Any]:
    """Stop one task (§5.21; `status_message` is ignored) and take it out of its queue if it waits in one: task
    lock, queue lock, decide and save, remove the entry; one transaction, so a rejected stop leaves the entry."""
    command = ChangeStatus("stop", command.task, command.force, command.status_reason, None)

    async def work(session: CommandSession) -> dict[str, Any]:
        queue_id = await lock_task_and_queue(session, command.task)
        _, events = await change_task(session, command.task, lambda doc: decide_stop(
            doc, command, caller.company, caller.actor.user_name, utc_now()))
        await remove_from_queue(ctx, session, command.task, queue_id, "stopped")
        return update_result(events)

    return await run_command(ctx, caller.company, caller.with_metadata(**_status_metadata(command)), work,
                             caller.idempotency_key)


async def publish(ctx: CommandContext, caller: Caller, command: ChangeStatus,
                  publish_model: bool = True) -> dict[str, Any]:
    """Publish one task (§5.23): `{updated, fields}`. With `publish_model` (the default), the task's last output
    model, if the company's and not ready, becomes ready in the same transaction (task locked before model)."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream, events = await change_task(
            session, command.task, lambda doc: decide_publish(doc, command, caller.company, utc_now()))
        if publish_model and stream.doc is not None:
            await publish_output_model(session, caller.actor, stream.doc)
        return update_result(events)

    return await run_command(ctx, caller.company, caller.with_metadata(**_status_metadata(command)), work,
                             caller.idempotency_key)


async def complete(ctx: CommandContext, caller: Caller, command: ChangeStatus, publish: bool) -> dict[str, Any]:
    """Completed, and published right after in the same transaction when asked: `{updated, published, fields}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream, events = await change_task(
            session, command.task, lambda doc: decide_status(doc, command, caller.company, utc_now()))
        published = 0
        if publish:
            publish_command = ChangeStatus("publish", command.task, command.force, command.status_reason,
                                           command.status_message)
            published_events = decide_publish(stream.doc, publish_command, caller.company, utc_now())
            published_stream = await session.save("task", stream, published_events)
            if published_stream.doc is not None:
                await publish_output_model(session, caller.actor, published_stream.doc)
            events = events + published_events
            published = 1
        return {"updated": 1, "published": published, "fields": fields_of(events)}

    return await run_command(ctx, caller.company, caller.with_metadata(**_status_metadata(command)), work,
                             caller.idempotency_key)


async def reset(ctx: CommandContext, caller: Caller, command: ResetTask) -> dict[str, Any]:
    """Reset one task (§5.14), dequeuing it if queued, its output models settled (`settle_output_models`) and its
    telemetry deleted: `{updated, fields, dequeued, events, deleted_models, urls}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        queue_id = await lock_task_and_queue(session, command.task)
        children = await ctx.tasks.published_children(session.conn, command.task, caller.company)  # under the lock
        before: list[dict[str, Any]] = []

        def decide(doc: dict[str, Any] | None) -> list[Event]:
            events = decide_reset(doc, command, caller.company, utc_now(), children)
            before.append(doc or {})
            return events

        _, events = await change_task(session, command.task, decide)
        settled = await settle_output_models(ctx, session, caller.actor, before[0], deleting=False,
                                             delete_drafts=command.delete_output_models, force=command.force)
        urls = await _file_urls(ctx, session, before[0], settled.urls, output_only=True) \
            if command.return_file_urls else {}
        await ctx.telemetry.delete_task_events(session.conn, command.task)
        removed = await remove_from_queue(ctx, session, command.task, queue_id, "reset")
        return {"updated": 1, "fields": reset_fields(fields_of(events), before[0], command),
                "dequeued": {"removed": removed} if removed else {}, "events": {}, "deleted_models": settled.deleted,
                "urls": urls}

    return await run_command(ctx, caller.company, caller.with_metadata(forced=command.force), work,
                             caller.idempotency_key)


async def delete(ctx: CommandContext, caller: Caller, command: DeleteTask) -> dict[str, Any]:
    """Delete one task (§5.16): its queue entry removed, its children orphaned, its output models settled
    (`settle_output_models`) and its telemetry deleted, in the same transaction.
    `{deleted, updated_children, updated_models, deleted_models, urls}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        # LOCK ORDER (handlers.task_queue): the task, its children (tasks, sorted), then its queue — never a task
        # lock while holding a queue lock; the published children are counted under those locks.
        await session.lock(command.task)
        child_ids = await _lock_children(ctx, session, command.task, caller.company)
        queue_id = await lock_task_and_queue(session, command.task)
        children = await ctx.tasks.published_children(session.conn, command.task, caller.company)
        before: list[dict[str, Any]] = []

        def decide(doc: dict[str, Any] | None) -> list[Event]:
            events = decide_delete(doc, command, caller.company, children)
            before.append(doc or {})
            return events

        await change_task(session, command.task, decide)
        settled = await settle_output_models(ctx, session, caller.actor, before[0], deleting=True,
                                             delete_drafts=command.delete_output_models, force=command.force)
        urls = await _file_urls(ctx, session, before[0], settled.urls, output_only=False) \
            if command.return_file_urls else None
        await ctx.telemetry.delete_task_events(session.conn, command.task)
        await remove_from_queue(ctx, session, command.task, queue_id, "deleted")
        updated_children = await _orphan_children(session, command.task, child_ids)
        return {"deleted": True, "updated_children": updated_children, "updated_models": settled.updated,
                "deleted_models": settled.deleted, "urls": urls}

    return await run_command(ctx, caller.company, caller.with_metadata(forced=command.force), work,
                             caller.idempotency_key)


async def _file_urls(ctx: CommandContext, session: CommandSession, doc: dict[str, Any], model_urls: list[str],
                     output_only: bool) -> dict[str, list[str]]:
    """The `urls` of `return_file_urls`: the task's artifacts (`file_urls`), the deleted draft models' URIs and its
    debug images' URLs, read before its telemetry is deleted in the same transaction."""
    return {**file_urls(doc, output_only), "model_urls": model_urls,
            "event_urls": await ctx.telemetry.image_urls(session.conn, str(doc["id"]))}


async def _lock_children(ctx: CommandContext, session: CommandSession, task_id: str, company: str) -> list[str]:
    """Lock the company's child tasks' streams. Why before the first write: see the per-task order rule in
    commands/store. Another company's children are left alone (a tenant's command never writes to another's)."""
    child_ids = await ctx.tasks.child_ids(session.conn, task_id, company)
    for child_id in child_ids:
        await session.lock(child_id)
    return child_ids


async def _orphan_children(session: CommandSession, task_id: str, child_ids: list[str]) -> int:
    """Children of a deleted task get `parent = "__DELETED__<id>"`, each as an event of its own stream."""
    for child_id in child_ids:
        stream = await session.load("task", child_id, lock=False)
        if stream.doc is not None and stream.doc.get("parent") == task_id:
            await session.save("task", stream, [ParentDeleted(set={"parent": f"__DELETED__{task_id}"})])
    return len(child_ids)


async def ping(ctx: CommandContext, caller: Caller, command: PingTask) -> None:
    """`last_update` refreshed (§5.31)."""
    await run_task_command(ctx, caller, command.task,
                           lambda doc: decide_ping(doc, command, caller.company, utc_now()))
