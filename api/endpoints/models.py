"""The models service (issue 10 §2): each model is a stream (`schemas.model_events`); the commands are
`commands.handlers.models`, the reads `projections.model_query`.

Tenancy as for tasks: reads see the caller's company and public models; writes only the caller's own models
(a public or foreign model is 400/201, as the reference finds no company model to write).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.batch import run_batch
from taskstream.api.call import Call, endpoint
from taskstream.commands import decide_model as dm
from taskstream.commands import messages as msg
from taskstream.commands.handlers import models
from taskstream.commands.handlers.task_fields import change_fields
from taskstream.projections.model_history import model_history
from taskstream.projections.model_query import list_models, model_by_id
from taskstream.projections.task_reads import task_document
from taskstream.schemas.errors import ApiError, invalid_task_id

# `update_for_task` serves clients of API 2.12 and older; newer ones use `tasks.add_or_update_model`.
UPDATE_FOR_TASK_MAX = (2, 12)


def _model_id(call: Call) -> str:
    model_id = call.data.get("model")
    if not isinstance(model_id, str) or not model_id:
        raise ApiError(400, 11, None, missing=["model"])
    return model_id


@endpoint("models.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    model_id = _model_id(call)
    found = await model_by_id(call.ctx.pool, call.actor.company, model_id, call.requested)
    if found is None:
        raise ApiError(400, 201, "no such public or company model", id=model_id, company=call.actor.company)
    return {"model": found}


@endpoint("models.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    return {"models": await list_models(call.ctx.pool, call.actor.company, call.data, call.requested)}


@endpoint("models.get_all_ex")
async def get_all_ex(call: Call) -> dict[str, Any]:
    allow_public = call.data.get("allow_public", True) is not False
    found = await list_models(call.ctx.pool, call.actor.company, call.data, call.requested, allow_public)
    if call.data.get("include_stats"):
        for model in found:
            labels = model.get("labels")
            model["stats"] = {"labels_count": len(labels) if isinstance(labels, dict) else 0}
    return {"models": found}


@endpoint("models.create")
async def create(call: Call) -> dict[str, Any]:
    command = msg.CreateModel(dict(call.data), public=bool(call.data.get("public")))
    return await models.create(call.ctx.commands, call.caller(), command)


@endpoint("models.edit")
async def edit(call: Call) -> dict[str, Any]:
    command = msg.ChangeModel(_model_id(call), dict(call.data), "edit")
    return await models.change(call.ctx.commands, call.caller(), command)


@endpoint("models.update")
async def update(call: Call) -> dict[str, Any]:
    command = msg.ChangeModel(_model_id(call), dict(call.data), "update")
    return await models.change(call.ctx.commands, call.caller(), command)


@endpoint("models.set_ready")
async def set_ready(call: Call) -> dict[str, Any]:
    return await models.set_ready(call.ctx.commands, call.caller(), _model_id(call),
                                  call.data.get("publish_task", True) is not False,
                                  bool(call.data.get("force_publish_task")))


@endpoint("models.publish_many")
async def publish_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, published_task}`."""
    publish_task = call.data.get("publish_task", True) is not False
    force = bool(call.data.get("force_publish_task"))

    async def handle_one(model_id: str) -> dict[str, Any]:
        answer = await models.set_ready(call.ctx.commands, call.caller(), str(model_id), publish_task, force)
        return {"updated": bool(answer["updated"]), "published_task": answer["published_task"]}

    return await run_batch(call, handle_one)


def _metadata_items(call: Call) -> dict[str, dict[str, Any]]:
    items = call.data.get("metadata")
    if not isinstance(items, list):
        raise ApiError(400, 12, "metadata must be a list of {key, type, value}")
    return dm.metadata_map(items)


@endpoint("models.add_or_update_metadata")
async def add_or_update_metadata(call: Call) -> dict[str, Any]:
    command = msg.EditMetadata(_model_id(call), _metadata_items(call), bool(call.data.get("replace_metadata")))
    return await models.edit_metadata(call.ctx.commands, call.caller(), command)


@endpoint("models.delete_metadata")
async def delete_metadata(call: Call) -> dict[str, Any]:
    keys = call.data.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ApiError(400, 12, "keys must be a list of strings")
    command = msg.EditMetadata(_model_id(call), delete_keys=tuple(keys))
    return await models.edit_metadata(call.ctx.commands, call.caller(), command)


@endpoint("models.archive_many")
async def archive_many(call: Call) -> dict[str, Any]:
    """Items `{id, archived: true}`."""
    return await run_batch(call, lambda model_id: models.archive(call.ctx.commands, call.caller(), model_id, True))


@endpoint("models.unarchive_many")
async def unarchive_many(call: Call) -> dict[str, Any]:
    """Items `{id, unarchived: true}`."""
    return await run_batch(call, lambda model_id: models.archive(call.ctx.commands, call.caller(), model_id, False))


@endpoint("models.delete")
async def delete(call: Call) -> dict[str, Any]:
    command = msg.DeleteModel(_model_id(call), bool(call.data.get("force")))
    return await models.delete(call.ctx.commands, call.caller(), command)


@endpoint("models.delete_many")
async def delete_many(call: Call) -> dict[str, Any]:
    """Items `{id, deleted: true, url}`."""
    force = bool(call.data.get("force"))
    return await run_batch(call, lambda model_id: models.delete(call.ctx.commands, call.caller(),
                                                                msg.DeleteModel(str(model_id), force)))


@endpoint("models.update_for_task")
async def update_for_task(call: Call) -> dict[str, Any]:
    """API ≤ 2.12 only (301/1 above, as the reference). `override_model_id` links that model as the task's output
    model; `uri` creates a model for the task and links it (two transactions: the model, then the task)."""
    if call.requested > UPDATE_FOR_TASK_MAX:
        raise ApiError(301, 1, "use tasks.add_or_update_model")
    task_id, uri, override = call.data["task"], call.data.get("uri"), call.data.get("override_model_id")
    if bool(uri) == bool(override):
        raise ApiError(400, 11, "exactly one field is required", fields=("uri", "override_model_id"))
    task = await task_document(call.ctx.pool, task_id, call.actor.company)
    if task is None or task.get("company") != call.actor.company:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    if override:
        model_id, created = str(override), False
        dm.owned(await call.ctx.commands.models.document(call.ctx.pool, model_id), model_id, call.actor.company)
    else:
        fields = {"uri": uri, "name": call.data.get("name") or task.get("name"), "task": task_id,
                  "comment": call.data.get("comment", f"Created by task `{task.get('name')}` ({task_id})"),
                  "project": task.get("project"), "ready": task.get("status") == "published"}
        answer = await models.create(call.ctx.commands, call.caller(), msg.CreateModel(fields))
        model_id, created = answer["id"], True
    command = msg.AddOrUpdateModel(task_id, "Output Model", model_id, "output", call.data.get("iteration"))
    await change_fields(call.ctx.commands, call.caller(), command)
    return {"id": model_id, "created": created}


@endpoint("models.get_history")
async def get_history(call: Call) -> dict[str, Any]:
    """taskstream's addition: readable by the model's company (and by everyone for a public model), else 400/201."""
    model_id = _model_id(call)
    history = await model_history(call.ctx.pool, model_id, [call.actor.company, ""])
    if history is None:
        raise ApiError(400, 201, "no such public or company model", id=model_id, company=call.actor.company)
    return {"history": history}
