"""The mutating tasks endpoints of the core: create, validate, edit, update, the status calls, reset, delete, ping.

Each parses the request into a command and runs its handler (`commands.handlers.tasks`).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id, text_or_none
from taskstream.api.versions import conform_tags, conform_task_input
from taskstream.commands.handlers import tasks
from taskstream.commands.messages import ChangeStatus, CreateTask, DeleteTask, EditTask, PingTask, ResetTask, UpdateTask
from taskstream.commands.task_document import CREATE_KEYS, EDIT_KEYS
from taskstream.projections.documents import for_version


def _task_fields(call: Call, keys: tuple[str, ...]) -> dict[str, Any]:
    data = conform_task_input(call.data, call.requested)
    return {k: v for k, v in data.items() if k in keys}


@endpoint("tasks.create")
async def create(call: Call) -> dict[str, Any]:
    return await tasks.create(call.ctx.commands, call.caller(), CreateTask(_task_fields(call, CREATE_KEYS)))


@endpoint("tasks.validate")
async def validate(call: Call) -> dict[str, Any]:
    await tasks.validate(call.ctx.commands, call.caller(), CreateTask(_task_fields(call, CREATE_KEYS)))
    return {}


@endpoint("tasks.edit")
async def edit(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    command = EditTask(task_id, _task_fields(call, EDIT_KEYS), force=bool(call.data.get("force")))
    result = await tasks.edit(call.ctx.commands, call.caller(), command)
    # The echoed fields take the requested version's output form, as documents do (< 2.13: `execution.docker_cmd`
    # from the container, `execution.model` from the models), as the reference's unprepare_from_saved of them.
    if result.get("fields"):
        result = {**result, "fields": for_version(result["fields"], call.requested)}
    return result


@endpoint("tasks.update")
async def update(call: Call) -> dict[str, Any]:
    command = UpdateTask(require_task_id(call), conform_tags(call.data, call.requested))
    return await tasks.update(call.ctx.commands, call.caller(), command)


def status_command(call: Call, name: str) -> ChangeStatus:
    return ChangeStatus(call=name, task=require_task_id(call), force=bool(call.data.get("force")),
                        status_reason=text_or_none(call.data.get("status_reason")),
                        status_message=text_or_none(call.data.get("status_message")))


async def _change_status(call: Call, name: str) -> dict[str, Any]:
    return await tasks.change_status(call.ctx.commands, call.caller(), status_command(call, name))


@endpoint("tasks.started")
async def started(call: Call) -> dict[str, Any]:
    return await _change_status(call, "started")


@endpoint("tasks.stopped")
async def stopped(call: Call) -> dict[str, Any]:
    return await _change_status(call, "stopped")


@endpoint("tasks.failed")
async def failed(call: Call) -> dict[str, Any]:
    return await _change_status(call, "failed")


@endpoint("tasks.close")
async def close(call: Call) -> dict[str, Any]:
    return await _change_status(call, "close")


@endpoint("tasks.stop")
async def stop(call: Call) -> dict[str, Any]:
    return await tasks.stop(call.ctx.commands, call.caller(), status_command(call, "stop"))


@endpoint("tasks.publish")
async def publish(call: Call) -> dict[str, Any]:
    return await tasks.publish(call.ctx.commands, call.caller(), status_command(call, "publish"),
                               publish_model=call.data.get("publish_model", True) is not False)


@endpoint("tasks.completed")
async def completed(call: Call) -> dict[str, Any]:
    return await tasks.complete(call.ctx.commands, call.caller(), status_command(call, "completed"),
                                publish=bool(call.data.get("publish")))


@endpoint("tasks.reset")
async def reset(call: Call) -> dict[str, Any]:
    command = ResetTask(require_task_id(call), force=bool(call.data.get("force")),
                        clear_all=bool(call.data.get("clear_all")),
                        return_file_urls=bool(call.data.get("return_file_urls")),
                        delete_output_models=call.data.get("delete_output_models") is not False)
    return await tasks.reset(call.ctx.commands, call.caller(), command)


def delete_command(call: Call, task_id: str) -> DeleteTask:
    return DeleteTask(task_id, force=bool(call.data.get("force")),
                      status_reason=text_or_none(call.data.get("status_reason")),
                      status_message=text_or_none(call.data.get("status_message")),
                      return_file_urls=bool(call.data.get("return_file_urls")),
                      delete_output_models=call.data.get("delete_output_models") is not False)


@endpoint("tasks.delete")
async def delete(call: Call) -> dict[str, Any]:
    return await tasks.delete(call.ctx.commands, call.caller(), delete_command(call, require_task_id(call)))


@endpoint("tasks.ping")
async def ping(call: Call) -> dict[str, Any]:
    await tasks.ping(call.ctx.commands, call.caller(), PingTask(require_task_id(call)))
    return {}
