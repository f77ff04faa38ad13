"""The task page (`/tasks/{task_id}` and `/tasks/{task_id}/{tab}`): a placeholder until the task page lands; it
shows the task's name and status so the SDK's links open something real."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from taskstream.api.web.session import NotFound, render, web_caller
from taskstream.projections.task_reads import task_document

router = APIRouter()


@router.get("/tasks/{task_id}")
@router.get("/tasks/{task_id}/{tab}")
async def task_page(request: Request, task_id: str, tab: str = "summary") -> Response:
    session = await web_caller(request)
    task = await task_document(request.app.state.ctx.pool, task_id, session.company) if len(task_id) <= 128 else None
    if task is None:
        raise NotFound("task")
    return render(request, "task_placeholder.html", nav="tasks", task=task, tab=tab)
