"""Scalar histogram bench (DESIGN.md "Performance"; issue 10 §3): one task with 100 series × 10^4 iterations
(10^6 scalar points), read with `events.scalar_metrics_iter_histogram` at the SDK's default sample count (the SDK
sends none, so the server's default of 2000 applies), beside the same downsampling statement run directly with
asyncpg in the same run. Target: the endpoint's p95 ≤ 2× the statement's p95, every series ≤ the sample count.

The endpoint is called through the whole ASGI app in-process (auth, routing, validation, the read, the envelope and
its JSON encoding), not over a socket, so both sides share the same event loop and client process. The points are
COPied into the telemetry table (telemetry is not in the event log); the task itself is created through the API.

`python -m tests.bench.histogram [--series 100 --iterations 10000 --queries 30 --database-url URL]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from taskstream.api.app import create_app
from taskstream.api.auth import Authenticator
from taskstream.api.context import AppContext
from taskstream.api.database import EmbeddedPostgres, create_pool
from taskstream.commands.accounts import add_credentials, bootstrap, create_user, generate_key_pair
from taskstream.projections.scalar_histogram import DEFAULT_SAMPLES, histogram_sql
from taskstream.schemas.contract import load_contract
from taskstream.schemas.ids import new_id

from . import summary
from .replay_bench import scratch_database

TARGET_RATIO = 2.0
COLUMNS = ("company", "task", "type", "timestamp", "iter", "metric", "variant", "value", "doc")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def _tenant(pool: asyncpg.Pool) -> tuple[str, dict[str, str]]:
    company = new_id()
    async with pool.acquire() as conn:
        user = await create_user(conn, "bench", company, "histogram bench")
        key, secret = generate_key_pair()
        await add_credentials(conn, user, key, secret)
    return company, {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def _rows(company: str, task: str, series: int, iterations: int, metric: int) -> list[tuple[object, ...]]:
    rows = []
    for variant in range(min(10, series)):
        for i in range(iterations):
            value = (metric + 1) / (i + 1) + variant
            doc = json.dumps({"type": "training_stats_scalar", "task": task, "iter": i, "timestamp": i,
                              "metric": f"m{metric}", "variant": f"v{variant}", "value": value})
            rows.append((company, task, "training_stats_scalar", i, i, f"m{metric}", f"v{variant}", value, doc))
    return rows


async def _load(pool: asyncpg.Pool, company: str, task: str, series: int, iterations: int) -> float:
    """COPY `series` × `iterations` points (10 variants per metric), then VACUUM ANALYZE; seconds taken."""
    began = time.perf_counter()
    async with pool.acquire() as conn:
        for metric in range(max(1, series // min(10, series))):
            await conn.copy_records_to_table("task_events", records=_rows(company, task, series, iterations, metric),
                                             columns=COLUMNS)
        await conn.execute("VACUUM ANALYZE task_events")
    return time.perf_counter() - began


async def _time_api(client: httpx.AsyncClient, headers: dict[str, str], task: str) -> tuple[float, int, int]:
    """(ms, longest series, response bytes) of one histogram call as the SDK makes it (no `samples`)."""
    began = time.perf_counter()
    response = await client.post("/v2.23/events.scalar_metrics_iter_histogram", json={"task": task, "key": "iter"},
                                 headers=headers)
    elapsed = (time.perf_counter() - began) * 1000
    body = response.json()
    assert body["meta"]["result_code"] == 200, body["meta"]
    longest = max(len(s["x"]) for variants in body["data"].values() for s in variants.values())
    return elapsed, longest, len(response.content)


async def _time_sql(pool: asyncpg.Pool, company: str, task: str) -> float:
    sql, extra = histogram_sql("iter")
    began = time.perf_counter()
    await pool.fetch(sql, [company], [task], DEFAULT_SAMPLES, *extra)
    return (time.perf_counter() - began) * 1000


async def _measure(ctx: AppContext, headers: dict[str, str], company: str, task: str, queries: int) -> bool:
    app = create_app(None)
    app.state.ctx = ctx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 timeout=120) as client:
        for _ in range(3):  # warm-up: caches and prepared statements, as a running server has them
            await _time_api(client, headers, task)
            await _time_sql(ctx.pool, company, task)
        api, sql, longest, size = [], [], 0, 0
        for _ in range(queries):  # alternating, so both see the same machine
            elapsed, longest, size = await _time_api(client, headers, task)
            api.append(elapsed)
            sql.append(await _time_sql(ctx.pool, company, task))
    ratio = _percentile(api, 0.95) / _percentile(sql, 0.95)
    ok = ratio <= TARGET_RATIO and longest <= DEFAULT_SAMPLES
    for name, values in (("endpoint", api), ("SQL only", sql)):
        print(f"  {name:<9} n={queries}  p50={_percentile(values, 0.5):7.1f} ms  "
              f"p95={_percentile(values, 0.95):7.1f} ms  max={max(values):7.1f} ms  "
              f"mean={statistics.mean(values):7.1f} ms")
    print(f"  response: longest series {longest} points (sample count {DEFAULT_SAMPLES}), {size / 1e6:.1f} MB")
    print(f"  p95 ratio endpoint ÷ SQL: {ratio:.2f} (target ≤ {TARGET_RATIO:g}) {'PASS' if ok else 'MISS'}")
    summary.record("scalar histogram 10^6 pts", f"p95 {_percentile(api, 0.95):.0f} ms",
                   f"SQL p95 {_percentile(sql, 0.95):.0f} ms", ratio, f"p95 <= {TARGET_RATIO:g}x", ok)
    return ok


async def run_histogram_bench(database_url: str, series: int = 100, iterations: int = 10_000,
                              queries: int = 30) -> bool:
    """Load the points into `database_url` (a migrated database), measure and print; never raises for a miss."""
    print(f"scalar histogram bench: 1 task, {series} series × {iterations} iterations "
          f"({series * iterations:,} points), {queries} reads each side")
    conn = await asyncpg.connect(database_url)
    try:
        boot = await bootstrap(conn, None, None)
    finally:
        await conn.close()
    pool = await create_pool(database_url)
    try:
        ctx = AppContext(pool=pool, contract=load_contract(), auth=Authenticator(pool, boot.token_secret))
        company, headers = await _tenant(pool)
        app = create_app(None)
        app.state.ctx = ctx
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            created = await client.post("/tasks.create", json={"name": "histogram", "type": "training"},
                                        headers=headers)
        task = created.json()["data"]["id"]
        print(f"  data: loaded in {await _load(pool, company, task, series, iterations):.1f} s")
        return await _measure(ctx, headers, company, task, queries)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.histogram", description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--database-url", default="")

    async def on(url: str) -> None:
        async with scratch_database(url) as scratch:
            await run_histogram_bench(scratch, args.series, args.iterations, args.queries)

    args = parser.parse_args(argv)
    if args.database_url:
        asyncio.run(on(args.database_url))
        return
    with tempfile.TemporaryDirectory(prefix="taskstream-histogram-") as home:
        embedded = EmbeddedPostgres(Path(home))
        try:
            asyncio.run(on(embedded.url))
        finally:
            embedded.stop()


if __name__ == "__main__":
    main()
