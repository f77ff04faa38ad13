"""Projects, as far as tasks and the real clients need them: create (nested names), get_all, get_by_id.

Each project is a stream (`ProjectCreated`, created by `commands.handlers.projects`); the project read model
answers the reads.
"""

from __future__ import annotations

import json
import re
from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.commands.handlers import projects
from taskstream.commands.messages import CreateProject
from taskstream.projections.documents import project as project_fields
from taskstream.schemas.errors import ApiError, validation_error


@endpoint("projects.create")
async def create(call: Call) -> dict[str, Any]:
    extra = {k: call.data[k] for k in ("tags", "system_tags", "default_output_destination") if k in call.data}
    command = CreateProject(call.data["name"], str(call.data.get("description") or ""), extra)
    return await projects.create(call.ctx.commands, call.caller(), command)


@endpoint("projects.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    raw = await call.ctx.pool.fetchval(
        "SELECT doc FROM projects WHERE id = $1 AND company = ANY($2::text[])",
        call.data["project"], [call.actor.company, ""])
    if raw is None:
        raise ApiError(400, 401, None, id=call.data["project"])
    return {"project": json.loads(raw)}


@endpoint("projects.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    data = call.data
    where = ["company = ANY($1::text[])"]
    args: list[Any] = [[call.actor.company, ""]]
    if data.get("id"):
        args.append(data["id"] if isinstance(data["id"], list) else [data["id"]])
        where.append(f"id = ANY(${len(args)}::text[])")
    for key, column in (("name", "name"), ("basename", "doc->>'basename'")):
        pattern = data.get(key)
        if isinstance(pattern, str) and pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ApiError(400, 21, None, err=str(exc)) from exc
            args.append(pattern)
            where.append(f"{column} ~ ${len(args)}")
    size = data.get("page_size") or 500
    page = data.get("page") or 0
    if not isinstance(size, int) or not isinstance(page, int) or size < 1 or page < 0:
        raise validation_error("invalid paging", page=page, page_size=size)
    size = min(size, 500)
    rows = await call.ctx.pool.fetch(
        f"SELECT doc FROM projects WHERE {' AND '.join(where)} ORDER BY name, id LIMIT {size} OFFSET {page * size}",
        *args)
    only = data.get("only_fields")
    return {"projects": [project_fields(json.loads(r["doc"]), only if isinstance(only, list) else None, False)
                         for r in rows]}
