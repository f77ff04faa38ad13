"""`tasks.clone` (§5.6): a new task from an existing one (of the caller's company or public), in one
transaction with the project that `new_project_name` may create.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.api.endpoints.projects import find_or_create_project
from taskstream.api.endpoints.task_commands import require_task_id
from taskstream.api.endpoints.task_references import check_references
from taskstream.commands.decide_clone import CloneTask, clone_events, plan_clone
from taskstream.commands.session import Actor, CommandSession
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError
from taskstream.schemas.ids import new_id


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


async def _source(conn: asyncpg.Connection, task_id: str, company: str) -> dict[str, Any] | None:
    raw = await conn.fetchval("SELECT doc FROM tasks WHERE id = $1 AND company = ANY($2::text[])",
                              task_id, [company, ""])
    return None if raw is None else dict(json.loads(raw))


async def _check_references(conn: asyncpg.Connection, actor: Actor, command: CloneTask, parent: str,
                            project: str | None) -> None:
    """Parent and project are checked only when asked to or when given (§5.6); input models never (there is
    no models service yet)."""
    if command.validate_references or command.parent:
        company = await conn.fetchval("SELECT company FROM tasks WHERE id = $1", parent)
        if company not in (actor.company, ""):
            raise ApiError(400, 101, "invalid parent", parent=parent)
    if project and (command.validate_references or command.project or command.new_project_name):
        await check_references(conn, actor, {"project": project})


@endpoint("tasks.clone")
async def clone(call: Call) -> dict[str, Any]:
    command = clone_command(call)
    actor = call.actor
    task_id = new_id()

    async def work(session: CommandSession) -> dict[str, Any]:
        now = utc_now()
        source = await _source(session.conn, command.task, actor.company)
        planned = plan_clone(source, command, actor.company, now)
        response: dict[str, Any] = {"id": task_id}
        new_project = None
        if not command.project and command.new_project_name:
            new_project, _ = await find_or_create_project(session, actor, command.new_project_name)
            response["new_project"] = {"id": new_project, "name": command.new_project_name}
        project = new_project or planned["project"]
        await _check_references(session.conn, actor, command, planned["parent"], project)
        events = clone_events(planned, new_project, task_id, command.task, actor.company, actor.user, now)
        await session.save("task", await session.load("task", task_id, lock=False), events)
        return response

    return await run_command(call.ctx, actor.company, call.metadata(cloned_from=command.task), work,
                             call.idempotency_key)
