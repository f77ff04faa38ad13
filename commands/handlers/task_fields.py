"""Field commands: on one task, hyper-parameters, configuration, artifacts, models and requirements (§5.7, §5.8,
§5.29, §5.32, §5.33, §5.35–§5.41); over several tasks, make_public, make_private (§2.5), move (§5.42) and
update_batch (§5.12).

A single-task call is one decision on one task in one transaction. A call over several tasks is all or nothing:
every task is locked and loaded, one decision covers them all, and a rejection of any id writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from taskstream.commands import decide_many as dm
from taskstream.commands import decide_outputs as dout
from taskstream.commands import decide_params as dp
from taskstream.commands import messages as msg
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.projects import target_project
from taskstream.commands.handlers.single_task import run_task_command
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import MoveTasks, SetVisibility, UpdateTasks
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.clock import utc_now
from taskstream.schemas.events import Event

FieldCommand = (msg.EditHyperParams | msg.DeleteHyperParams | msg.EditConfiguration | msg.DeleteConfiguration
                | msg.AddOrUpdateArtifacts | msg.DeleteArtifacts | msg.AddOrUpdateModel | msg.DeleteModels
                | msg.SetRequirements)
_Decide = Callable[[dict[str, Any] | None, Any, str, datetime], list[Event]]

# Per command: its decision, and the key its answer counts the changed task under. The params and configuration
# calls take `force` (recorded in the metadata); the others do not.
_DECISIONS: dict[type, tuple[_Decide, str]] = {
    msg.EditHyperParams: (dp.decide_edit_hyper_params, "updated"),
    msg.DeleteHyperParams: (dp.decide_delete_hyper_params, "deleted"),
    msg.EditConfiguration: (dp.decide_edit_configuration, "updated"),
    msg.DeleteConfiguration: (dp.decide_delete_configuration, "deleted"),
    msg.AddOrUpdateArtifacts: (dout.decide_add_or_update_artifacts, "updated"),
    msg.DeleteArtifacts: (dout.decide_delete_artifacts, "deleted"),
    msg.AddOrUpdateModel: (dout.decide_add_or_update_model, "updated"),
    msg.DeleteModels: (dout.decide_delete_models, "updated"),
    msg.SetRequirements: (dout.decide_set_requirements, "updated"),
}

Decided = dict[str, list[Event]]


async def change_fields(ctx: CommandContext, caller: Caller, command: FieldCommand) -> dict[str, Any]:
    """`{updated: 1}` or `{deleted: 1}` once the task was written (these calls always write `last_change`);
    set_requirements also answers `"fields": {}`, as the reference server does (Appendix A 3)."""
    decide, key = _DECISIONS[type(command)]

    def respond(events: list[Event]) -> dict[str, Any]:
        result: dict[str, Any] = {key: 1 if events else 0}
        if isinstance(command, msg.SetRequirements):
            result["fields"] = {}
        return result

    forced = {"forced": command.force} if isinstance(
        command, msg.EditHyperParams | msg.DeleteHyperParams | msg.EditConfiguration | msg.DeleteConfiguration) else {}
    return await run_task_command(ctx, caller, command.task,
                                  lambda doc: decide(doc, command, caller.company, utc_now()), respond, **forced)


async def load_tasks(session: CommandSession, ids: list[str]) -> dict[str, Stream]:
    """Every task under its stream lock, in request order (duplicates once)."""
    # Why sorted: multi-task commands take their stream locks in id order, so two of them cannot deadlock.
    streams = {task_id: await session.load("task", task_id) for task_id in sorted(set(ids))}
    return {task_id: streams[task_id] for task_id in dict.fromkeys(ids)}


async def save_all(session: CommandSession, streams: dict[str, Stream], decided: Decided) -> None:
    for task_id, events in decided.items():
        await session.save("task", streams[task_id], events)


async def set_visibility(ctx: CommandContext, caller: Caller, command: SetVisibility) -> dict[str, Any]:
    """make_public / make_private: `{updated}`."""
    decide = dm.decide_make_public if command.public else dm.decide_make_private

    async def work(session: CommandSession) -> dict[str, Any]:
        streams = await load_tasks(session, command.tasks)
        decided = decide({i: s.doc for i, s in streams.items()}, caller.company)
        await save_all(session, streams, decided)
        return {"updated": len(decided)}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def move(ctx: CommandContext, caller: Caller, command: MoveTasks) -> dict[str, Any]:
    """The caller's tasks to the project, created first if named and missing, in one transaction: `{project_id}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        # Why the tasks first: creating the project writes, and nothing may be written before the task
        # streams are locked (per-task log order rests on it, see commands.store).
        streams = await load_tasks(session, command.tasks)
        project = await target_project(ctx, session, caller.actor, command.project, command.project_name)
        await save_all(session, streams, dm.decide_move({i: s.doc for i, s in streams.items()}, project,
                                                        caller.company, utc_now()))
        return {"project_id": project}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def update_batch(ctx: CommandContext, caller: Caller, command: UpdateTasks) -> dict[str, Any]:
    """Each item as in `update`, all or nothing: `{updated}`."""
    if not command.items:
        return {"updated": 0}

    async def work(session: CommandSession) -> dict[str, Any]:
        streams = await load_tasks(session, list(command.items))
        decided = dm.decide_update_batch({i: s.doc for i, s in streams.items()}, command.items, caller.company,
                                         utc_now())
        await save_all(session, streams, decided)
        return {"updated": len(decided)}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)
