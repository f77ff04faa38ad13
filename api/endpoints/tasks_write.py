"""The mutating tasks endpoints of the core: create, validate, edit, update, the status calls, reset, delete, ping.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.api.endpoints.queue_commands import lock_task_and_queue, remove_from_queue, run_dequeuing_task_command
from taskstream.api.endpoints.task_commands import (
    change_task,
    fields_of,
    require_task_id,
    run_task_command,
    text_or_none,
    update_response,
)
from taskstream.api.endpoints.task_references import check_references
from taskstream.api.versions import conform_tags, conform_task_input
from taskstream.commands.decide_status import decide_delete, decide_publish, decide_reset, decide_status, decide_stop
from taskstream.commands.decide_task import decide_create, decide_edit, decide_ping, decide_update, prepare_fields
from taskstream.commands.messages import ChangeStatus, CreateTask, DeleteTask, EditTask, PingTask, ResetTask, UpdateTask
from taskstream.commands.session import CommandSession
from taskstream.commands.task_document import CREATE_KEYS, EDIT_KEYS
from taskstream.schemas.clock import utc_now
from taskstream.schemas.events import Event, ParentDeleted
from taskstream.schemas.ids import new_id


def _task_fields(call: Call, keys: tuple[str, ...]) -> dict[str, Any]:
    data = conform_task_input(call.data, call.requested)
    return {k: v for k, v in data.items() if k in keys}


@endpoint("tasks.create")
async def create(call: Call) -> dict[str, Any]:
    fields = _task_fields(call, CREATE_KEYS)
    await check_references(call.ctx.pool, call.actor, fields)
    task_id = new_id()
    events = decide_create(CreateTask(fields), task_id, call.actor.company, call.actor.user, utc_now())

    async def work(session: CommandSession) -> dict[str, Any]:
        await session.save("task", await session.load("task", task_id, lock=False), events)
        return {"id": task_id}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


@endpoint("tasks.validate")
async def validate(call: Call) -> dict[str, Any]:
    fields = _task_fields(call, CREATE_KEYS)
    if isinstance(fields.get("parent"), str) and fields["parent"].startswith("__DELETED__"):
        fields.pop("parent")
    prepare_fields(fields, utc_now(), None)
    await check_references(call.ctx.pool, call.actor, fields)
    return {}


@endpoint("tasks.edit")
async def edit(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    fields = _task_fields(call, EDIT_KEYS)
    await check_references(call.ctx.pool, call.actor, fields)
    command = EditTask(task_id, fields, force=bool(call.data.get("force")))
    return await run_task_command(call, task_id, lambda doc: decide_edit(doc, command, call.actor.company, utc_now()),
                                  forced=command.force)


@endpoint("tasks.update")
async def update(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    command = UpdateTask(task_id, conform_tags(call.data, call.requested))
    return await run_task_command(call, task_id,
                                  lambda doc: decide_update(doc, command, call.actor.company, utc_now()))


def _status_command(call: Call, name: str) -> ChangeStatus:
    return ChangeStatus(call=name, task=require_task_id(call), force=bool(call.data.get("force")),
                        status_reason=text_or_none(call.data.get("status_reason")),
                        status_message=text_or_none(call.data.get("status_message")))


def _status_metadata(command: ChangeStatus) -> dict[str, Any]:
    return {"forced": command.force, "status_reason": command.status_reason or "",
            "status_message": command.status_message or ""}


def _simple_status_call(name: str) -> None:
    async def handler(call: Call) -> dict[str, Any]:
        command = _status_command(call, name)

        def respond(events: list[Event]) -> dict[str, Any]:
            response = update_response(events)
            if name == "started":
                response["started"] = response["updated"]
            return response

        return await run_task_command(
            call, command.task, lambda doc: decide_status(doc, command, call.actor.company, utc_now()),
            respond, **_status_metadata(command))

    endpoint(f"tasks.{name}")(handler)


for _name in ("started", "stopped", "failed", "close"):
    _simple_status_call(_name)


@endpoint("tasks.stop")
async def stop(call: Call) -> dict[str, Any]:
    command = _status_command(call, "stop")
    return await stop_task(call, command.task, command.force, command.status_reason)


async def stop_task(call: Call, task_id: str, force: bool, status_reason: str | None) -> dict[str, Any]:
    """Stop one task in its own transaction (§5.21; `status_message` is ignored); shared with stop_many."""
    command = ChangeStatus("stop", task_id, force, status_reason, None)
    return await run_dequeuing_task_command(
        call, command.task,
        lambda doc: decide_stop(doc, command, call.actor.company, call.actor.user_name, utc_now()),
        **_status_metadata(command))


@endpoint("tasks.publish")
async def publish(call: Call) -> dict[str, Any]:
    return await publish_task(call, _status_command(call, "publish"))


async def publish_task(call: Call, command: ChangeStatus) -> dict[str, Any]:
    """Publish one task in its own transaction (§5.23); shared with publish_many."""
    return await run_task_command(
        call, command.task, lambda doc: decide_publish(doc, command, call.actor.company, utc_now()),
        **_status_metadata(command))


@endpoint("tasks.completed")
async def completed(call: Call) -> dict[str, Any]:
    command = _status_command(call, "completed")
    publish_after = bool(call.data.get("publish"))

    async def work(session: CommandSession) -> dict[str, Any]:
        stream, events = await change_task(
            session, command.task, lambda doc: decide_status(doc, command, call.actor.company, utc_now()))
        published = 0
        if publish_after:
            publish_command = ChangeStatus("publish", command.task, command.force, command.status_reason,
                                           command.status_message)
            published_events = decide_publish(stream.doc, publish_command, call.actor.company, utc_now())
            await session.save("task", stream, published_events)
            events = events + published_events
            published = 1
        return {"updated": 1, "published": published, "fields": fields_of(events)}

    return await run_command(call.ctx, call.actor.company, call.metadata(**_status_metadata(command)), work,
                             call.idempotency_key)


@endpoint("tasks.reset")
async def reset(call: Call) -> dict[str, Any]:
    return await reset_task(call, ResetTask(require_task_id(call), force=bool(call.data.get("force")),
                                            clear_all=bool(call.data.get("clear_all"))))


async def reset_task(call: Call, command: ResetTask) -> dict[str, Any]:
    """Reset one task in its own transaction (§5.14); shared with reset_many."""

    async def work(session: CommandSession) -> dict[str, Any]:
        children = await _published_children(session, command.task)
        queue_id = await lock_task_and_queue(session, command.task)
        _, events = await change_task(
            session, command.task,
            lambda doc: decide_reset(doc, command, call.actor.company, utc_now(), children))
        removed = await remove_from_queue(session, command.task, queue_id, "reset")
        return {**update_response(events), "dequeued": {"removed": removed} if removed else {}, "events": {},
                "deleted_models": 0, "urls": {}}

    return await run_command(call.ctx, call.actor.company, call.metadata(forced=command.force), work,
                             call.idempotency_key)


async def _published_children(session: CommandSession, task_id: str) -> int:
    return int(await session.conn.fetchval(
        "SELECT count(*) FROM tasks WHERE parent = $1 AND status = 'published'", task_id))


@endpoint("tasks.delete")
async def delete(call: Call) -> dict[str, Any]:
    return await delete_task(call, DeleteTask(require_task_id(call), force=bool(call.data.get("force")),
                                              status_reason=text_or_none(call.data.get("status_reason")),
                                              status_message=text_or_none(call.data.get("status_message"))))


async def delete_task(call: Call, command: DeleteTask) -> dict[str, Any]:
    """Delete one task in its own transaction (§5.16); shared with delete_many."""

    async def work(session: CommandSession) -> dict[str, Any]:
        children = await _published_children(session, command.task)
        queue_id = await lock_task_and_queue(session, command.task)
        child_ids = await _lock_children(session, command.task)
        await change_task(session, command.task,
                          lambda doc: decide_delete(doc, command, call.actor.company, children))
        await remove_from_queue(session, command.task, queue_id, "deleted")
        updated_children = await _orphan_children(session, command.task, child_ids)
        return {"deleted": True, "updated_children": updated_children, "updated_models": 0,
                "deleted_models": 0, "urls": None}

    return await run_command(call.ctx, call.actor.company, call.metadata(forced=command.force), work,
                             call.idempotency_key)


async def _lock_children(session: CommandSession, task_id: str) -> list[str]:
    """Lock the child tasks' streams. Why before the first write: see the per-task order rule in commands/store."""
    child_ids = [r["id"] for r in await session.conn.fetch(
        "SELECT id FROM tasks WHERE parent = $1 ORDER BY id", task_id)]
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


@endpoint("tasks.ping")
async def ping(call: Call) -> dict[str, Any]:
    command = PingTask(require_task_id(call))
    await run_task_command(call, command.task, lambda doc: decide_ping(doc, command, call.actor.company, utc_now()))
    return {}

