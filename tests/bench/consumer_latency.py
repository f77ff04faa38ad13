"""Command → Kafka consumer latency (issue 13): `tasks.edit` calls over HTTP to the running API process, open
loop at a given rate (`make bench`: half the command capacity it measured), published by `taskstream relay` in a
process of its own and read by a consumer process (as deployed: the API, the relay and a consumer never share an
event loop). Target: end-to-end p99 ≤ 2× the command's own p99 (sent → answered) in the same run.

Times are `time.time()` read in each process: the processes share a host, hence a clock. Each edit writes a unique
comment, which the consumer reads back from the message to name the command.

``python -m tests.bench.consumer_latency consume BOOTSTRAP PREFIX OUT`` is the consumer process: it prints
``ready`` once it has its partitions and, on SIGTERM, writes what it received to OUT (JSON) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

from taskstream.commands.store import horizon
from taskstream.projections.kafka_codec import all_topics
from taskstream.projections.relay import RELAY_LOCK_KEY, RELAY_NAME
from taskstream.projections.subscription import load_checkpoint, save_checkpoint
from taskstream.schemas.ids import new_id
from tests.bench.http_client import Connection, json_dumps
from tests.projections.kafka_helpers import create_topics

ROOT = Path(__file__).resolve().parents[2]


async def consume(bootstrap: str, prefix: str, out: str) -> None:
    """The consumer process: record (comment token of a `TaskEdited`, time received) of every message until
    SIGTERM (the token names the command that wrote it)."""
    received: list[tuple[str, float]] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(*all_topics(prefix), bootstrap_servers=bootstrap, group_id=prefix,
                                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=5)
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        print("ready", flush=True)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=50)
            now = time.time()
            for messages in batches.values():
                for message in messages:
                    token = (orjson.loads(message.value).get("data", {}).get("set") or {}).get("comment")
                    if isinstance(token, str) and token.startswith(TOKEN):
                        received.append((token, now))
    finally:
        await consumer.stop()
        Path(out).write_text(json.dumps(received))


TOKEN = "latency-"


async def _create_tasks(port: int, authorization: str, count: int) -> list[str]:
    connection = Connection("127.0.0.1", port, authorization)
    try:
        return [(await connection.post("/tasks.create", json_dumps({"name": f"latency {i}", "type": "training"})))
                .json()["data"]["id"] for i in range(count)]
    finally:
        connection.close()


async def _commands(port: int, authorization: str, tasks: list[str], rate: float, seconds: float, label: str,
                    sent: dict[str, float], answered: dict[str, float]) -> int:
    """`rate` `tasks.edit` calls per second over HTTP (open loop: sent on schedule, whatever the answers), each with
    a unique comment; records when each was sent and answered. Returns the number of failed calls."""
    free = [Connection("127.0.0.1", port, authorization) for _ in range(64)]
    failed = [0]

    async def one(task: str, token: str) -> None:
        connection = free.pop() if free else Connection("127.0.0.1", port, authorization)
        began = time.time()
        try:
            response = await connection.post("/tasks.edit", json_dumps({"task": task, "comment": token}))
            ok = response.status == 200 and response.json()["meta"]["result_code"] == 200
        except (OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
        if ok:
            sent[token], answered[token] = began, time.time()
        else:
            failed[0] += 1
        free.append(connection)

    started, pending = time.perf_counter(), set()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        pending.add(asyncio.create_task(one(tasks[i % len(tasks)], f"{TOKEN}{label}-{i}")))
        pending = {p for p in pending if not p.done()}
    await asyncio.gather(*pending)
    for connection in free:
        connection.close()
    return failed[0]


async def _skip_backlog(database_url: str) -> None:
    """Move the relay's checkpoint to the log's horizon: the earlier parts of the bench wrote events that are not
    this measurement's; the relay would publish all of them first."""
    conn = await asyncpg.connect(database_url)
    try:
        await load_checkpoint(conn, RELAY_NAME)
        await save_checkpoint(conn, RELAY_NAME, await horizon(conn))
    finally:
        await conn.close()


