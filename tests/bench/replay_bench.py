"""Benchmarks of the read side: replay rate (target ≥ 100k events/s, memory bounded) and command → Kafka
consumer latency (target p99 ≤ 50 ms at 1000 commands/s). Run against a scratch database: both append
synthetic events to its log (company `bench`)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer

from commands.session import CommandSession
from projections.kafka_codec import all_topics
from projections.relay import Relay
from projections.replay import replay_model
from projections.task_read_model import TaskReadModel
from schemas.clock import iso, utc_now
from schemas.events import TaskCreated, TaskEdited
from schemas.ids import new_id

EVENTS_PER_TASK = 10
_STAMP = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')"""

_GENERATE = f"""
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT 'bench-' || $1::text || '-' || t, v, gen_random_uuid(),
       CASE WHEN v = 1 THEN 'TaskCreated' ELSE 'TaskEdited' END, 1,
       CASE WHEN v = 1 THEN jsonb_build_object('task', jsonb_build_object(
                'id', 'bench-' || $1::text || '-' || t, 'name', 'bench task ' || t, 'company', 'bench',
                'user', 'bench', 'type', 'training', 'status', 'created', 'project', 'bench-project',
                'tags', jsonb_build_array('a', 'b'), 'system_tags', '[]'::jsonb, 'comment', '',
                'created', {_STAMP}, 'last_update', {_STAMP}, 'last_change', {_STAMP},
                'execution', jsonb_build_object('queue', null, 'parameters', '{{}}'::jsonb),
                'hyperparams', jsonb_build_object('Args', jsonb_build_object('lr', jsonb_build_object(
                    'section', 'Args', 'name', 'lr', 'value', '0.1')))), 'cloned_from', null)
            ELSE jsonb_build_object('set', jsonb_build_object('comment', 'edit ' || v, 'last_update', {_STAMP},
                'last_change', {_STAMP}, 'hyperparams.Args.lr.value', (v * 0.01)::text),
                'unset', '[]'::jsonb, 'quiet', '[]'::jsonb, 'force', false) END,
       '{{"company": "bench", "user": "bench", "endpoint": "bench"}}'::jsonb
FROM generate_series(1, $2::int) AS t, generate_series(1, {EVENTS_PER_TASK}) AS v
"""


async def _generate(database_url: str, events: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_GENERATE, new_id()[:8], max(events // EVENTS_PER_TASK, 1), timeout=600)
    finally:
        await conn.close()


async def run_replay_bench(database_url: str, events: int = 1_000_000) -> dict[str, Any]:
    """Append `events` synthetic task events (10 per task), then replay the task read model; returns the rate
    (events/s over the whole replay: bulk, catch-up and swap) and the process's peak RSS growth."""
    await _generate(database_url, events)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = await replay_model(database_url, "tasks", progress=False)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"events": result.events, "seconds": round(result.seconds, 2),
            "events_per_s": round(result.events / result.seconds), "target_events_per_s": 100_000,
            "peak_rss_mb": round(rss_after / 1024, 1), "peak_rss_growth_mb": round((rss_after - rss_before) / 1024, 1)}


async def _commands(pool: asyncpg.Pool, rate: int, seconds: float, sent: dict[tuple[str, int], float]) -> None:
    """`rate` edit commands per second (each its own transaction, through CommandSession) on 50 tasks."""
    stores = {"task": TaskReadModel()}
    tasks = [f"latency-{new_id()}" for _ in range(50)]
    for task in tasks:
        async with pool.acquire() as conn, conn.transaction():
            session = CommandSession(conn, stores, {"company": "bench"})
            await session.save("task", await session.load("task", task), [TaskCreated(task={
                "id": task, "name": task, "company": "bench", "status": "created", "type": "training"})])

    async def one(task: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            session = CommandSession(conn, stores, {"company": "bench"})
            stream = await session.load("task", task)
            sent[(task, stream.version + 1)] = time.perf_counter()
            await session.save("task", stream, [TaskEdited(set={"comment": iso(utc_now())})])

    started, pending = time.perf_counter(), set()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        pending.add(asyncio.create_task(one(tasks[i % len(tasks)])))
        pending = {p for p in pending if not p.done()}
    await asyncio.gather(*pending)


async def run_consumer_latency_bench(database_url: str, bootstrap: str, rate: int = 1000,
                                     seconds: float = 10.0) -> dict[str, Any]:
    """Command commit → message received by a Kafka consumer, through the relay, at `rate` commands/s."""
    prefix = f"bench{new_id()[:8]}."
    pool = await asyncpg.create_pool(database_url, min_size=4, max_size=32)
    sent: dict[tuple[str, int], float] = {}
    latencies: list[float] = []
    consumer = AIOKafkaConsumer(*all_topics(prefix), bootstrap_servers=bootstrap, group_id=prefix,
                                enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=5)
    relay = Relay(database_url, bootstrap, topic_prefix=prefix, poll_interval=0.005)
    relay_task = asyncio.create_task(relay.run())

    async def consume() -> None:
        await consumer.start()
        async for message in consumer:
            key = (message.key.decode(), int(dict(message.headers)["stream_version"]))
            if key in sent:
                latencies.append(time.perf_counter() - sent[key])

    consume_task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(relay.leading.wait(), 30)
        await asyncio.sleep(3)
        await _commands(pool, rate, seconds, sent)
        await asyncio.sleep(3)
    finally:
        for task in (relay_task, consume_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await consumer.stop()
        await pool.close()
    latencies.sort()
    edits = [k for k in sent if k[1] > 1]

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1) if latencies else -1

    return {"commands": len(edits), "received": len(latencies), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "target_p99_ms": 50, "rate": rate}
