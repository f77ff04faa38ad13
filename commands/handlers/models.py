"""Model commands (issue 10 §2): each model is a stream (`schemas.model_events`), decided by `decide_model` under
the model's lock, projected inline into `models`.

LOCK ORDER: a task before a model, several models sorted by id (`tasks.publish` publishes the task's output model
in its transaction, `tasks.reset`/`delete` settle its output models in theirs;
`set_ready` with `publish_task` publishes the task first, in a transaction of its own, then the model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from taskstream.commands import decide_model as dm
from taskstream.commands import messages as msg
from taskstream.commands.handlers.context import Caller, CommandContext, Reader
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import Actor, CommandSession
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError, invalid_task_id
from taskstream.schemas.ids import new_id
from taskstream.schemas.model_events import ModelChanged, ModelDeleted

ModelDecide = Callable[[dict[str, Any] | None], list[Any]]


def changed_fields(events: list[Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for event in events:
        if isinstance(event, ModelChanged):
            fields.update(event.set)
    return fields


async def check_model_references(ctx: CommandContext, db: Reader, company: str, fields: dict[str, Any]) -> None:
    """A model's task must be the company's (400/101); its project the company's (400/401)."""
    task = fields.get("task")
    if task and await ctx.tasks.company_of(db, task) != company:
        raise invalid_task_id(id=task, company=company)
    project = fields.get("project")
    if project and await ctx.projects.company_of(db, project) != company:
        raise ApiError(400, 401, None, id=project)


async def check_input_models(ctx: CommandContext, db: Reader, company: str, model_ids: list[str]) -> None:
    """Input models must be the company's or public: 400/201 `Invalid model id: models=(<the missing ones>)`
    otherwise, as the reference's `validate_input_models`."""
    wanted = [m for m in dict.fromkeys(model_ids) if m]
    missing = await ctx.models.missing(db, wanted, company) if wanted else []
    if missing:
        raise ApiError(400, 201, None, models=missing)


async def run_model_command(ctx: CommandContext, caller: Caller, model_id: str, decide: ModelDecide,
                            respond: Callable[[list[Any]], dict[str, Any]]) -> dict[str, Any]:
    """One model, one decision, one transaction."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("model", model_id)
        events = decide(stream.doc)
        await session.save("model", stream, events)
        return respond(events)

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def create(ctx: CommandContext, caller: Caller, command: msg.CreateModel) -> dict[str, Any]:
    """A new model: `{id, created: true}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        await check_model_references(ctx, session.conn, caller.company, command.fields)
        model_id = new_id()
        stream = await session.load("model", model_id)
        event = dm.decide_create(command, model_id, caller.company, caller.actor.user, utc_now())
        await session.save("model", stream, [event])
        return {"id": model_id, "created": True}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def change(ctx: CommandContext, caller: Caller, command: msg.ChangeModel) -> dict[str, Any]:
    """`models.edit` / `models.update`: `{updated, fields}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        await check_model_references(ctx, session.conn, caller.company, command.fields)
        stream = await session.load("model", command.model)
        events = dm.decide_change(stream.doc, command, caller.company, caller.actor.user, utc_now())
        await session.save("model", stream, events)
        return {"updated": 1 if events else 0, **({"fields": changed_fields(events)} if events else {})}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def set_ready(ctx: CommandContext, caller: Caller, model_id: str, publish_task: bool,
                    force_publish_task: bool) -> dict[str, Any]:
    """`models.set_ready`: `{updated, published_task}`. With `publish_task`, the model's task (the company's, not
    yet published) is published first through `tasks.publish` (which also readies its output model), then the
    model; two transactions, as the reference's two writes. 400/201 unknown model, 400/203 already ready."""
    from taskstream.commands.handlers import tasks  # tasks imports this module (its publish readies models)
    from taskstream.commands.messages import ChangeStatus

    doc = dm.owned(await ctx.models.document(ctx.pool, model_id), model_id, caller.company)
    if doc.get("ready"):
        raise ApiError(400, 203, None, company=caller.company, model=model_id)
    published_task = None
    task_id = doc.get("task")
    task = await ctx.tasks.readable_doc(ctx.pool, task_id, caller.company) if publish_task and task_id else None
    if task is not None and task.get("company") == caller.company and task.get("status") != "published":
        command = ChangeStatus("publish", str(task_id), force_publish_task, None, None)
        published_task = {"id": task_id, "data": await tasks.publish(ctx, caller, command)}

    def decide(current: dict[str, Any] | None) -> list[Any]:
        if published_task is not None and current is not None and current.get("ready"):
            return []  # readied with its task just now
        return [dm.decide_publish(current, model_id, caller.company, caller.actor.user, utc_now())]

    answer = await run_model_command(ctx, caller, model_id, decide, lambda events: {"updated": 1})
    return {**answer, "published_task": published_task}


