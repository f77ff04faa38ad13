"""Listing at scale (issue 3 item 7): `tasks.get_all` over a company of N tasks, timed server-side.

Each query goes through the real handler code path (`api.endpoints.tasks_query.list_tasks` over
`projections.task_query.list_tasks`: compile, bounded transaction, fetch, projection), without HTTP. Two query
shapes, each with varied parameters:
* "project+status+tags": project, 1–3 statuses, a tag, not archived, `-last_update`, 50 rows, `only_fields`;
* "hyperparam order": project, 1–2 finished statuses, not archived, ordered by a numeric hyper-parameter then
  `-last_update`, page 0 or 1 of 50 rows, `only_fields` (the UI's experiment table sorted by a parameter column).
Prints p50/p95/p99 per shape against the targets (p50 ≤ 10 ms, p99 ≤ 50 ms) and the EXPLAIN ANALYZE plan of one
query of each shape.

    python -m tests.bench.listing --rows 1000000 [--database-url URL] [--queries 300]
Without --database-url an embedded PostgreSQL is started in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg

from taskstream.api.call import Call
from taskstream.api.database import EmbeddedPostgres, create_pool
from taskstream.api.endpoints.tasks_query import list_tasks
from taskstream.commands.session import Actor
from taskstream.projections.task_query import QueryOptions, compile_get_all
from taskstream.projections.task_query.fields import field_spec
from tests.bench.generate import COMPANY, TAGS, USERS, generate, project_ids

TARGET_P50_MS, TARGET_P99_MS = 10.0, 50.0
FIELDS = ["id", "name", "status", "type", "last_update", "tags", "user", "project"]


def filtered_query(rng: random.Random, projects: list[str]) -> dict[str, Any]:
    return {"project": [rng.choice(projects)], "status": rng.sample(["created", "stopped", "completed", "failed",
                                                                    "in_progress", "published"], rng.randint(1, 3)),
            "tags": [rng.choice(TAGS)], "system_tags": ["-archived"], "order_by": ["-last_update"],
            "page": 0, "page_size": 50, "only_fields": FIELDS}


def hyperparam_query(rng: random.Random, projects: list[str]) -> dict[str, Any]:
    key = rng.choice(["hyperparams.Args.lr.value", "hyperparams.Args.epochs.value",
                      "hyperparams.Args.batch_size.value"])
    return {"project": [rng.choice(projects)], "status": rng.sample(["stopped", "completed", "failed"],
                                                                    rng.randint(1, 2)), "system_tags": ["-archived"],
            "order_by": [rng.choice(["", "-"]) + key, "-last_update"], "page": rng.choice([0, 0, 1]),
            "page_size": 50, "only_fields": [*FIELDS, key.rsplit(".", 1)[0]]}


SHAPES: dict[str, Callable[[random.Random, list[str]], dict[str, Any]]] = {
    "project+status+tags": filtered_query, "hyperparam order": hyperparam_query}


def _call(pool: asyncpg.Pool, data: dict[str, Any]) -> Call:
    return Call(endpoint="tasks.get_all", requested=(2, 22), actor=Actor(COMPANY, USERS[0], "bench"), data=data,
                ctx=SimpleNamespace(pool=pool))  # type: ignore[arg-type]


async def _timed(pool: asyncpg.Pool, data: dict[str, Any]) -> tuple[float, int]:
    began = time.perf_counter()
    result = await list_tasks(_call(pool, data), extended=False)
    return (time.perf_counter() - began) * 1000, len(result["tasks"])


async def _explain(pool: asyncpg.Pool, data: dict[str, Any]) -> str:
    spec = field_spec(data, extended=False)
    sql, args = compile_get_all(data, COMPANY, QueryOptions(top_keys=spec.top_keys() if spec else None))
    rows = await pool.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
    return "\n".join("    " + r[0] for r in rows)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def _measure(pool: asyncpg.Pool, name: str, queries: int, seed: int) -> bool:
    rng = random.Random(seed)
    projects = project_ids()
    make = SHAPES[name]
    for _ in range(20):  # warm-up: caches and prepared statements, as a running server has them
        await _timed(pool, make(rng, projects))
    timings, returned = [], []
    for _ in range(queries):
        elapsed, count = await _timed(pool, make(rng, projects))
        timings.append(elapsed)
        returned.append(count)
    p50, p95, p99 = (_percentile(timings, f) for f in (0.5, 0.95, 0.99))
    ok = p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS
    print(f"  {name:<22} n={queries}  p50={p50:6.2f} ms  p95={p95:6.2f} ms  p99={p99:6.2f} ms  "
          f"max={max(timings):6.2f} ms  mean rows={statistics.mean(returned):5.1f}  "
          f"{'OK' if ok else 'MISSED'} (targets p50 ≤ {TARGET_P50_MS:g} ms, p99 ≤ {TARGET_P99_MS:g} ms)")
    print(f"  EXPLAIN ANALYZE ({name}):")
    print(await _explain(pool, make(rng, projects)))
    return ok


async def run_listing_bench(database_url: str, rows: int, queries: int = 300) -> None:
    """Load `rows` tasks through the event log (kept if already there), then measure and print the listing
    report. Never raises for missed targets; it prints them."""
    print(f"listing bench: {rows} tasks in one company, {queries} queries per shape")
    began = time.perf_counter()
    loaded = await generate(database_url, rows)
    total = time.perf_counter() - began
    state = f"loaded in {loaded:.1f} s" if loaded else "already loaded"
    print(f"  data: {state} (setup {total:.1f} s)")
    pool = await create_pool(database_url)
    try:
        for index, name in enumerate(SHAPES):
            await _measure(pool, name, queries, seed=100 + index)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.listing", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    if args.database_url:
        asyncio.run(run_listing_bench(args.database_url, args.rows, args.queries))
        return
    with tempfile.TemporaryDirectory(prefix="taskstream-listing-") as home:
        embedded = EmbeddedPostgres(Path(home))
        try:
            asyncio.run(run_listing_bench(embedded.url, args.rows, args.queries))
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
