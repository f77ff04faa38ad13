"""The web UI at scale (issue 11 "Performance"), against a real `taskstream serve` over HTTP:

* the tasks table page at N tasks (default 10^6): 50 rows of a project, filtered by statuses and a tag, sorted by
  last update or by a hyper-parameter column, beside `tasks.get_all_ex` with the very request the page makes (same
  filters, order, page and fields), timed alternately by one keep-alive client: p50/p95 and the p95 ratio (target
  ≤ 1.5×);
* live updates: a signed-in Server-Sent Events stream (`/ui/live`, what the tasks table listens to) and
  `tasks.started` commands one at a time: command sent → message received, p50/p95 (target p95 ≤ 1 s). What the
  browser adds after its socket (parsing one small JSON, patching one row) is not in the figure.

    python -m tests.bench.web --rows 1000000 [--database-url URL] [--queries 200] [--updates 50]
Without --database-url a PostgreSQL server is started in a temporary directory (with --database-url, a role that
may create databases: the tasks are loaded into a scratch database, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from starlette.datastructures import QueryParams

from taskstream.api.web.table import TableQuery
from taskstream.commands.accounts import add_credentials
from tests.bench.generate import TAGS, USERS, generate, project_ids
from tests.bench.processes import ServerProcess, free_port, run_on_database, wait_ready
from tests.bench.replay_bench import scratch_database

REPO = Path(__file__).resolve().parents[2]
TARGET_RATIO, TARGET_LIVE_P95_MS = 1.5, 1000.0
WEB_KEY, WEB_SECRET = "benchwebkey", "benchwebsecret"
ADMIN = ("benchadminkey", "benchadminsecret")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def page_params(rng: random.Random, projects: list[str]) -> list[tuple[str, str]]:
    """A filtered, sorted view of one project's tasks, as the table's query string."""
    params = [("project", rng.choice(projects)), ("tag", rng.choice(TAGS))]
    params += [("status", s) for s in rng.sample(["created", "stopped", "completed", "failed", "in_progress",
                                                   "published"], rng.randint(1, 3))]
    if rng.random() < 0.5:
        params += [("param", "Args|lr"), ("sort", rng.choice(["p:Args|lr", "-p:Args|lr"]))]
    return params


async def _timed(call: Any) -> float:
    began = time.perf_counter()
    response = await call()
    assert response.status_code == 200, response.text[:300]
    return (time.perf_counter() - began) * 1000


async def measure_table(client: httpx.AsyncClient, api_auth: str, queries: int, seed: int = 11) -> dict[str, Any]:
    """p50/p95 of the page and of `tasks.get_all_ex` with the same request, alternating which goes first."""
    rng = random.Random(seed)
    projects = project_ids()
    page_ms: list[float] = []
    api_ms: list[float] = []
    for index in range(queries + 20):  # the first 20 warm caches and prepared statements, not measured
        params = page_params(rng, projects)
        body = TableQuery.from_params(QueryParams(params)).listing()

        def page(params: list[tuple[str, str]] = params) -> Any:
            return client.get("/tasks?" + urlencode(params))

        def api(body: dict[str, Any] = body) -> Any:
            return client.post("/tasks.get_all_ex", json=body, headers={"Authorization": api_auth})

        first, second = (page, api) if index % 2 == 0 else (api, page)
        times = (await _timed(first), await _timed(second))
        page_time, api_time = times if index % 2 == 0 else times[::-1]
        if index >= 20:
            page_ms.append(page_time)
            api_ms.append(api_time)
    return {"page_p50": _percentile(page_ms, 0.5), "page_p95": _percentile(page_ms, 0.95),
            "api_p50": _percentile(api_ms, 0.5), "api_p95": _percentile(api_ms, 0.95)}


async def _sse_arrivals(client: httpx.AsyncClient, arrivals: dict[str, float], ready: asyncio.Event) -> None:
    async with client.stream("GET", "/ui/live") as stream:
        ready.set()
        data = None
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif not line and data is not None:
                if data.get("kind") == "task" and (data.get("fields") or {}).get("status") == "in_progress":
                    arrivals.setdefault(data["id"], time.perf_counter())
                data = None


async def measure_live(client: httpx.AsyncClient, api_auth: str, updates: int) -> dict[str, Any]:
    """Command sent → SSE message received, one command at a time."""
    arrivals: dict[str, float] = {}
    ready = asyncio.Event()
    reader = asyncio.create_task(_sse_arrivals(client, arrivals, ready))
    await ready.wait()
    latencies = []
    headers = {"Authorization": api_auth}
    try:
        for index in range(updates):
            created = await client.post("/tasks.create", json={"name": f"live {index}", "type": "training"},
                                        headers=headers)
            task_id = created.json()["data"]["id"]
            sent = time.perf_counter()
            await client.post("/tasks.started", json={"task": task_id}, headers=headers)
            deadline = sent + 10
            while task_id not in arrivals and time.perf_counter() < deadline:
                await asyncio.sleep(0.002)
            latencies.append(((arrivals.get(task_id) or float("inf")) - sent) * 1000)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95), "max": max(latencies),
            "received": sum(1 for value in latencies if value != float("inf")), "sent": updates}


async def _web_key_pair(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT 1 FROM credentials WHERE access_key = $1", WEB_KEY):
            await add_credentials(conn, USERS[0], WEB_KEY, WEB_SECRET)
    finally:
        await conn.close()


def _serve(port: int, url: str, workdir: Path) -> ServerProcess:
    """`taskstream serve` as the other benches start it, without the in-process audit trail and watchdog (the
    audit would fold the whole generated log while the pages are timed)."""
    argv = [str(Path(sys.executable).parent / "taskstream"), "--home", str(workdir / "ts"), "serve", "--host",
            "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "TASKSTREAM_POOL_SIZE": "16", "TASKSTREAM_DATABASE_URL": url, "TASKSTREAM_SUBSCRIBERS": "",
           "TASKSTREAM_ACCESS_KEY": ADMIN[0], "TASKSTREAM_SECRET_KEY": ADMIN[1]}
    return ServerProcess("taskstream", argv, env, workdir / "taskstream-web.log", REPO)


def print_web(rows: int, table: dict[str, Any], live: dict[str, Any], queries: int) -> None:
    ratio = table["page_p95"] / table["api_p95"]
    print(f"\nweb UI at {rows:,} tasks ({queries} page loads, 50 rows, filtered and sorted):")
    print(f"  tasks table page: p50 {table['page_p50']:.1f} ms, p95 {table['page_p95']:.1f} ms; tasks.get_all_ex "
          f"with the same request: p50 {table['api_p50']:.1f} ms, p95 {table['api_p95']:.1f} ms; p95 ratio "
          f"{ratio:.2f} (target ≤ {TARGET_RATIO}) {'PASS' if ratio <= TARGET_RATIO else 'MISS'}")
    ok = live["p95"] <= TARGET_LIVE_P95_MS and live["received"] == live["sent"]
    print(f"  live update, command → SSE message: p50 {live['p50']:.0f} ms, p95 {live['p95']:.0f} ms, max "
          f"{live['max']:.0f} ms, {live['received']}/{live['sent']} received (target p95 ≤ "
          f"{TARGET_LIVE_P95_MS:.0f} ms) {'PASS' if ok else 'MISS'}")


async def run_web_bench(uri: str, rows: int, queries: int = 200, updates: int = 50) -> None:
    """Load `rows` tasks into a scratch database on the server of `uri`, serve it, measure, print."""
    print(f"\nweb UI bench: {rows:,} tasks, {queries} page loads, {updates} live updates")
    async with scratch_database(uri) as url:
        loaded = await generate(url, rows)
        print(f"  data loaded in {loaded:.1f} s")
        await _web_key_pair(url)
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="taskstream-web-bench-"))
        api_auth = "Basic " + base64.b64encode(f"{WEB_KEY}:{WEB_SECRET}".encode()).decode()
        process = _serve(port, url, workdir)
        try:
            await wait_ready(process, port, "/tasks.get_all", {"page_size": 1}, api_auth)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                signed = await client.post("/login", data={"access_key": WEB_KEY, "secret_key": WEB_SECRET})
                assert signed.status_code == 303, signed.text[:300]
                table = await measure_table(client, api_auth, queries)
                live = await measure_live(client, api_auth, updates)
        finally:
            process.stop()
        print_web(rows, table, live, queries)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.web", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    run_on_database(args.database_url, "taskstream-web-",
                    lambda url: run_web_bench(url, args.rows, args.queries, args.updates))


if __name__ == "__main__":
    main()
