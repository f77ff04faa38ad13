"""`tasks.stop_many`, `publish_many`, `reset_many` and `delete_many` (§7, §5.15, §5.17, §5.22, §5.24).

Each id runs the single-task handler of `commands.handlers.tasks` in its own transaction (through `run_batch`), so
one id's failure never undoes another's success; the succeeded items take the shapes of §7's table.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.batch import run_batch
from taskstream.api.call import Call, endpoint
from taskstream.api.endpoints.tasks_write import delete_command
from taskstream.api.request_fields import text_or_none
from taskstream.commands.handlers import tasks
from taskstream.commands.messages import ChangeStatus, ResetTask


def _flag(call: Call, name: str) -> bool:
    return bool(call.data.get(name))


@endpoint("tasks.stop_many")
async def stop_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields}`; `status_message` is ignored, as in stop."""
    reason = text_or_none(call.data.get("status_reason"))

    async def handle_one(task_id: str) -> dict[str, Any]:
        command = ChangeStatus("stop", str(task_id), _flag(call, "force"), reason, None)
        return await tasks.stop(call.ctx.commands, call.caller(), command)

    return await run_batch(call, handle_one)


@endpoint("tasks.publish_many")
async def publish_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        command = ChangeStatus("publish", str(task_id), _flag(call, "force"),
                               text_or_none(call.data.get("status_reason")),
                               text_or_none(call.data.get("status_message")))
        return await tasks.publish(call.ctx.commands, call.caller(), command,
                                   publish_model=call.data.get("publish_model", True) is not False)

    return await run_batch(call, handle_one)


@endpoint("tasks.reset_many")
async def reset_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields, dequeued: bool, deleted_models, urls}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        command = ResetTask(str(task_id), force=_flag(call, "force"), clear_all=_flag(call, "clear_all"),
                            return_file_urls=_flag(call, "return_file_urls"), echo_artifacts=True,
                            delete_output_models=call.data.get("delete_output_models") is not False)
        result = await tasks.reset(call.ctx.commands, call.caller(), command)
        return {"updated": result["updated"], "fields": result["fields"], "dequeued": bool(result["dequeued"]),
                "deleted_models": result["deleted_models"], "urls": result["urls"]}

    return await run_batch(call, handle_one)


@endpoint("tasks.delete_many")
async def delete_many(call: Call) -> dict[str, Any]:
    """Items `{id, deleted: true, updated_children, updated_models, deleted_models, urls}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        return await tasks.delete(call.ctx.commands, call.caller(), delete_command(call, str(task_id)))

    return await run_batch(call, handle_one)
