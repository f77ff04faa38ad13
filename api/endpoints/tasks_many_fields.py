"""Field calls over several tasks: make_public, make_private (§2.5), move (§5.42), update_batch (§5.12).

Unlike the `*_many` batch calls, each is all or nothing: every task is locked and loaded, one decision covers
them all, and a rejection of any id writes nothing.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.api.endpoints.projects import find_or_create_project
from taskstream.api.endpoints.tasks_fields import required_list
from taskstream.api.versions import conform_tags
from taskstream.commands import decide_fields as df
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError, validation_error
from taskstream.schemas.events import Event

Decided = dict[str, list[Event]]


async def load_tasks(session: CommandSession, ids: list[str]) -> dict[str, Stream]:
    """Every task under its stream lock, in request order (duplicates once)."""
    # Why sorted: multi-task commands take their stream locks in id order, so two of them cannot deadlock.
    streams = {task_id: await session.load("task", task_id) for task_id in sorted(set(ids))}
    return {task_id: streams[task_id] for task_id in dict.fromkeys(ids)}


async def save_all(session: CommandSession, streams: dict[str, Stream], decided: Decided) -> None:
    for task_id, events in decided.items():
        await session.save("task", streams[task_id], events)


def _ids(call: Call) -> list[str]:
    ids = required_list(call, "ids")
    if not all(isinstance(i, str) for i in ids):
        raise validation_error(f'value is wrong, expected type "str" {ids}')
    return ids


def _visibility_call(name: str, decide: Any) -> None:
    async def handler(call: Call) -> dict[str, Any]:
        ids = _ids(call)

        async def work(session: CommandSession) -> dict[str, Any]:
            streams = await load_tasks(session, ids)
            decided: Decided = decide({i: s.doc for i, s in streams.items()}, call.actor.company)
            await save_all(session, streams, decided)
            return {"updated": len(decided)}

        return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)

    endpoint(name)(handler)


_visibility_call("tasks.make_public", df.decide_make_public)
_visibility_call("tasks.make_private", df.decide_make_private)


async def _target_project(session: CommandSession, call: Call) -> str:
    """`project` (the caller's, else 400/401) wins over `project_name` (found or created with parents)."""
    project, name = call.data.get("project"), call.data.get("project_name")
    if project:
        found = await session.conn.fetchval(
            "SELECT id FROM projects WHERE id = $1 AND company = $2", project, call.actor.company)
        if found is None:
            raise ApiError(400, 401, None, id=project)
        return str(project)
    if name:
        project_id, _ = await find_or_create_project(session, call.actor, name)
        return project_id
    raise ApiError(400, 11, "project or project_name is required")


@endpoint("tasks.move")
async def move(call: Call) -> dict[str, Any]:
    ids = _ids(call)

    async def work(session: CommandSession) -> dict[str, Any]:
        # Why the tasks first: creating the project writes, and nothing may be written before the task
        # streams are locked (per-task log order rests on it, see commands.store).
        streams = await load_tasks(session, ids)
        project = await _target_project(session, call)
        await save_all(session, streams, df.decide_move({i: s.doc for i, s in streams.items()}, project,
                                                        call.actor.company, utc_now()))
        return {"project_id": project}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


def batch_items(call: Call) -> dict[str, dict[str, Any]]:
    """JSON-lines items by task id (the last item of a task wins); a plain object body is one item."""
    items = call.batched if call.batched is not None else ([call.data] if call.data else [])
    by_task: dict[str, dict[str, Any]] = {}
    for item in items:
        if "task" not in item:
            # The reference server fails such a body with a KeyError: 500/0 "'task'".
            raise ApiError(500, 0, "'task'")
        by_task[str(item["task"])] = conform_tags(item, call.requested)
    return by_task


@endpoint("tasks.update_batch")
async def update_batch(call: Call) -> dict[str, Any]:
    items = batch_items(call)
    if not items:
        return {"updated": 0}

    async def work(session: CommandSession) -> dict[str, Any]:
        streams = await load_tasks(session, list(items))
        decided = df.decide_update_batch({i: s.doc for i, s in streams.items()}, items, call.actor.company,
                                         utc_now())
        await save_all(session, streams, decided)
        return {"updated": len(decided)}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)