async def _relay_leading(pool: asyncpg.Pool, timeout: float = 60) -> None:
    high, low = divmod(RELAY_LOCK_KEY, 2**32)
    deadline = time.monotonic() + timeout
    while not await pool.fetchval(
            """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
            AND classid = $1::bigint::oid AND objid = $2::bigint::oid)""", high, low):
        if time.monotonic() > deadline:
            raise RuntimeError("the relay did not take the lead")
        await asyncio.sleep(0.2)


def _stop(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _percentiles(values: list[float], prefix: str) -> dict[str, float]:
    values = sorted(values)

    def pct(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1) if values else -1

    return {f"{prefix}p50_ms": pct(0.5), f"{prefix}p90_ms": pct(0.9), f"{prefix}p99_ms": pct(0.99),
            f"{prefix}max_ms": pct(1.0)}


def _summary(sent: dict[str, float], answered: dict[str, float], received: list[list[Any]], rate: float,
             failed: int) -> dict[str, Any]:
    """Latency from each command's sending to its first receipt by the consumer; also the command's own
    (`command_`: sent → answered) and the rest (`delivery_`: answered → received)."""
    first: dict[str, float] = {}
    for token, at in received:
        first.setdefault(token, at)
    seen = [k for k in sent if k in first]
    return {"commands": len(sent) + failed, "failed": failed, "received": len(seen), "rate": round(rate),
            **_percentiles([first[k] - sent[k] for k in seen], ""),
            **_percentiles([answered[k] - sent[k] for k in sent], "command_"),
            **_percentiles([max(0.0, first[k] - answered[k]) for k in seen], "delivery_")}


async def run(database_url: str, bootstrap: str, port: int, authorization: str, rate: float,
              seconds: float = 10.0, relay_argv: list[str] | None = None) -> dict[str, Any]:
    """`tasks.edit` over HTTP to the server at `port` (whose database is `database_url`) → message received by a
    consumer process, through a `taskstream relay` process (or the command `relay_argv`, given the topic prefix as
    its last argument, e.g. to compare relay settings)."""
    prefix = f"bench{new_id()[:8]}."
    await create_topics(bootstrap, prefix)
    await _skip_backlog(database_url)
    work = tempfile.TemporaryDirectory(prefix="latency-")
    out = Path(work.name) / "received.json"
    env = {**os.environ, "TASKSTREAM_DATABASE_URL": database_url}
    consumer = subprocess.Popen([sys.executable, "-m", "tests.bench.consumer_latency", "consume", bootstrap, prefix,
                                 str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    argv = [*relay_argv, prefix] if relay_argv else [sys.executable, "-m", "taskstream.api.cli", "relay",
                                                      "--kafka", bootstrap, "--topic-prefix", prefix]
    relay = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    try:
        assert consumer.stdout is not None
        if await asyncio.to_thread(consumer.stdout.readline) != "ready\n":
            raise RuntimeError("the consumer process did not start")
        await _relay_leading(pool)
        tasks = await _create_tasks(port, authorization, 50)
        await asyncio.sleep(2)
        await _commands(port, authorization, tasks, rate, 1.0, "warm", {}, {})  # warm-up, not measured
        started = time.perf_counter()
        failed = await _commands(port, authorization, tasks, rate, seconds, "run", sent, answered)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(3)
    finally:
        await asyncio.to_thread(_stop, consumer)
        await asyncio.to_thread(_stop, relay)
        await pool.close()
    with work:
        summary = _summary(sent, answered, json.loads(out.read_text()) if out.exists() else [], rate, failed)
    return {**summary, "achieved_rate": round(summary["commands"] / elapsed), "load_average": os.getloadavg()[0]}


if __name__ == "__main__" and sys.argv[1:2] == ["consume"]:
    asyncio.run(consume(*sys.argv[2:5]))
