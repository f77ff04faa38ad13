"""Field calls over several tasks: make_public, make_private (§2.5), move (§5.42), update_batch (§5.12).

Unlike the `*_many` batch calls, each is all or nothing (`commands.handlers.task_fields`): every task is locked
and loaded, one decision covers them all, and a rejection of any id writes nothing.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.endpoints.tasks_fields import required_list
from taskstream.api.versions import conform_tags
from taskstream.commands.handlers import task_fields
from taskstream.commands.messages import MoveTasks, SetVisibility, UpdateTasks
from taskstream.schemas.errors import ApiError, validation_error


def _ids(call: Call) -> list[str]:
    ids = required_list(call, "ids")
    if not all(isinstance(i, str) for i in ids):
        raise validation_error(f'value is wrong, expected type "str" {ids}')
    return ids


@endpoint("tasks.make_public")
async def make_public(call: Call) -> dict[str, Any]:
    return await task_fields.set_visibility(call.ctx.commands, call.caller(), SetVisibility(_ids(call), public=True))


@endpoint("tasks.make_private")
async def make_private(call: Call) -> dict[str, Any]:
    return await task_fields.set_visibility(call.ctx.commands, call.caller(), SetVisibility(_ids(call), public=False))


@endpoint("tasks.move")
async def move(call: Call) -> dict[str, Any]:
    command = MoveTasks(_ids(call), call.data.get("project"), call.data.get("project_name"))
    return await task_fields.move(call.ctx.commands, call.caller(), command)


def batch_items(call: Call) -> dict[str, dict[str, Any]]:
    """JSON-lines items by task id (the last item of a task wins); a plain object body is one item."""
    items = call.batched if call.batched is not None else ([call.data] if call.data else [])
    by_task: dict[str, dict[str, Any]] = {}
    for item in items:
        if "task" not in item:
            # The reference server fails such a body with a KeyError (500/0 "'task'"); a client's mistake is a 400.
            raise ApiError(400, 11, "every update_batch item needs a task", missing=["task"])
        by_task[str(item["task"])] = conform_tags(item, call.requested)
    return by_task


@endpoint("tasks.update_batch")
async def update_batch(call: Call) -> dict[str, Any]:
    return await task_fields.update_batch(call.ctx.commands, call.caller(), UpdateTasks(batch_items(call)))
