"""Scrolling through reported results: a task's events in iteration order (`events.get_task_events`) and the
debug images of the latest iterations per task (`events.debug_images`).

Pages are keyset pages: the scroll id carries the last (iteration, seq) returned, so a page costs an index range
read whatever its depth, and rows added meanwhile are neither skipped nor repeated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from taskstream.projections.scalar_histogram import ALL_METRICS, MetricFilter
from taskstream.projections.telemetry_reads import IMAGE, ReadableTask
from taskstream.schemas.errors import validation_error

_COLUMNS = "SELECT e.seq, e.iter, e.doc FROM task_events e WHERE e.company = $1 AND e.task = $2 "


@dataclass(frozen=True)
class EventsPage:
    events: list[dict[str, Any]]
    after: tuple[int | None, int] | None  # the last (iter, seq) returned, None when the page is empty


def _keyset(ascending: bool, after: tuple[int | None, int] | None, first: int) -> tuple[str, str, list[Any]]:
    """(condition on rows with an iteration, condition on rows without one, parameters from `first`).
    Ascending order puts the rows without an iteration last; descending (its exact reverse) first."""
    if after is None:
        return "", "", []
    iteration, seq = after
    if ascending:
        if iteration is None:
            return " AND false", f" AND e.seq > ${first}", [seq]
        return f" AND (e.iter, e.seq) > (${first}, ${first + 1})", "", [iteration, seq]
    if iteration is None:
        return "", f" AND e.seq < ${first}", [seq]
    return f" AND (e.iter, e.seq) < (${first}, ${first + 1})", " AND false", [iteration, seq]


def _event_filter(task: ReadableTask, event_type: str | None, metrics: MetricFilter) -> tuple[list[Any], str]:
    """The parameters ($1 owner, $2 task, then the type and metrics) and the conditions after `e.task = $2`."""
    args: list[Any] = [task.owner, task.id]
    type_clause = ""
    if event_type:
        args.append(event_type)
        type_clause = f"AND e.type = ${len(args)} "
    metric_clause, metric_args = metrics.clause(len(args) + 1)
    return args + list(metric_args), type_clause + metric_clause


async def task_events_page(pool: asyncpg.Pool, task: ReadableTask, event_type: str | None, ascending: bool,
                           batch_size: int, after: tuple[int | None, int] | None,
                           metrics: MetricFilter = ALL_METRICS) -> EventsPage:
    """Up to `batch_size` events of the task after `after`, ordered by (iteration, seq)."""
    args, filters = _event_filter(task, event_type, metrics)
    with_iter, without_iter, keyset_args = _keyset(ascending, after, len(args) + 1)
    args += keyset_args
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise validation_error("batch_size must be a positive integer")
    args.append(batch_size)
    limit = f"${len(args)}"  # bound, never written into the statement
    direction = "ASC" if ascending else "DESC"
    base = _COLUMNS + filters
    numbered = (f"({base}AND e.iter IS NOT NULL{with_iter} ORDER BY e.iter {direction}, e.seq {direction} "
                f"LIMIT {limit})")
    unnumbered = f"({base}AND e.iter IS NULL{without_iter} ORDER BY e.seq {direction} LIMIT {limit})"
    nulls = "LAST" if ascending else "FIRST"
    rows = await pool.fetch(f"SELECT * FROM ({numbered} UNION ALL {unnumbered}) page "
                            f"ORDER BY iter {direction} NULLS {nulls}, seq {direction} LIMIT {limit}", *args)
    last = (rows[-1]["iter"], rows[-1]["seq"]) if rows else None
    return EventsPage([json.loads(r["doc"]) for r in rows], last)


async def count_events(pool: asyncpg.Pool, task: ReadableTask, event_type: str | None,
                       metrics: MetricFilter = ALL_METRICS) -> int:
    args, filters = _event_filter(task, event_type, metrics)
    return int(await pool.fetchval(f"SELECT count(*) FROM task_events e WHERE e.company = $1 AND e.task = $2 "
                                   f"{filters}", *args))


async def image_iterations(pool: asyncpg.Pool, task: ReadableTask, metrics: MetricFilter, iters: int,
                           earlier: bool, bound: int | None) -> list[dict[str, Any]]:
    """`[{iter, events}]` of the task's debug images: the `iters` latest iterations before `bound` (or the
    earliest after it unless `earlier`), latest first; one event per (metric, variant) and iteration, the last
    one reported."""
    metric_clause, metric_args = metrics.clause(4)
    bound_clause = "" if bound is None else f" AND e.iter {'<' if earlier else '>'} ${4 + len(metric_args)}"
    direction = "DESC" if earlier else "ASC"
    where = (f"WHERE e.company = $1 AND e.task = $2 AND e.type = '{IMAGE}' AND e.iter IS NOT NULL"
             f"{metric_clause}{bound_clause}")
    rows = await pool.fetch(
        f"WITH its AS (SELECT DISTINCT e.iter FROM task_events e {where} ORDER BY e.iter {direction} LIMIT $3) "
        f"SELECT DISTINCT ON (e.iter, e.metric, e.variant) e.iter, e.doc FROM task_events e {where} "
        "AND e.iter IN (SELECT iter FROM its) ORDER BY e.iter DESC, e.metric, e.variant, e.timestamp DESC, e.seq DESC",
        task.owner, task.id, iters, *metric_args, *([bound] if bound is not None else []))
    iterations: list[dict[str, Any]] = []
    for r in rows:
        if not iterations or iterations[-1]["iter"] != r["iter"]:
            iterations.append({"iter": r["iter"], "events": []})
        iterations[-1]["events"].append(json.loads(r["doc"]))
    return iterations
