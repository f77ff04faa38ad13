"""`tasks.clone` (§5.6): a new task from an existing one (of the caller's company or public), in one
transaction with the project that `new_project_name` may create (`commands.handlers.clone`).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.commands.handlers import clone as clone_handler
from taskstream.commands.messages import CloneTask


def clone_command(call: Call) -> CloneTask:
    data = call.data
    return CloneTask(
        task=require_task_id(call), name=data.get("new_task_name"), comment=data.get("new_task_comment"),
        tags=data.get("new_task_tags"), system_tags=data.get("new_task_system_tags"),
        parent=data.get("new_task_parent"), project=data.get("new_task_project"),
        hyperparams=data.get("new_task_hyperparams"), configuration=data.get("new_task_configuration"),
        container=data.get("new_task_container"), input_models=data.get("new_task_input_models"),
        execution_overrides=dict(data.get("execution_overrides") or {}),
        validate_references=bool(data.get("validate_references")),
        new_project_name=data.get("new_project_name"),
    )


@endpoint("tasks.clone")
async def clone(call: Call) -> dict[str, Any]:
    return await clone_handler.clone(call.ctx.commands, call.caller(), clone_command(call))