async def publish_output_model(session: CommandSession, actor: Actor, task_doc: dict[str, Any]) -> bool:
    """Inside `tasks.publish` (its task already locked): the task's last output model, if the company's and not
    ready, becomes ready in the same transaction, as the reference's `publish_model`. True if it was published."""
    outputs = (task_doc.get("models") or {}).get("output") or []
    model_id = outputs[-1].get("model") if outputs and isinstance(outputs[-1], dict) else None
    if not model_id:
        return False
    stream = await session.load("model", model_id)
    if stream.doc is None or stream.doc.get("company") != actor.company or stream.doc.get("ready"):
        return False
    event = dm.decide_publish(stream.doc, model_id, actor.company, actor.user, utc_now(), task=task_doc.get("id"))
    await session.save("model", stream, [event])
    return True


async def edit_metadata(ctx: CommandContext, caller: Caller, command: msg.EditMetadata) -> dict[str, Any]:
    """`add_or_update_metadata` / `delete_metadata`: `{updated: 1}`."""
    return await run_model_command(
        ctx, caller, command.model,
        lambda doc: [dm.decide_metadata(doc, command, caller.company, caller.actor.user, utc_now())],
        lambda events: {"updated": 1})


async def archive(ctx: CommandContext, caller: Caller, model_id: str, archived: bool) -> dict[str, Any]:
    """One model of `archive_many` / `unarchive_many`: `{archived: true}` or `{unarchived: true}`."""
    return await run_model_command(
        ctx, caller, model_id,
        lambda doc: [dm.decide_archive(doc, model_id, caller.company, caller.actor.user, utc_now(), archived)],
        lambda events: {"archived" if archived else "unarchived": True})


async def delete(ctx: CommandContext, caller: Caller, command: msg.DeleteModel) -> dict[str, Any]:
    """Delete a model: `{deleted: true, url}` (the weights' URI, for the caller to delete)."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("model", command.model)
        doc = dm.owned(stream.doc, command.model, caller.company)
        using = await ctx.models.used_as_input(session.conn, command.model, caller.company)
        task = await ctx.tasks.readable_doc(session.conn, doc["task"], caller.company) if doc.get("task") else None
        event = dm.decide_delete(stream.doc, command, caller.company, using,
                                 None if task is None else task.get("status"))
        await session.save("model", stream, [event], {"forced": command.force})
        return {"deleted": True, "url": doc.get("uri")}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)



@dataclass
class OutputModelsSettled:
    """What `tasks.reset`/`tasks.delete` did to the task's output models: `deleted` drafts (their `urls`) and
    `updated` models whose link now names the deleted task."""

    deleted: int = 0
    updated: int = 0
    urls: list[str] = field(default_factory=list)


async def settle_output_models(ctx: CommandContext, session: CommandSession, actor: Actor, task_doc: dict[str, Any],
                               *, deleting: bool, delete_drafts: bool, force: bool) -> OutputModelsSettled:
    """Inside `tasks.reset`/`tasks.delete` (the task already locked; its models locked here, sorted by id: LOCK ORDER
    above), as the reference's task clean-up: the output models (whose `task` is the task, or listed in its
    `models.output`) that are drafts are deleted when `delete_drafts`, unless another task uses them as input (then
    only their task link is cleared); the others lose their task link (reset) or name the deleted task (delete).
    Without `force`, a published (ready) output model → 400/123 before anything is written to a model."""
    task_id = str(task_doc["id"])
    listed = [m["model"] for m in (task_doc.get("models") or {}).get("output") or []
              if isinstance(m, dict) and isinstance(m.get("model"), str)]
    streams = [await session.load("model", model_id)
               for model_id in await ctx.models.output_model_ids(session.conn, task_id, actor.company, listed)]
    streams = [s for s in streams if s.doc is not None]
    published = sum(1 for s in streams if s.doc and s.doc.get("ready"))
    if published and not force:
        raise ApiError(400, 123, "has output models, use force=True", task=task_id, models=published)
    settled, now = OutputModelsSettled(), utc_now()
    for stream in streams:
        doc = stream.doc or {}
        if delete_drafts and not doc.get("ready"):
            if not await ctx.models.used_as_input(session.conn, str(doc["id"]), actor.company):
                await session.save("model", stream, [ModelDeleted(force=True)])
                settled.deleted += 1
                settled.urls += [doc["uri"]] if doc.get("uri") else []
                continue
            await session.save("model", stream, [dm.decide_task_unlink(doc, None, actor.user, now)])
            continue
        await session.save("model", stream, [dm.decide_task_unlink(doc, task_id if deleting else None, actor.user,
                                                                   now)])
        settled.updated += 1 if deleting else 0
    return settled
