"""The task page: `/tasks/{task_id}` (summary) and `/tasks/{task_id}/{tab}`, and `/tasks/{task_id}/history/{version}`
(the task as it was after that event, folded from the log).

Tenancy as the API's `tasks.get_by_id`: the caller's company's tasks and public ones; anything else, like an unknown
id, is the not-found page. Each tab reads what the matching API endpoint reads (`task_reads`, `telemetry_reads`,
`telemetry_scroll`, `task_telemetry`, `model_query`, `audit`), at most one page of it; the charts and the live
parts fetch their data from `task_data` (JSON under `/ui/api/`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from taskstream.api.web import task_view as view
from taskstream.api.web.diff import changes, configuration, flatten, hyperparameters
from taskstream.api.web.live import live_after
from taskstream.api.web.plots import shape_plot
from taskstream.api.web.session import NotFound, WebSession, render, web_caller
from taskstream.api.web.task_data import MAX_INTEGER, integer
from taskstream.api.web.task_data import router as data_router
from taskstream.projections.model_query import model_by_id
from taskstream.projections.project_query import project_by_id
from taskstream.projections.queue_query import queue_by_id
from taskstream.projections.scalar_histogram import ALL_METRICS
from taskstream.projections.task_reads import task_document
from taskstream.projections.task_telemetry import read_log
from taskstream.projections.task_timeline import history_page, task_as_of
from taskstream.projections.telemetry_reads import ReadableTask, latest_plots, readable_tasks, single_values
from taskstream.projections.telemetry_scroll import image_iterations
from taskstream.projections.web_reads import company_users

router = APIRouter()
router.include_router(data_router)

TABS = (("summary", "Summary"), ("execution", "Execution"), ("hyperparameters", "Parameters"),
        ("artifacts", "Artifacts"), ("models", "Models"), ("log", "Console"), ("scalars", "Scalars"),
        ("plots", "Plots"), ("debug-images", "Debug images"), ("history", "History"))
LOG_TAIL = 300
MAX_PLOTS = 60
IMAGE_ITERATIONS = 3
HISTORY_PAGE = 50
MAX_MODELS_READ = 50
MAX_VERSION = 2**31 - 1  # an event version is a PostgreSQL integer
# Fields every change rewrites: the timeline leaves them out of its before/after tables.
BOOKKEEPING = ("last_update", "last_change")


def plain_id(value: str) -> bool:
    return 0 < len(value) <= 128 and all(c.isalnum() or c in "-_." for c in value)


async def load_task(request: Request, task_id: str) -> tuple[WebSession, dict[str, Any]]:
    """The signed-in caller and the task it may read (its company's or public); NotFound otherwise."""
    session = await web_caller(request)
    task = await task_document(request.app.state.ctx.pool, task_id, session.company) if plain_id(task_id) else None
    if task is None:
        raise NotFound("task")
    return session, task


async def readable(request: Request, session: WebSession, task: dict[str, Any]) -> ReadableTask:
    """The task as the telemetry reads name it (the company its reports are filed under)."""
    found = await readable_tasks(request.app.state.ctx.pool, [task["id"]], session.company)
    if task["id"] not in found:
        raise NotFound("task")
    return found[task["id"]]


async def _summary(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    pool = request.app.state.ctx.pool
    parent = await task_document(pool, task["parent"], session.company) if task.get("parent") else None
    queue_id = (task.get("execution") or {}).get("queue")
    queue = await queue_by_id(pool, session.company, queue_id, 0) if queue_id else None
    return {"parent": parent, "queue": queue, "queue_id": queue_id, "users": await _user_names(request, session),
            "single_values": (await single_values(pool, [await readable(request, session, task)])).get(task["id"], [])}


async def _execution(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    return {"script": view.script_rows(task), "requirements": view.requirements(task),
            "container": view.container_rows(task), "diff": ((task.get("script") or {}).get("diff") or ""),
            "runtime": sorted((str(k), str(v)) for k, v in (task.get("runtime") or {}).items())}


async def _parameters(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    return {"params": view.params(task), "configurations": view.configurations(task)}


async def _artifacts(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    return {"artifacts": view.artifacts(task)}


async def _models(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    pool, links = request.app.state.ctx.pool, view.model_links(task)
    rows: dict[str, list[dict[str, Any]]] = {}
    budget = MAX_MODELS_READ
    for mode, found in links.items():
        rows[mode] = []
        for link in found:
            model = await model_by_id(pool, session.company, link["model"], (2, 22)) if budget > 0 else None
            budget -= 1
            rows[mode].append(view.model_row(link, model))
    return {"models": rows}


async def _log(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    owner = await readable(request, session, task)
    page = await read_log(request.app.state.ctx.pool, owner.owner, owner.id, LOG_TAIL, True, None)
    return {"lines": list(reversed(page.events)), "total": page.total}


async def _scalars(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    return {"metrics": view.scalar_metrics(task)}


async def _plots(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    events = await latest_plots(request.app.state.ctx.pool, [await readable(request, session, task)], 1)
    return {"plots": [shape_plot(e) for e in events[:MAX_PLOTS]], "plots_cut": len(events) > MAX_PLOTS}


def _bound(request: Request, name: str, limit: int = MAX_INTEGER) -> int | None:
    """A query parameter that is an integer within +-`limit` (a column's range), else None."""
    number = integer(request, name)
    return number if number is not None and -limit <= number <= limit else None


async def _images(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    before = _bound(request, "before")
    iterations = await image_iterations(request.app.state.ctx.pool, await readable(request, session, task),
                                        ALL_METRICS, IMAGE_ITERATIONS, True, before)
    for iteration in iterations:
        for event in iteration["events"]:
            event["link"] = view.files_link(event.get("url"))
    return {"iterations": iterations, "before": before,
            "earlier": iterations[-1]["iter"] if len(iterations) == IMAGE_ITERATIONS else None}


async def _history(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    pool = request.app.state.ctx.pool
    routine = request.query_params.get("routine") == "1"
    page = await history_page(pool, task["id"], [session.company, ""], HISTORY_PAGE,
                              _bound(request, "before", MAX_VERSION), routine)
    entries = page.entries if page else []
    for entry in entries:
        entry["changes"] = [view.readable_change(c) for c in changes(entry["before"], entry["after"], BOOKKEEPING)]
        entry["when"] = view.when(entry["time"])
    return {"entries": entries, "older": page.older if page else None, "hidden": page.hidden if page else 0,
            "routine": routine, "users": await _user_names(request, session)}


async def _user_names(request: Request, session: WebSession) -> dict[str, str]:
    return {u["id"]: u["name"] for u in await company_users(request.app.state.ctx.pool, session.company)}


TabView = Callable[[Request, WebSession, dict[str, Any]], Awaitable[dict[str, Any]]]
VIEWS: dict[str, TabView] = {
    "summary": _summary, "execution": _execution, "hyperparameters": _parameters, "artifacts": _artifacts,
    "models": _models, "log": _log, "scalars": _scalars, "plots": _plots, "debug-images": _images,
    "history": _history}

ALIASES = {"configuration": "hyperparameters"}  # the SDK's configuration link: parameters and configuration share a tab


async def _header(request: Request, session: WebSession, task: dict[str, Any]) -> dict[str, Any]:
    project = await project_by_id(request.app.state.ctx.pool, session.company, task["project"]) \
        if task.get("project") else None
    return {"project": project, "view": view, "own": task.get("company") == session.company}


@router.get("/tasks/{task_id}")
@router.get("/tasks/{task_id}/{tab}")
async def task_page(request: Request, task_id: str, tab: str = "summary") -> Response:
    """One tab of the task page; an unknown tab is the not-found page."""
    tab = ALIASES.get(tab, tab)
    if tab not in VIEWS:
        raise NotFound("page")
    after = live_after(request)  # before reading: see live_after
    session, task = await load_task(request, task_id)
    context = await VIEWS[tab](request, session, task)
    return render(request, "task.html", nav="tasks", task=task, tab=tab, tabs=TABS, live_after=after,
                  **await _header(request, session, task), **context)


@router.get("/tasks/{task_id}/history/{version}")
async def task_as_it_was(request: Request, task_id: str, version: str) -> Response:
    """The task after its event `version`, folded from the log, beside what changed since."""
    session, task = await load_task(request, task_id)
    if not (version.isascii() and version.isdigit()) or len(version) > 9:
        raise NotFound("version")
    past = await task_as_of(request.app.state.ctx.pool, task_id, [session.company, ""], int(version))
    if past is None:
        raise NotFound("version")
    doc = past.doc or {}
    since = [view.readable_change(c) for c in changes(_comparable(doc), _comparable(task))]
    return render(request, "task_asof.html", nav="tasks", task=task, past=past, doc=doc, tab="history", tabs=TABS,
                  since=since, params=view.params(doc), configurations=view.configurations(doc),
                  **await _header(request, session, task))


# What "changed since" compares: what a person edits or watches, not the bookkeeping every report rewrites.
_SINCE_SKIPPED = ("last_update", "last_change", "last_metrics", "metric_stats", "active_duration", "unique_metrics",
                  "runtime", "hyperparams", "configuration")


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in doc.items() if k not in _SINCE_SKIPPED}
    return {**flatten(kept), **{f"hyperparams.{k}": v for k, v in hyperparameters(doc).items()},
            **{f"configuration.{k}": v for k, v in configuration(doc).items()}}
