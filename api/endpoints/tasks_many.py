"""`tasks.stop_many`, `publish_many`, `reset_many` and `delete_many` (§7, §5.15, §5.17, §5.22, §5.24).

Each id runs the single-task work function of `tasks_write` in its own transaction (through `run_batch`), so one
id's failure never undoes another's success; the succeeded items take the shapes of §7's table.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.endpoints.batch import run_batch
from taskstream.api.endpoints.task_commands import text_or_none
from taskstream.api.endpoints.tasks_write import delete_task, publish_task, reset_task, stop_task
from taskstream.commands.messages import ChangeStatus, DeleteTask, ResetTask


def _flag(call: Call, name: str) -> bool:
    return bool(call.data.get(name))


@endpoint("tasks.stop_many")
async def stop_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields}`; `status_message` is ignored, as in stop."""
    reason = text_or_none(call.data.get("status_reason"))

    async def handle_one(task_id: str) -> dict[str, Any]:
        return await stop_task(call, str(task_id), _flag(call, "force"), reason)

    return await run_batch(call, handle_one)


@endpoint("tasks.publish_many")
async def publish_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        command = ChangeStatus("publish", str(task_id), _flag(call, "force"),
                               text_or_none(call.data.get("status_reason")),
                               text_or_none(call.data.get("status_message")))
        return await publish_task(call, command)

    return await run_batch(call, handle_one)


@endpoint("tasks.reset_many")
async def reset_many(call: Call) -> dict[str, Any]:
    """Items `{id, updated, fields, dequeued: bool, deleted_models, urls}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        result = await reset_task(call, ResetTask(str(task_id), force=_flag(call, "force"),
                                                  clear_all=_flag(call, "clear_all")))
        return {"updated": result["updated"], "fields": result["fields"], "dequeued": bool(result["dequeued"]),
                "deleted_models": result["deleted_models"], "urls": result["urls"]}

    return await run_batch(call, handle_one)


@endpoint("tasks.delete_many")
async def delete_many(call: Call) -> dict[str, Any]:
    """Items `{id, deleted: true, updated_children, updated_models, deleted_models, urls}`."""

    async def handle_one(task_id: str) -> dict[str, Any]:
        command = DeleteTask(str(task_id), force=_flag(call, "force"),
                             status_reason=text_or_none(call.data.get("status_reason")),
                             status_message=text_or_none(call.data.get("status_message")))
        return await delete_task(call, command)

    return await run_batch(call, handle_one)
