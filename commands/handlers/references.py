"""Checks of the entities a task refers to (parent, project, input models), for create, validate, edit, clone and
enqueue_many's `validate_tasks` (§5.9 steps 1 and 7)."""

from __future__ import annotations

from typing import Any

from taskstream.commands.handlers.context import CommandContext, Reader
from taskstream.commands.handlers.models import check_input_models
from taskstream.schemas.errors import ApiError, invalid_task_id


async def check_references(ctx: CommandContext, db: Reader, company: str, fields: dict[str, Any]) -> None:
    """The parent must be a task of the company or public (400/16 unknown, 400/101 foreign or deleted); the project
    a project of the company (403/21 public, 400/401 unknown or foreign); the input models (`models.input`) models
    of the company or public (400/201). Output model ids are not checked (§3.5)."""
    parent = fields.get("parent")
    if parent:
        owner = await ctx.tasks.company_of(db, parent)
        if owner is None:
            raise ApiError(400, 16, "expecting Task id", id=parent, field="parent")
        if owner not in (company, "") or parent.startswith("__DELETED__"):
            raise ApiError(400, 101, "invalid parent", parent=parent)
    project = fields.get("project")
    if project:
        owner = await ctx.projects.company_of(db, project)
        if owner == "":
            raise ApiError(403, 21, "cannot use public project for task", id=project)
        if owner != company:
            raise ApiError(400, 401, None, id=project)
    await check_input_models(ctx, db, company, input_model_ids(fields.get("models")))


def input_model_ids(models: Any) -> list[str]:
    """The model ids of `models.input`; a malformed value has none here (its shape is refused when it is saved)."""
    items = models.get("input") if isinstance(models, dict) else None
    if not isinstance(items, list):
        return []
    return [i["model"] for i in items if isinstance(i, dict) and isinstance(i.get("model"), str)]


async def check_task_references(ctx: CommandContext, company: str, task_id: str) -> None:
    """`validate_tasks`: the company's task (else 400/101) must still have a valid parent, project and input
    models."""
    references = await ctx.tasks.references(ctx.pool, task_id, company)
    if references is None:
        raise invalid_task_id(id=task_id, company=company)
    await check_references(ctx, ctx.pool, company, references)
