"""Checks of the entities a task refers to (parent, project), for create, validate and edit (§5.9 step 1 and 7)."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.commands.session import Actor
from taskstream.schemas.errors import ApiError


async def check_references(conn: asyncpg.Connection | asyncpg.Pool, actor: Actor, fields: dict[str, Any]) -> None:
    parent = fields.get("parent")
    if parent:
        company = await conn.fetchval("SELECT company FROM tasks WHERE id = $1", parent)
        if company is None:
            raise ApiError(400, 16, "expecting Task id", id=parent, field="parent")
        if company not in (actor.company, "") or parent.startswith("__DELETED__"):
            raise ApiError(400, 101, "invalid parent", parent=parent)
    project = fields.get("project")
    if project:
        company = await conn.fetchval("SELECT company FROM projects WHERE id = $1", project)
        if company == "":
            raise ApiError(403, 21, "cannot use public project for task", id=project)
        if company != actor.company:
            raise ApiError(400, 401, None, id=project)
