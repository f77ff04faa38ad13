"""`tasks.get_all`, `tasks.get_all_ex` and `tasks.get_by_id_ex` (§5.2–5.4, §6): read by
`projections.task_query.list_tasks`, converted for the requested version."""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.versions import conform_tags
from taskstream.projections import task_query
from taskstream.projections.documents import for_version
from taskstream.schemas.errors import ApiError


async def list_tasks(call: Call, extended: bool, by_id: bool = False) -> dict[str, Any]:
    """The shared body of the three listing endpoints (see §6.1 and §5.2 for how they differ)."""
    data = conform_tags(call.data, call.requested)
    tasks, scroll_id = await task_query.list_tasks(call.ctx.pool, call.actor.company, data, extended=extended,
                                                   by_id=by_id)
    response: dict[str, Any] = {"tasks": [for_version(t, call.requested) for t in tasks]}
    if scroll_id is not None:
        response["scroll_id"] = scroll_id
    return response


@endpoint("tasks.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    return await list_tasks(call, extended=False)


@endpoint("tasks.get_all_ex")
async def get_all_ex(call: Call) -> dict[str, Any]:
    return await list_tasks(call, extended=True)


@endpoint("tasks.get_by_id_ex")
async def get_by_id_ex(call: Call) -> dict[str, Any]:
    if "id" not in call.data:
        raise ApiError(400, 11, None, missing=["id"])
    return await list_tasks(call, extended=True, by_id=True)
