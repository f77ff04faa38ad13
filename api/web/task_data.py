"""JSON for the task page's scripts, under `/ui/api/tasks/{task_id}/...`, authenticated by the session cookie
like the pages (reads only: a GET changes nothing, and no other site can read the answer).

- `scalars?x=iter|time[&metric=m...]`: one chart per metric as compact arrays (`chart_data`), each series
  downsampled by `scalar_histogram` exactly as the SDK's `events.scalar_metrics_iter_histogram` default (2000
  points); the metrics asked for (at most MAX_METRICS_PER_CALL, the page asks for those in view) or, without any,
  every metric up to `chart_data.MAX_SERIES` series; plus the position of the newest point, to ask for newer ones.
- `scalars/new?x=&iter=&seq=`: the points reported after that position (live), at most NEW_POINTS per call.
- `log?before=<ms>` (earlier lines) or `log?after=<ms>` (newer lines, live): LOG_PAGE lines at most.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from taskstream.api.web import chart_data
from taskstream.api.web.session import NotFound, WebSession, plain_id, web_caller
from taskstream.projections.scalar_histogram import ALL_METRICS, DEFAULT_SAMPLES, SCALAR, metric_filter, task_histogram
from taskstream.projections.task_reads import task_document
from taskstream.projections.task_telemetry import read_log
from taskstream.projections.telemetry_reads import ReadableTask, readable_tasks, scalar_series
from taskstream.projections.telemetry_scroll import task_events_page

router = APIRouter()
NEW_POINTS = 5000
MAX_METRICS_PER_CALL = 20
MAX_METRIC_NAME = 1000
LOG_PAGE = 500
MAX_INTEGER = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def json_response(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json", headers={"cache-control": "no-store"})


async def readable_task(request: Request, task_id: str) -> tuple[WebSession, ReadableTask]:
    """The signed-in caller and the task it may read (its company's or public), NotFound otherwise."""
    session = await web_caller(request)
    found = await readable_tasks(request.app.state.ctx.pool, [task_id], session.company) if plain_id(task_id) \
        else {}
    if task_id not in found:
        raise NotFound("task")
    return session, found[task_id]


def integer(request: Request, name: str) -> int | None:
    """A query parameter that is a 64-bit integer, else None."""
    value = request.query_params.get(name, "")
    if not _INTEGER.fullmatch(value):  # not str.isdigit: "²" is a digit to it, and int() refuses it
        return None
    number = int(value)
    return number if -MAX_INTEGER <= number <= MAX_INTEGER else None


def time_axis(request: Request) -> bool:
    return request.query_params.get("x") == "time"


async def newest_point(request: Request, task: ReadableTask) -> list[int | None] | None:
    """(iteration, seq) of the task's latest scalar report, where a live reader continues from."""
    page = await task_events_page(request.app.state.ctx.pool, task, SCALAR, False, 1, None)
    return list(page.after) if page.after else None


@router.get("/ui/api/tasks/{task_id}/scalars")
async def scalars(request: Request, task_id: str) -> Response:
    session, task = await readable_task(request, task_id)
    pool = request.app.state.ctx.pool
    cursor = await newest_point(request, task)  # first: a point reported meanwhile is read again, never lost
    asked = list(dict.fromkeys(m[:MAX_METRIC_NAME] for m in request.query_params.getlist("metric")))
    if asked:
        # bounded like the whole task: whole metrics while their series (as last_metrics counts them) fit
        doc = await task_document(pool, task.id, session.company) or {}
        known = chart_data.series_of(doc.get("last_metrics"))
        drawn, left_out = chart_data.pick_series({m: known.get(m) or {"": {}} for m in asked[:MAX_METRICS_PER_CALL]})
        left_out += asked[MAX_METRICS_PER_CALL:]
    else:
        drawn, left_out = chart_data.pick_series(await scalar_series(pool, task))
    metrics = metric_filter([{"metric": m} for m in drawn]) if left_out or asked else ALL_METRICS
    histogram = await task_histogram(pool, task.owner, task.id, DEFAULT_SAMPLES,
                                     "timestamp" if time_axis(request) else "iter", metrics) if drawn else {}
    return json_response({"charts": chart_data.task_charts(histogram, time_axis(request)), "left_out": left_out,
                          "cursor": cursor, "samples": DEFAULT_SAMPLES})


@router.get("/ui/api/tasks/{task_id}/scalars/new")
async def new_scalars(request: Request, task_id: str) -> Response:
    _, task = await readable_task(request, task_id)
    iteration, seq = integer(request, "iter"), integer(request, "seq")
    after = (iteration, seq) if seq is not None else None
    page = await task_events_page(request.app.state.ctx.pool, task, SCALAR, True, NEW_POINTS, after)
    return json_response({"points": chart_data.new_points(page.events, time_axis(request)),
                          "cursor": list(page.after) if page.after else (list(after) if after else None),
                          "more": len(page.events) == NEW_POINTS})


@router.get("/ui/api/tasks/{task_id}/log")
async def log_lines(request: Request, task_id: str) -> Response:
    """Earlier lines (`before`, newest first as read, returned oldest first) or newer ones (`after`)."""
    _, task = await readable_task(request, task_id)
    before, after = integer(request, "before"), integer(request, "after")
    earlier = after is None
    page = await read_log(request.app.state.ctx.pool, task.owner, task.id, LOG_PAGE, earlier,
                          before if earlier else after)
    lines = list(reversed(page.events)) if earlier else page.events
    return json_response({"lines": [_line(e) for e in lines], "total": page.total})


def _line(event: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": event.get("timestamp"), "level": event.get("level"), "worker": event.get("worker"),
            "msg": event.get("msg") if isinstance(event.get("msg"), str) else ""}
