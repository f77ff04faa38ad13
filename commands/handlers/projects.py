"""Project commands: create (with its missing parents), and finding or creating a project by name inside another
command (move, clone). Each project is a stream (`ProjectCreated`)."""

from __future__ import annotations

from typing import Any

from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import CreateProject
from taskstream.commands.session import Actor, CommandSession
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
        raise ApiError(400, 409, None, max_depth=MAX_DEPTH)
    return parts


async def find_or_create_project(ctx: CommandContext, session: CommandSession, actor: Actor, name: str,
                                 description: str = "", extra: dict[str, Any] | None = None) -> tuple[str, bool]:
    """The id of the project with this full name, created with its missing parents in this transaction; and
    whether it was new."""
    parts = split_name(name)
    parent: str | None = None
    created = False
    for depth in range(1, len(parts) + 1):
        full = "/".join(parts[:depth])
        # Why the lock: two callers creating the same name at once must end with one project.
        await session.lock(f"project-name:{actor.company}:{full}")
        existing = await ctx.projects.by_name(session.conn, actor.company, full)
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


async def create(ctx: CommandContext, caller: Caller, command: CreateProject) -> dict[str, Any]:
    """A new project (and its missing parents); an existing full name → 400/405. `{id}`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        parts = split_name(command.name)
        if await ctx.projects.by_name(session.conn, caller.company, "/".join(parts)):
            raise ApiError(400, 405, None, name=command.name)
        project_id, _ = await find_or_create_project(ctx, session, caller.actor, command.name, command.description,
                                                     command.extra)
        return {"id": project_id}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def target_project(ctx: CommandContext, session: CommandSession, actor: Actor, project: Any,
                         name: Any) -> str:
    """`project` (the caller's, else 400/401) wins over `name` (found or created with parents); neither → 400/11."""
    if project:
        if await ctx.projects.company_of(session.conn, project) != actor.company:
            raise ApiError(400, 401, None, id=project)
        return str(project)
    if name:
        project_id, _ = await find_or_create_project(ctx, session, actor, name)
        return project_id
    raise ApiError(400, 11, "project or project_name is required")
