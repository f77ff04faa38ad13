"""The task page's charts at scale (issue 11 "Performance"): one task with 100 series × 10^4 iterations (10^6
scalar points: 10 metrics of 10 variants, COPied into the telemetry table as in `tests.bench.histogram`), its
scalars tab opened in headless Chromium (Debian's, driven by Playwright) against a real `taskstream serve`.

The figure is the time from the start of the navigation to the charts of the first screen drawn (`data-ready-at`,
set by charts.js a frame after the last uPlot was drawn): page, scripts, the `/ui/api/tasks/<id>/scalars` reads of
the metrics in view (downsampled to 2000 points per series by the server, as for the SDK) and their uPlot charts.
Target ≤ 1.5 s (p95 of the loads after one warm-up). Also printed: the time until, scrolled to the end, all 10
charts are drawn, and one read of every metric at once (what the page would wait for if it read them together).

    python -m tests.bench.web_charts [--iterations 10000] [--loads 8] [--database-url URL]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from .histogram import _load
from .processes import free_port, run_on_database, wait_ready
from .replay_bench import scratch_database
from .web import ADMIN, _serve

TARGET_MS = 1500.0
SERIES = 100
CHROMIUM = os.environ.get("TASKSTREAM_CHROMIUM", "/usr/bin/chromium")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def _task(client: httpx.AsyncClient, auth: dict[str, str]) -> tuple[str, str]:
    """(task id, its company): a task created through the API, to which the points are then COPied."""
    created = (await client.post("/tasks.create", json={"name": "charts bench", "type": "training"},
                                 headers=auth)).json()["data"]["id"]
    task = (await client.post("/tasks.get_by_id", json={"task": created}, headers=auth)).json()["data"]["task"]
    return created, task["company"]


async def _report_last_points(client: httpx.AsyncClient, auth: dict[str, str], task_id: str, iterations: int) -> None:
    """One more point per series through `events.add_batch`, so the task's `last_metrics` (which the page lists its
    charts from) names every metric, as after a real run (the COPied points bypass the API)."""
    lines = [json.dumps({"timestamp": iterations, "type": "training_stats_scalar", "task": task_id,
                         "iter": iterations, "metric": f"m{m}", "variant": f"v{v}", "value": 0.5})
             for m in range(SERIES // 10) for v in range(10)]
    answer = await client.post("/events.add_batch", content="\n".join(lines).encode(),
                               headers={**auth, "Content-Type": "application/json-lines"})
    assert answer.json()["meta"]["result_code"] == 200, answer.text[:300]


async def _page_loads(base_url: str, task_id: str, loads: int) -> list[dict[str, Any]]:
    """Open the scalars tab `loads` times in one signed-in browser; per load: ms to all charts drawn, charts,
    points drawn."""
    from playwright.async_api import async_playwright

    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, base_url=base_url)
            await page.goto("/login?next=/tasks")
            await page.fill('input[name="access_key"]', ADMIN[0])
            await page.fill('input[name="secret_key"]', ADMIN[1])
            await page.click('button[type="submit"]')
            await page.wait_for_url("**/tasks*")
            for _ in range(loads):
                await page.goto(f"/tasks/{task_id}/scalars")
                await page.wait_for_selector("[data-charts][data-ready-at]", timeout=60_000)
                first = await page.evaluate(_DRAWN)
                first["reads"] = await page.evaluate(
                    "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/scalars'))"
                    ".map(e => [Math.round(e.startTime), Math.round(e.duration)])")
                first["dom"] = await page.evaluate(
                    "() => Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)")
                # then scrolled through: every chart drawn (each is read when it comes into view)
                await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                await page.wait_for_function("() => document.querySelectorAll('.chart[data-drawn]').length === "
                                             "document.querySelectorAll('[data-chart-card]').length", timeout=60_000)
                every = await page.evaluate(_DRAWN)
                results.append({**first, "all_ms": every["now"], "all_charts": every["charts"],
                                 "all_points": every["points"]})
        finally:
            await browser.close()
    return results


_DRAWN = """() => {
    const root = document.querySelector('[data-charts]');
    const holders = [...document.querySelectorAll('.chart[data-drawn]')];
    return {ms: Number(root.dataset.readyAt), now: Math.round(performance.now()), charts: holders.length,
            points: holders.reduce((n, h) => n + Number(h.dataset.points), 0)};
}"""


async def run_charts_bench(uri: str, iterations: int = 10_000, loads: int = 8) -> dict[str, Any]:
    """Load the points into a scratch database on the server of `uri`, serve it, time the page, print."""
    print(f"\ntask page charts bench: {SERIES} series × {iterations:,} iterations, {loads} page loads")
    async with scratch_database(uri) as url:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="taskstream-charts-bench-"))
        process = _serve(port, url, workdir)
        auth = {"Authorization": "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()}
        try:
            await wait_ready(process, port, "/tasks.get_all", {"page_size": 1}, auth["Authorization"])
            base_url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                task_id, company = await _task(client, auth)
                pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
                try:
                    loaded = await _load(pool, company, task_id, SERIES, iterations)
                finally:
                    await pool.close()
                await _report_last_points(client, auth, task_id, iterations)
                print(f"  {SERIES * iterations:,} points loaded in {loaded:.1f} s")
                began = time.perf_counter()
                await client.post("/login", data={"access_key": ADMIN[0], "secret_key": ADMIN[1]})
                answer = await client.get(f"/ui/api/tasks/{task_id}/scalars")
                json_ms, json_bytes = (time.perf_counter() - began) * 1000, len(answer.content)
            results = await _page_loads(base_url, task_id, loads + 1)
        finally:
            process.stop()
    return report(results[1:], json_ms, json_bytes)


def report(results: list[dict[str, Any]], json_ms: float, json_bytes: int) -> dict[str, Any]:
    times, every = [r["ms"] for r in results], [r["all_ms"] for r in results]
    p95 = _percentile(times, 0.95)
    last = results[-1]
    print(f"  every metric in one read (what the page no longer does): {json_ms:.0f} ms, {json_bytes / 1e6:.1f} MB")
    print(f"  navigation → the first screen's charts drawn ({last['charts']} charts, {last['points']:,} points): "
          f"p50 {_percentile(times, 0.5):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms (target ≤ "
          f"{TARGET_MS:.0f} ms) {'PASS' if p95 <= TARGET_MS else 'MISS'}")
    print(f"  last load: page ready (DOMContentLoaded) at {last['dom']} ms; scalars reads [start ms, duration ms] "
          f"{last['reads']}")
    print(f"  navigation → scrolled through, all {last['all_charts']} charts drawn ({last['all_points']:,} points): "
          f"p50 {_percentile(every, 0.5):.0f} ms, p95 {_percentile(every, 0.95):.0f} ms")
    return {"p50": _percentile(times, 0.5), "p95": p95, "all_p95": _percentile(every, 0.95)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.web_charts", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=8)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    run_on_database(args.database_url, "taskstream-charts-",
                    lambda url: run_charts_bench(url, args.iterations, args.loads))


if __name__ == "__main__":
    main()
