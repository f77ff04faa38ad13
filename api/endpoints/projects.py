"""Projects, as far as tasks and the real clients need them: create (nested names), get_all, get_by_id.

Each project is a stream (`ProjectCreated`, created by `commands.handlers.projects`); the project read model
answers the reads (`projections.project_query`).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.commands.handlers import projects
from taskstream.commands.messages import CreateProject
from taskstream.projections.project_query import list_projects, project_by_id
from taskstream.schemas.errors import ApiError


@endpoint("projects.create")
async def create(call: Call) -> dict[str, Any]:
    extra = {k: call.data[k] for k in ("tags", "system_tags", "default_output_destination") if k in call.data}
    command = CreateProject(call.data["name"], str(call.data.get("description") or ""), extra)
    return await projects.create(call.ctx.commands, call.caller(), command)


@endpoint("projects.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    found = await project_by_id(call.ctx.pool, call.actor.company, call.data["project"])
    if found is None:
        raise ApiError(400, 401, None, id=call.data["project"])
    return {"project": found}


@endpoint("projects.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    return {"projects": await list_projects(call.ctx.pool, call.actor.company, call.data)}
