"""Command commit → Kafka consumer latency, with the load generator, the relay and the consumer in three
processes (as deployed: the API, `taskstream relay` and a consumer never share an event loop, and sharing one
measured the generator's own loop stalls, not the path).

Times are `time.time()` read in each process: the processes share a host, hence a clock. A command's time is
taken once it holds its task's lock (as before), so the latency includes its append and commit.

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
from aiokafka import AIOKafkaConsumer

from taskstream.commands.session import CommandSession
from taskstream.projections.kafka_codec import all_topics
from taskstream.projections.relay import RELAY_LOCK_KEY
from taskstream.projections.task_read_model import TaskReadModel
from taskstream.schemas.clock import iso, utc_now
from taskstream.schemas.events import TaskCreated, TaskEdited
from taskstream.schemas.ids import new_id
from tests.projections.kafka_helpers import create_topics

ROOT = Path(__file__).resolve().parents[2]


async def consume(bootstrap: str, prefix: str, out: str) -> None:
    """The consumer process: record (stream, version, time received) of every message until SIGTERM."""
    received: list[tuple[str, int, float]] = []
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
                received.extend((m.key.decode(), int(dict(m.headers)["stream_version"]), now) for m in messages)
    finally:
        await consumer.stop()
        Path(out).write_text(json.dumps(received))


async def _commands(pool: asyncpg.Pool, rate: int, seconds: float, sent: dict[tuple[str, int], float],
                    committed: dict[tuple[str, int], float]) -> None:
    """`rate` edit commands per second (each its own transaction, through CommandSession) on 50 tasks; records
    when each started and when it committed."""
    stores = {"task": TaskReadModel()}
    tasks = [f"latency-{new_id()}" for _ in range(50)]
    for task in tasks:
        async with pool.acquire() as conn, conn.transaction():
            session = CommandSession(conn, stores, {"company": "bench"})
            await session.save("task", await session.load("task", task), [TaskCreated(task={
                "id": task, "name": task, "company": "bench", "status": "created", "type": "training"})])

    async def one(task: str) -> None:
        async with pool.acquire() as conn:
            async with conn.transaction():
                session = CommandSession(conn, stores, {"company": "bench"})
                stream = await session.load("task", task)  # the lock wait is not counted: it is the task's queue
                started, key = time.time(), (task, stream.version + 1)
                await session.save("task", stream, [TaskEdited(set={"comment": iso(utc_now())})])
            sent[key], committed[key] = started, time.time()

    started, pending = time.perf_counter(), set()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        pending.add(asyncio.create_task(one(tasks[i % len(tasks)])))
        pending = {p for p in pending if not p.done()}
    await asyncio.gather(*pending)


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


def _summary(sent: dict[tuple[str, int], float], committed: dict[tuple[str, int], float],
             received: list[list[Any]], rate: int) -> dict[str, Any]:
    """Latency from each command's start to its first receipt; also split at its commit (`command_`: start →
    commit, `delivery_`: commit → received)."""
    first: dict[tuple[str, int], float] = {}
    for stream, version, at in received:
        first.setdefault((stream, version), at)
    edits = [k for k in sent if k[1] > 1]
    seen = [k for k in edits if k in first]
    return {"commands": len(edits), "received": len(seen), "rate": rate, "target_p99_ms": 50,
            **_percentiles([first[k] - sent[k] for k in seen], ""),
            **_percentiles([committed[k] - sent[k] for k in seen], "command_"),
            **_percentiles([first[k] - committed[k] for k in seen], "delivery_")}


async def run(database_url: str, bootstrap: str, rate: int = 1000, seconds: float = 10.0,
              relay_argv: list[str] | None = None) -> dict[str, Any]:
    """Command commit → message received by a consumer process, through a `taskstream relay` process (or the
    command `relay_argv`, given the topic prefix as its last argument, e.g. to compare relay settings)."""
    prefix = f"bench{new_id()[:8]}."
    await create_topics(bootstrap, prefix)
    work = tempfile.TemporaryDirectory(prefix="latency-")
    out = Path(work.name) / "received.json"
    env = {**os.environ, "TASKSTREAM_DATABASE_URL": database_url}
    consumer = subprocess.Popen([sys.executable, "-m", "tests.bench.consumer_latency", "consume", bootstrap, prefix,
                                 str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    argv = [*relay_argv, prefix] if relay_argv else [sys.executable, "-m", "taskstream.api.cli", "relay",
                                                      "--kafka", bootstrap, "--topic-prefix", prefix]
    relay = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    # A full pool from the start: opening connections during the first second measured the connects, not the path.
    pool = await asyncpg.create_pool(database_url, min_size=32, max_size=32)
    sent: dict[tuple[str, int], float] = {}
    committed: dict[tuple[str, int], float] = {}
    try:
        assert consumer.stdout is not None
        if await asyncio.to_thread(consumer.stdout.readline) != "ready\n":
            raise RuntimeError("the consumer process did not start")
        await _relay_leading(pool)
        await asyncio.sleep(2)
        await _commands(pool, rate, 1.0, {}, {})  # warm-up, not measured: every connection prepares its statements
        started = time.perf_counter()
        await _commands(pool, rate, seconds, sent, committed)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(3)
    finally:
        await asyncio.to_thread(_stop, consumer)
        await asyncio.to_thread(_stop, relay)
        await pool.close()
    with work:
        summary = _summary(sent, committed, json.loads(out.read_text()) if out.exists() else [], rate)
    return {**summary, "achieved_rate": round(summary["commands"] / elapsed), "load_average": os.getloadavg()[0]}


if __name__ == "__main__" and sys.argv[1:2] == ["consume"]:
    asyncio.run(consume(*sys.argv[2:5]))
