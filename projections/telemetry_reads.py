"""Reading reported results back (`task_events`): which tasks a caller may read, single values, metric names,
plots, debug images and scrolling through a task's events. The scalar histograms are in `scalar_histogram`.

Every read names the company the telemetry is filed under (`readable_tasks`), so one company never reads
another's; a deleted task's telemetry is deleted with it (`TelemetryTable.delete_task_events`). Scroll state is
carried in the scroll id itself (a position, not a server-side cursor), so any API replica continues any scroll.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from taskstream.projections.scalar_histogram import ALL_METRICS, SCALAR, SINGLE_VALUE_ITERATION, MetricFilter

PLOT = "plot"
IMAGE = "training_debug_image"
_TARGETS = "WITH targets AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(company, task)) "
_JOIN = "FROM targets t JOIN task_events e ON e.company = t.company AND e.task = t.task "


@dataclass(frozen=True)
class ReadableTask:
    """A task the caller may read: the company its telemetry is filed under, and its name."""

    id: str
    owner: str
    name: str


async def readable_tasks(pool: asyncpg.Pool, task_ids: list[str], company: str) -> dict[str, ReadableTask]:
    """The tasks of `task_ids` that `company` may read (its own and public ones), by id; the others are absent.
    A public task's telemetry stays filed under the company that reported it (`company_origin`)."""
    rows = await pool.fetch(
        "SELECT id, COALESCE(NULLIF(doc->>'company_origin', ''), company) AS owner, name FROM tasks "
        "WHERE id = ANY($1::text[]) AND company = ANY($2::text[])", list(dict.fromkeys(task_ids)), [company, ""])
    return {r["id"]: ReadableTask(r["id"], r["owner"], r["name"]) for r in rows}


def _target_args(tasks: list[ReadableTask]) -> list[list[str]]:
    return [[t.owner for t in tasks], [t.id for t in tasks]]


async def single_values(pool: asyncpg.Pool, tasks: list[ReadableTask]) -> dict[str, list[dict[str, Any]]]:
    """Per task, its single values (scalars at iteration -2^31): the latest report of each (metric, variant)."""
    rows = await pool.fetch(
        _TARGETS + "SELECT DISTINCT ON (e.task, e.metric, e.variant) e.task, e.metric, e.variant, e.value, "
        "e.timestamp " + _JOIN + f"WHERE e.type = '{SCALAR}' AND e.iter = {SINGLE_VALUE_ITERATION} "
        "ORDER BY e.task, e.metric, e.variant, e.timestamp DESC, e.seq DESC", *_target_args(tasks))
    answer: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        answer.setdefault(r["task"], []).append(
            {"metric": r["metric"], "variant": r["variant"], "value": r["value"], "timestamp": r["timestamp"]})
    return answer


async def metric_names(pool: asyncpg.Pool, tasks: list[ReadableTask], event_type: str | None) -> dict[str, list[str]]:
    """Per task, the metric names it reported events of `event_type` (any type when None) under, sorted."""
    type_clause = "AND e.type = $3 " if event_type else ""
    rows = await pool.fetch(
        _TARGETS + "SELECT DISTINCT e.task, e.metric " + _JOIN +
        f"WHERE e.iter > {SINGLE_VALUE_ITERATION} {type_clause}ORDER BY e.task, e.metric",
        *_target_args(tasks), *([event_type] if event_type else []))
    answer: dict[str, list[str]] = {t.id: [] for t in tasks}
    for r in rows:
        answer[r["task"]].append(r["metric"])
    return answer


async def scalar_series(pool: asyncpg.Pool, task: ReadableTask) -> dict[str, dict[str, Any]]:
    """`{metric: {variant: {name: variant}}}` of the task's scalar series (single values left out)."""
    rows = await pool.fetch(
        "SELECT DISTINCT metric, variant FROM task_events WHERE company = $1 AND task = $2 "
        f"AND type = '{SCALAR}' AND iter > {SINGLE_VALUE_ITERATION} ORDER BY metric, variant", task.owner, task.id)
    answer: dict[str, dict[str, Any]] = {}
    for r in rows:
        answer.setdefault(r["metric"], {})[r["variant"]] = {"name": r["variant"]}
    return answer


async def latest_plots(pool: asyncpg.Pool, tasks: list[ReadableTask], iters: int,
                       metrics: MetricFilter = ALL_METRICS) -> list[dict[str, Any]]:
    """The plot events of the last `iters` iterations of each (task, metric, variant), latest iteration first."""
    condition, extra = metrics.clause(4)
    rows = await pool.fetch(
        _TARGETS + "SELECT doc FROM (SELECT e.doc, e.task, e.iter, e.metric, e.variant, e.seq, dense_rank() OVER "
        "(PARTITION BY e.task, e.metric, e.variant ORDER BY e.iter DESC NULLS LAST) AS rank " + _JOIN +
        f"WHERE e.type = '{PLOT}'{condition}) ranked WHERE rank <= $3 "
        "ORDER BY iter DESC NULLS LAST, metric, variant, task, seq", *_target_args(tasks), iters, *extra)
    return [json.loads(r["doc"]) for r in rows]


def encode_scroll(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_scroll(scroll_id: str) -> dict[str, Any] | None:
    """The state a scroll id carries, None when it is not one of ours."""
    try:
        state = json.loads(base64.urlsafe_b64decode(scroll_id.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return state if isinstance(state, dict) else None
