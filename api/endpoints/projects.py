"""Projects, as far as tasks and the real clients need them: create (nested names), get_all, get_by_id.

Each project is a stream (`ProjectCreated`); the project read model answers the reads.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.context import run_command
from taskstream.commands.session import Actor, CommandSession
from taskstream.projections.project_query import list_projects, project_by_id
from taskstream.schemas.clock import iso, utc_now
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import ProjectCreated
from taskstream.schemas.ids import new_id

MAX_DEPTH = 10


def split_name(name: str) -> list[str]:
    """`"A//B/"` → ["A", "B"]; a name of slashes only → 400/407; deeper than 10 → 400/409."""
    parts = [p.strip() for p in name.split("/") if p.strip()]
    if not parts:
        raise ApiError(400, 407, None, name=name)
    if len(parts) > MAX_DEPTH:
        raise ApiError(400, 409, None, path=name, max_depth=MAX_DEPTH)
    return parts


async def find_or_create_project(session: CommandSession, actor: Actor, name: str,
                                 description: str = "", extra: dict[str, Any] | None = None) -> tuple[str, bool]:
    """The id of the project with this full name, created with its missing parents; and whether it was new."""
    parts = split_name(name)
    parent: str | None = None
    created = False
    for depth in range(1, len(parts) + 1):
        full = "/".join(parts[:depth])
        # Why the lock: two callers creating the same name at once must end with one project.
        await session.lock(f"project-name:{actor.company}:{full}")
        existing = await session.conn.fetchval(
            "SELECT id FROM projects WHERE company = $1 AND name = $2", actor.company, full)
        if existing:
            parent, created = existing, False
            continue
        project_id = new_id()
        stamp = iso(utc_now())
        doc = {"id": project_id, "name": full, "basename": parts[depth - 1], "company": actor.company,
               "user": actor.user, "created": stamp, "last_update": stamp, "tags": [], "system_tags": [],
               "description": description if depth == len(parts) else "", "parent": parent,
               **(extra if depth == len(parts) and extra else {})}
        stream = await session.load("project", project_id, lock=False)
        await session.save("project", stream, [ProjectCreated(project=doc)])
        parent, created = project_id, True
    assert parent is not None
    return parent, created


@endpoint("projects.create")
async def create(call: Call) -> dict[str, Any]:
    name = call.data["name"]
    extra = {k: call.data[k] for k in ("tags", "system_tags", "default_output_destination") if k in call.data}

    async def work(session: CommandSession) -> dict[str, Any]:
        parts = split_name(name)
        exists = await session.conn.fetchval("SELECT id FROM projects WHERE company = $1 AND name = $2",
                                             call.actor.company, "/".join(parts))
        if exists:
            raise ApiError(400, 405, None, name=name)
        project_id, _ = await find_or_create_project(session, call.actor, name,
                                                     str(call.data.get("description") or ""), extra)
        return {"id": project_id}

    return await run_command(call.ctx, call.actor.company, call.metadata(), work, call.idempotency_key)


@endpoint("projects.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    found = await project_by_id(call.ctx.pool, call.actor.company, call.data["project"])
    if found is None:
        raise ApiError(400, 401, None, id=call.data["project"])
    return {"project": found}


@endpoint("projects.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    return {"projects": await list_projects(call.ctx.pool, call.actor.company, call.data)}
