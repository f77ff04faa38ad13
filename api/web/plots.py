"""Reported plots (`events` of type plot: a Plotly figure as JSON in `plot_str`) shaped for the task page without
Plotly: line and scatter traces become a uPlot chart, a table trace an HTML table, anything else is shown as its
JSON (cut). Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from taskstream.api.web.chart_data import align

MAX_PLOT_CHARS = 2_000_000  # a plot_str longer than this is not parsed, only named
MAX_TABLE_ROWS = 500
MAX_RAW_CHARS = 5_000


def _title(layout: Any, fallback: str) -> str:
    if not isinstance(layout, dict):
        return fallback
    title = layout.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return title if isinstance(title, str) and title else fallback


def _numbers(values: Any) -> bool:
    return isinstance(values, list) and all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values)


def _lines(traces: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A chart of the scatter traces with numeric x and y (x defaults to 0..n-1), or None when there is one not."""
    series, names = [], []
    for i, trace in enumerate(traces):
        y = trace.get("y")
        x = trace.get("x", list(range(len(y))) if isinstance(y, list) else None)
        if trace.get("type", "scatter") not in ("scatter", "scattergl") or not (_numbers(x) and _numbers(y)):
            return None
        pairs = sorted((a, b) for a, b in zip(x, y, strict=False) if a is not None)
        series.append(([a for a, _ in pairs], [b for _, b in pairs]))
        names.append(str(trace.get("name") or f"series {i + 1}"))
    # markers only (a scatter plot) is drawn as points, anything with lines as lines
    return {"kind": "chart", "series": names, "data": align(series),
            "points": ["lines" not in str(t.get("mode") or "lines") for t in traces]}


def _table(trace: dict[str, Any]) -> dict[str, Any]:
    header = (trace.get("header") or {}).get("values") or []
    columns = (trace.get("cells") or {}).get("values") or []
    height = max((len(c) for c in columns if isinstance(c, list)), default=0)
    rows = [[_cell(c[r]) if isinstance(c, list) and r < len(c) else "" for c in columns]
            for r in range(min(height, MAX_TABLE_ROWS))]
    return {"kind": "table", "header": [_cell(h) for h in header], "rows": rows, "truncated": height > MAX_TABLE_ROWS}


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def shape_plot(event: dict[str, Any]) -> dict[str, Any]:
    """`{metric, variant, iter, title, kind, ...}`: kind "chart" (series, data, points), "table" (header, rows,
    truncated) or "raw" (text)."""
    base = {"metric": event.get("metric", ""), "variant": event.get("variant", ""), "iter": event.get("iter")}
    text = event.get("plot_str")
    if not isinstance(text, str) or len(text) > MAX_PLOT_CHARS:
        return {**base, "title": base["metric"], "kind": "raw", "text": "(plot too large to show)"}
    try:
        figure = json.loads(text)
    except ValueError:
        return {**base, "title": base["metric"], "kind": "raw", "text": text[:MAX_RAW_CHARS]}
    traces = figure.get("data") if isinstance(figure, dict) else None
    title = _title(figure.get("layout") if isinstance(figure, dict) else None, str(base["metric"]))
    if isinstance(traces, list) and traces and all(isinstance(t, dict) for t in traces):
        if traces[0].get("type") == "table":
            return {**base, "title": title, **_table(traces[0])}
        chart = _lines(traces)
        if chart is not None:
            return {**base, "title": title, **chart}
    return {**base, "title": title, "kind": "raw", "text": json.dumps(figure, indent=1)[:MAX_RAW_CHARS]}
