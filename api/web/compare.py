"""The compare page, `/compare?ids=a,b,...` (or `ids=a&ids=b`): 2 to 10 tasks side by side, their hyper-parameters
and configuration with the differences marked (`diff.compare`), and their scalars overlaid, one chart per metric
(`/ui/api/compare/scalars`, downsampled by `scalar_histogram` as the SDK's multi-task histogram is).

Every task must be readable by the caller (its company's or public): one that is not makes the page not-found,
as the API's `events.multi_task_scalar_metrics_iter_histogram` refuses the whole call.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from taskstream.api.web import chart_data
from taskstream.api.web.diff import compare, configuration, hyperparameters
from taskstream.api.web.session import NotFound, WebSession, plain_id, render, web_caller
from taskstream.api.web.task_data import json_response, time_axis
from taskstream.projections.scalar_histogram import DEFAULT_SAMPLES, compare_histograms, metric_filter
from taskstream.projections.task_reads import task_document
from taskstream.projections.telemetry_reads import ReadableTask, readable_tasks, scalar_series

router = APIRouter()
MIN_TASKS, MAX_TASKS = 2, 10
PALETTE = ("#2f7ed8", "#e4572e", "#17a589", "#a05195", "#f0a202", "#5c6bc0", "#d45087", "#2e8b57", "#8d6e63",
           "#00838f")


def requested_ids(request: Request) -> list[str]:
    """The task ids asked for, in order, each once: `ids` given repeatedly or comma-separated (bounded)."""
    ids: list[str] = []
    for value in request.query_params.getlist("ids")[:MAX_TASKS + 1]:
        ids += [part.strip() for part in value[:2000].split(",") if part.strip()]
    return list(dict.fromkeys(ids))


async def _tasks(request: Request, session: WebSession, ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for task_id in ids:
        task = await task_document(request.app.state.ctx.pool, task_id, session.company) if plain_id(task_id) \
            else None
        if task is None:
            raise NotFound("task")
        found.append(task)
    return found


def colours(ids: list[str]) -> dict[str, str]:
    return {task_id: PALETTE[i % len(PALETTE)] for i, task_id in enumerate(ids)}


@router.get("/compare")
async def compare_page(request: Request) -> Response:
    session = await web_caller(request)
    ids = requested_ids(request)
    if not MIN_TASKS <= len(ids) <= MAX_TASKS:
        return render(request, "compare.html", status=400, nav="tasks", tasks=[], ids=ids,
                      error=f"Choose {MIN_TASKS} to {MAX_TASKS} tasks to compare: select them in the tasks table "
                            "and press Compare.")
    tasks = await _tasks(request, session, ids)
    params = compare([hyperparameters(t) for t in tasks])
    configs = compare([configuration(t) for t in tasks])
    return render(request, "compare.html", nav="tasks", tasks=tasks, ids=ids, error=None, params=params,
                  configs=configs, colours=colours(ids), ids_query=",".join(ids),
                  differing=sum(r.differs for r in params) + sum(r.differs for r in configs))


async def _readable(request: Request, session: WebSession, ids: list[str]) -> list[ReadableTask]:
    if not all(map(plain_id, ids)):
        raise NotFound("task")
    found = await readable_tasks(request.app.state.ctx.pool, ids, session.company)
    if any(task_id not in found for task_id in ids):
        raise NotFound("task")
    return [found[task_id] for task_id in ids]


@router.get("/ui/api/compare/scalars")
async def compare_scalars(request: Request) -> Response:
    """`{charts, left_out, colours}`: every metric's series of all the tasks, at most MAX_SERIES in all."""
    session = await web_caller(request)
    ids = requested_ids(request)
    if not MIN_TASKS <= len(ids) <= MAX_TASKS:
        raise NotFound("set of tasks")
    tasks = await _readable(request, session, ids)
    pool = request.app.state.ctx.pool
    available: dict[str, dict[str, Any]] = {}
    for task in tasks:
        for metric, variants in (await scalar_series(pool, task)).items():
            available.setdefault(metric, {}).update({f"{task.id}/{v}": {} for v in variants})
    drawn, left_out = chart_data.pick_series(available)
    histogram = await compare_histograms(pool, {t.id: (t.owner, t.name) for t in tasks}, DEFAULT_SAMPLES,
                                         "timestamp" if time_axis(request) else "iter",
                                         metric_filter([{"metric": m} for m in drawn])) if drawn else {}
    return json_response({"charts": chart_data.compare_charts(histogram, ids, time_axis(request)),
                          "left_out": left_out, "colours": colours(ids), "cursor": None})
