"""`tasks.clone` (§5.6): a new task from an existing one (of the caller's company or public), in one transaction
with the project that `new_project_name` may create."""

from __future__ import annotations

from typing import Any

from taskstream.commands.decide_clone import clone_events, plan_clone
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.models import check_input_models
from taskstream.commands.handlers.projects import find_or_create_project
from taskstream.commands.handlers.references import check_references, input_model_ids
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import CloneTask
from taskstream.commands.session import CommandSession
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError
from taskstream.schemas.ids import new_id


async def _check_references(ctx: CommandContext, session: CommandSession, company: str, command: CloneTask,
                            parent: str, project: str | None, models: dict[str, Any]) -> None:
    """Parent, project and input models are checked only when asked to or when given (§5.6): input models when
    `new_task_input_models` or `execution_overrides.model` named them."""
    checks_parent = command.validate_references or command.parent
    if checks_parent and await ctx.tasks.company_of(session.conn, parent) not in (company, ""):
        raise ApiError(400, 101, "invalid parent", parent=parent)
    if project and (command.validate_references or command.project or command.new_project_name):
        await check_references(ctx, session.conn, company, {"project": project})
    if command.validate_references or command.input_models or command.execution_overrides.get("model"):
        await check_input_models(ctx, session.conn, company, input_model_ids(models))


async def clone(ctx: CommandContext, caller: Caller, command: CloneTask) -> dict[str, Any]:
    """`{id}`, plus `new_project: {id, name}` when `new_project_name` named the project."""
    actor = caller.actor
    task_id = new_id()

    async def work(session: CommandSession) -> dict[str, Any]:
        now = utc_now()
        source = await ctx.tasks.readable_doc(session.conn, command.task, actor.company)
        planned = plan_clone(source, command, actor.company, now)
        if not command.parent and planned["parent"] != command.task \
                and await ctx.tasks.company_of(session.conn, planned["parent"]) not in (actor.company, ""):
            # The source's parent is another company's private task (a public task cloned across companies):
            # link the copy to the task it was cloned from instead, never to a task the caller cannot read.
            planned["parent"] = command.task
        response: dict[str, Any] = {"id": task_id}
        new_project = None
        if not command.project and command.new_project_name:
            new_project, _ = await find_or_create_project(ctx, session, actor, command.new_project_name)
            response["new_project"] = {"id": new_project, "name": command.new_project_name}
        project = new_project or planned["project"]
        await _check_references(ctx, session, actor.company, command, planned["parent"], project,
                                planned["models"])
        events = clone_events(planned, new_project, task_id, command.task, actor.company, actor.user, now)
        await session.save("task", await session.load("task", task_id, lock=False), events)
        return response

    return await run_command(ctx, actor.company, caller.with_metadata(cloned_from=command.task), work,
                             caller.idempotency_key)
