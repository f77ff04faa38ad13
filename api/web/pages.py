"""The projects page, the tasks table and the queues & workers page: each reads what the API's listings read
(`projections.task_query.list_tasks` for the table, the same compiler as `tasks.get_all`; `queue_query`,
`worker_registry`, `web_reads`), in the caller's company."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from taskstream.api.web.live import live_after
from taskstream.api.web.session import NotFound, render, web_caller
from taskstream.api.web.table import TableQuery, metric_options, param_options, table_rows
from taskstream.commands.handlers import queues as queue_commands
from taskstream.projections import task_query
from taskstream.projections.project_query import project_by_id
from taskstream.projections.queue_query import list_queues
from taskstream.projections.web_reads import company_users, project_stats
from taskstream.projections.worker_registry import live_workers
from taskstream.schemas.clock import utc_now
from taskstream.schemas.enums import TASK_STATUSES, TASK_TYPES
from taskstream.schemas.errors import ApiError

router = APIRouter()
WORKERS_LAST_SEEN = 3600


def base_url(request: Request) -> str:
    """This server's URL as the browser reached it (for the clearml.conf snippet)."""
    return f"{request.url.scheme}://{request.url.netloc}"


@router.get("/projects")
async def projects(request: Request) -> Response:
    session = await web_caller(request)
    stats = await project_stats(request.app.state.ctx.pool, session.company)
    return render(request, "projects.html", nav="projects", projects=stats, statuses=TASK_STATUSES,
                  base_url=base_url(request))


@router.get("/tasks")
async def tasks(request: Request) -> Response:
    """The tasks table of a project (`?project=<id>`) or of all projects: filters, ordering, paging and columns
    from the query string (each bounded, see `TableQuery`); a filter the listing refuses is shown as a message."""
    session = await web_caller(request)
    after = live_after(request)  # before reading: see live_after
    pool = request.app.state.ctx.pool
    query = TableQuery.from_params(request.query_params)
    project = None
    if query.project:
        project = await project_by_id(pool, session.company, query.project)
        if project is None:
            raise NotFound("project")
    error, rows, found = None, [], []
    try:
        found, _ = await task_query.list_tasks(pool, session.company, query.listing(), extended=True)
        rows = table_rows(found, query)
    except ApiError as exc:
        error = f"The filter could not be applied: {exc.msg}"
    return render(request, "tasks.html", nav="tasks", query=query, rows=rows, live_after=after,
                  has_next=len(rows) == query.page_size, project=project, error=error, statuses=TASK_STATUSES,
                  types=TASK_TYPES, users=await company_users(pool, session.company),
                  metric_choices=metric_options(found, query),
                  param_choices=param_options(found, query), base_url=base_url(request))


async def _entry_tasks(pool: Any, company: str, queues: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [e["task"] for q in queues for e in q.get("entries", [])][:1000]
    if not ids:
        return {}
    found, _ = await task_query.list_tasks(pool, company, {"id": ids, "only_fields": ["id", "name", "status"]},
                                           extended=False)
    return {t["id"]: t for t in found}


@router.get("/queues")
async def queues_page(request: Request) -> Response:
    session = await web_caller(request)
    after = live_after(request)
    ctx = request.app.state.ctx
    await queue_commands.ensure_default(ctx.commands, session.caller("queues.get_all"))
    queues = await list_queues(ctx.pool, session.company, {})
    workers = await live_workers(ctx.pool, session.company, utc_now(), WORKERS_LAST_SEEN)
    return render(request, "queues.html", nav="queues", queues=queues, workers=workers, live_after=after,
                  tasks=await _entry_tasks(ctx.pool, session.company, queues), base_url=base_url(request))
