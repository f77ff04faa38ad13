"""Metrics ingestion (issue 13): `events.add_batch` over HTTP, 8 clients, each batch 500 scalar events spread over
100 tasks (5 series per task), beside a raw `COPY` of the same rows into the same table (`task_events`) by 8
connections, one COPY per batch, in the same run.

Each client reports for its own 100 tasks, as training processes do (one reporter per task): clients sharing
tasks would queue on the tasks' locks, which measures the queue, not the ingestion. Targets: events/s ≥ 0.3× the
COPY's rows/s, p99 per batch ≤ 200 ms. Runs alternate (server, COPY, COPY, server...) like the HTTP scenarios.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import asyncpg

from . import summary
from .http_client import Connection, json_dumps
from .load import Client, _Recorder

CLIENTS, BATCH, TASKS = 8, 500, 100
TARGET_RATIO, TARGET_P99_MS = 0.3, 200.0
COLUMNS = ("company", "task", "type", "timestamp", "iter", "metric", "variant", "value", "msg", "level", "worker",
           "doc")


def _events(tasks: list[str], iteration: int) -> list[dict[str, Any]]:
    """One batch: every task gets `BATCH // len(tasks)` series at this iteration."""
    per_task = BATCH // len(tasks)
    stamp = int(time.time() * 1000)
    return [{"type": "training_stats_scalar", "task": task, "metric": "train", "variant": f"loss{k}",
             "value": 1.0 / (iteration + k + 1), "iter": iteration, "timestamp": stamp}
            for task in tasks for k in range(per_task)]


def _body(events: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json_dumps(e) for e in events)


def _copy_rows(company: str, events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows the server would store for these events (as `projections.task_telemetry.insert_events` does)."""
    return [(company, e["task"], e["type"], e["timestamp"], e["iter"], e["metric"], e["variant"], e["value"], None,
             None, None, json.dumps(e)) for e in events]


async def _create_tasks(port: int, authorization: str, count: int) -> list[str]:
    connection = Connection("127.0.0.1", port, authorization)
    try:
        ids = []
        for i in range(count):
            response = await connection.post("/tasks.create", json_dumps({"name": f"ingest {i}", "type": "training"}))
            ids.append(response.json()["data"]["id"])
        return ids
    finally:
        connection.close()


async def _server_run(port: int, authorization: str, tasks: list[list[str]], seconds: float,
                      iteration: list[int]) -> tuple[float, list[float], int]:
    """(events/s, batch latencies in ms, errors) of `seconds` of closed-loop batches from CLIENTS clients."""
    start = time.perf_counter()
    recorder = _Recorder(start, start + seconds)

    async def worker(index: int) -> None:
        client = Client(Connection("127.0.0.1", port, authorization, "application/json-lines"), recorder, index)
        try:
            while time.perf_counter() < recorder.end:
                iteration[0] += 1
                await client.call_raw("/events.add_batch", _body(_events(tasks[index], iteration[0])))
        finally:
            client.connection.close()

    await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    result = recorder.result
    return result.ok * BATCH / seconds, result.latencies_ms, result.errors


async def _copy_run(pool: asyncpg.Pool, company: str, tasks: list[list[str]], seconds: float,
                    iteration: list[int]) -> float:
    """Rows/s of `seconds` of closed-loop COPYs of one batch each from CLIENTS connections."""
    batches = [_copy_rows(company, _events(tasks[i], iteration[0] + i)) for i in range(CLIENTS)]
    copied = [0]
    end = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < end:
                await conn.copy_records_to_table("task_events", records=batches[index], columns=COLUMNS)
                if time.perf_counter() <= end:
                    copied[0] += len(batches[index])

    await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return copied[0] / seconds


async def run_ingestion_bench(database_url: str, port: int, authorization: str, company: str, seconds: float,
                              rounds: int = 2) -> None:
    """Create CLIENTS × TASKS tasks through the API, then alternate server and COPY runs of `seconds` in total
    each; prints and records the summary line."""
    print(f"\nevents.add_batch ingestion: {CLIENTS} clients × batches of {BATCH} scalar events over {TASKS} tasks "
          f"each, {seconds:g} s per side", flush=True)
    ids = await _create_tasks(port, authorization, CLIENTS * TASKS)
    tasks = [ids[i * TASKS:(i + 1) * TASKS] for i in range(CLIENTS)]
    iteration = [0]
    pool = await asyncpg.create_pool(database_url, min_size=CLIENTS, max_size=CLIENTS)
    rates, copy_rates, latencies, errors = [], [], [], 0
    try:
        await _server_run(port, authorization, tasks, 1.0, iteration)  # warm-up: connections, prepared statements
        for round_ in range(rounds):
            for side in ("server", "copy") if round_ % 2 == 0 else ("copy", "server"):
                if side == "server":
                    rate, measured, failed = await _server_run(port, authorization, tasks, seconds / rounds, iteration)
                    rates.append(rate)
                    latencies += measured
                    errors += failed
                else:
                    copy_rates.append(await _copy_run(pool, company, tasks, seconds / rounds, iteration))
    finally:
        await pool.close()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    rate, copy_rate = sum(rates) / len(rates), sum(copy_rates) / len(copy_rates)
    ratio = summary.ratio(rate, copy_rate)
    print(f"  add_batch: {rate:,.0f} events/s ({len(latencies)} batches, {errors} errors), per batch "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; COPY of the same rows: {copy_rate:,.0f} rows/s; ratio {ratio:.2f}")
    summary.record("events.add_batch 8×500", f"{rate:,.0f} ev/s, p99 {p99:.0f} ms/batch",
                   f"COPY {copy_rate:,.0f} rows/s", ratio, f">= {TARGET_RATIO:g}, p99 <= {TARGET_P99_MS:g} ms",
                   ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and errors == 0)
