"""Scalar histograms (`events.scalar_metrics_iter_histogram` and its multi-task form), downsampled in SQL.

The reference server's rule, per series (task, metric, variant): a series of fewer points than `samples` comes
back whole (width 1); otherwise its x range is cut into buckets of width ceil((max - min + 1) / samples), keyed by
the bucket's lower bound (floor(x / width) * width), each answered with the average value. So a series never has
more than `samples` points, whatever the task reported. Single values (iteration -2^31) are not part of it.

All of it is one statement: PostgreSQL reads each series' index range twice (its width, then its buckets) and
returns one row per series with its x and y arrays, so the server never holds more than the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

SCALAR = "training_stats_scalar"
SINGLE_VALUE_ITERATION = -(2**31)
DEFAULT_SAMPLES = 2000  # the reference's default when the client sends none (the SDK sends none)
MAX_SAMPLES = 6000
# x axis key -> the column it buckets (whitelist: the key is interpolated into the SQL).
KEY_COLUMNS = {"iter": "iter", "timestamp": "timestamp", "iso_time": "timestamp"}
_ISO = """to_char(to_timestamp(x / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


@dataclass(frozen=True)
class MetricFilter:
    """Which series to read: metrics with all their variants, and single (metric, variant) pairs; empty: all."""

    metrics: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.metrics or self.pairs)

    def clause(self, first: int) -> tuple[str, list[Any]]:
        """An `AND ...` condition on `e.metric`/`e.variant` with parameters numbered from `first`."""
        if not self:
            return "", []
        return (f" AND (e.metric = ANY(${first}::text[]) OR (e.metric, e.variant) IN "
                f"(SELECT * FROM unnest(${first + 1}::text[], ${first + 2}::text[])))",
                [list(self.metrics), [m for m, _ in self.pairs], [v for _, v in self.pairs]])


ALL_METRICS = MetricFilter()


def metric_filter(requested: Any) -> MetricFilter:
    """The filter of a request's `metrics: [{metric, variants: [...]}]` (no variants: the whole metric)."""
    metrics: list[str] = []
    pairs: list[tuple[str, str]] = []
    for item in requested or []:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), str):
            continue
        variants = [v for v in item.get("variants") or [] if isinstance(v, str)]
        if variants:
            pairs.extend((item["metric"], v) for v in variants)
        else:
            metrics.append(item["metric"])
    return MetricFilter(tuple(metrics), tuple(pairs))


def histogram_sql(key: str, metrics: MetricFilter = ALL_METRICS) -> tuple[str, list[Any]]:
    """The downsampling statement for x axis `key` and its extra parameters (numbered from $4); $1/$2 are the
    (company, task) pairs to read, $3 the sample count. Rows: task, metric, variant, xs, ys.

    Why this shape: the series are found by skipping through the series index (one probe per series, not a
    scan), and each series is then counted and bucketed on its own index range, grouping by a number only.
    Grouping all points by (task, metric, variant, bucket) at once sorts a million rows on text and is several
    times slower."""
    column = KEY_COLUMNS[key]
    condition, extra = metrics.clause(4)
    x_out = _ISO if key == "iso_time" else "x"
    scalars = f"e.type = '{SCALAR}' AND e.iter > {SINGLE_VALUE_ITERATION}{condition}"
    one_series = f"e.company = s.company AND e.task = s.task AND e.metric = s.metric AND e.variant = s.variant " \
                 f"AND {scalars}"
    sql = f"""
WITH RECURSIVE targets AS (SELECT * FROM unnest($1::text[], $2::text[]) AS t(company, task)),
series AS (
    SELECT f.* FROM targets s CROSS JOIN LATERAL (
        SELECT e.company, e.task, e.metric, e.variant FROM task_events e
        WHERE e.company = s.company AND e.task = s.task AND {scalars} ORDER BY e.metric, e.variant LIMIT 1) f
    UNION ALL
    SELECT n.* FROM series s CROSS JOIN LATERAL (
        SELECT e.company, e.task, e.metric, e.variant FROM task_events e
        WHERE e.company = s.company AND e.task = s.task AND {scalars} AND (e.metric, e.variant) > (s.metric, s.variant)
        ORDER BY e.metric, e.variant LIMIT 1) n),
widths AS MATERIALIZED (
    SELECT s.*, CASE WHEN c.n < $3 THEN 1 ELSE greatest(1, ceil((c.hi::numeric - c.lo + 1) / $3))::bigint END AS w
    FROM series s CROSS JOIN LATERAL (
        SELECT count(*) AS n, min(e.{column}) AS lo, max(e.{column}) AS hi FROM task_events e WHERE {one_series}) c)
SELECT s.task, s.metric, s.variant, b.xs, b.ys FROM widths s CROSS JOIN LATERAL (
    SELECT array_agg({x_out} ORDER BY x) AS xs, array_agg(y ORDER BY x) AS ys FROM (
        SELECT e.{column} - mod(mod(e.{column}, s.w) + s.w, s.w) AS x, avg(e.value) AS y
        FROM task_events e WHERE {one_series} GROUP BY 1) g) b
ORDER BY s.metric, s.variant, s.task"""
    return sql, extra


def clamp_samples(samples: Any) -> int:
    """The sample count to use: the default when none is given, else within [1, 6000] (the reference's bounds)."""
    if samples is None or isinstance(samples, bool) or not isinstance(samples, int):
        return DEFAULT_SAMPLES
    return max(1, min(samples, MAX_SAMPLES))


async def read_histograms(pool: asyncpg.Pool, targets: list[tuple[str, str]], samples: int, key: str,
                          metrics: MetricFilter = ALL_METRICS) -> list[asyncpg.Record]:
    """One row per series of the (company, task) `targets`, each at most `samples` points long."""
    sql, extra = histogram_sql(key, metrics)
    return list(await pool.fetch(sql, [c for c, _ in targets], [t for _, t in targets], samples, *extra))


def _series(row: asyncpg.Record) -> dict[str, Any]:
    return {"name": row["variant"], "x": list(row["xs"]), "y": list(row["ys"])}


async def task_histogram(pool: asyncpg.Pool, company: str, task: str, samples: int, key: str,
                         metrics: MetricFilter = ALL_METRICS) -> dict[str, dict[str, Any]]:
    """`{metric: {variant: {name, x, y}}}` of one task (the reference's answer)."""
    answer: dict[str, dict[str, Any]] = {}
    for row in await read_histograms(pool, [(company, task)], samples, key, metrics):
        answer.setdefault(row["metric"], {})[row["variant"]] = _series(row)
    return answer


async def compare_histograms(pool: asyncpg.Pool, targets: dict[str, tuple[str, str]], samples: int, key: str,
                             metrics: MetricFilter = ALL_METRICS) -> dict[str, dict[str, Any]]:
    """`{metric: {variant: {task: {name: task name, x, y}}}}` over several tasks; `targets`: task -> (its
    telemetry's company, its name)."""
    answer: dict[str, dict[str, Any]] = {}
    pairs = [(company, task) for task, (company, _) in targets.items()]
    for row in await read_histograms(pool, pairs, samples, key, metrics):
        series = {**_series(row), "name": targets[row["task"]][1]}
        answer.setdefault(row["metric"], {}).setdefault(row["variant"], {})[row["task"]] = series
    return answer
