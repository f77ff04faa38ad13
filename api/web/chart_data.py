"""Scalar series shaped for the browser's charts (uPlot): one chart per metric, its series aligned on one x array
(`[xs, ys_1, ..., ys_n]`, a missing point is null), numbers only, so 100 series of 2000 points travel as compact
arrays. Pure: the points come from `projections.scalar_histogram` (downsampled there, as for the SDK) and
`projections.telemetry_scroll` (new points, live).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

MAX_SERIES = 400  # series drawn on one page; a task with more gets its first metrics and a list of the others
Number = float | int
Aligned = list[list[Any]]  # [xs, ys_1, ..., ys_n]


def _x(value: Any, time_axis: bool) -> Number:
    """An x value for the chart: iterations as they are, timestamps (ms) as seconds, uPlot's time unit."""
    return value / 1000 if time_axis else value


def _y(value: Any) -> Number | None:
    """A finite number, else None (JSON has no NaN or infinity, and uPlot leaves a gap for null)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


def align(series: list[tuple[list[Any], list[Any]]]) -> Aligned:
    """`[xs, ys...]` over the sorted union of the series' x values; a series without a point at an x has null there.
    Series sharing one x array (the common case: variants reported together) are not re-indexed."""
    if not series:
        return [[]]
    first = series[0][0]
    if all(xs == first for xs, _ in series) and all(a < b for a, b in zip(first, first[1:], strict=False)):
        return [list(first), *([_y(v) for v in ys] for _, ys in series)]
    xs = sorted({x for s_xs, _ in series for x in s_xs})
    index = {x: i for i, x in enumerate(xs)}
    aligned: Aligned = [xs]
    for s_xs, ys in series:
        column: list[Any] = [None] * len(xs)
        for x, y in zip(s_xs, ys, strict=False):
            column[index[x]] = _y(y)
        aligned.append(column)
    return aligned


def task_charts(histogram: dict[str, dict[str, dict[str, Any]]], time_axis: bool = False) -> list[dict[str, Any]]:
    """`[{metric, series: [variant], data: [xs, ys...]}]` from `task_histogram`'s `{metric: {variant: {x, y}}}`,
    metrics and variants in name order."""
    charts = []
    for metric in sorted(histogram):
        variants = sorted(histogram[metric])
        series = [([_x(x, time_axis) for x in histogram[metric][v]["x"]], histogram[metric][v]["y"]) for v in variants]
        charts.append({"metric": metric, "series": variants, "data": align(series)})
    return charts


def compare_charts(histogram: dict[str, dict[str, dict[str, dict[str, Any]]]], tasks: list[str],
                   time_axis: bool = False) -> list[dict[str, Any]]:
    """One chart per metric overlaying every task's series: `[{metric, series: [{task, variant, label, dash}],
    data}]` from `compare_histograms`' `{metric: {variant: {task: {name, x, y}}}}`; series by task (in `tasks`'
    order) then variant, labelled "task name · variant" (just the task name when the metric has one variant); a
    task keeps one colour, so its variants after the first are dashed."""
    charts = []
    for metric in sorted(histogram):
        variants = sorted(histogram[metric])
        labels, series = [], []
        for task in tasks:
            for variant in variants:
                found = histogram[metric][variant].get(task)
                if found is None:
                    continue
                label = found["name"] if len(variants) == 1 else f"{found['name']} · {variant}"
                labels.append({"task": task, "variant": variant, "label": label, "dash": variant != variants[0]})
                series.append(([_x(x, time_axis) for x in found["x"]], found["y"]))
        charts.append({"metric": metric, "series": labels, "data": align(series)})
    return charts


def pick_series(available: dict[str, dict[str, Any]], limit: int = MAX_SERIES) -> tuple[list[str], list[str]]:
    """(metrics to draw, metrics left out) from `scalar_series`' `{metric: {variant: ...}}`: whole metrics in name
    order while their series fit in `limit` (at least one metric, however many series it has)."""
    drawn: list[str] = []
    count = 0
    for metric in sorted(available):
        size = len(available[metric])
        if drawn and count + size > limit:
            break
        drawn.append(metric)
        count += size
    return drawn, [m for m in sorted(available) if m not in drawn]


def series_of(last_metrics: Any) -> dict[str, dict[str, Any]]:
    """`{metric: {variant: {}}}` of a task's `last_metrics` (`{metric hash: {variant hash: {metric, variant}}}`)."""
    found: dict[str, dict[str, Any]] = {}
    for variants in (last_metrics or {}).values() if isinstance(last_metrics, dict) else ():
        for entry in variants.values() if isinstance(variants, dict) else ():
            if isinstance(entry, dict) and entry.get("metric"):
                found.setdefault(str(entry["metric"]), {})[str(entry.get("variant", ""))] = {}
    return found


def new_points(events: Iterable[dict[str, Any]], time_axis: bool = False) -> dict[str, dict[str, list[list[Any]]]]:
    """`{metric: {variant: [xs, ys]}}` of scalar events (as reported: iter, timestamp, value), in their order;
    events without an iteration on the iteration axis are left out."""
    points: dict[str, dict[str, list[list[Any]]]] = {}
    for event in events:
        x = event.get("timestamp") if time_axis else event.get("iter")
        if not isinstance(x, int | float) or isinstance(x, bool):
            continue
        pair = points.setdefault(str(event.get("metric", "")), {}).setdefault(str(event.get("variant", "")), [[], []])
        pair[0].append(_x(x, time_axis))
        pair[1].append(_y(event.get("value")))
    return points
