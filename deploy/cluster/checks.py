"""What the drill reads back after the load: the log against what clients were told, Kafka against the log, the
audit subscriber's progress, and every read model against its replay."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from taskstream.commands.store import LogPosition, RecordedEvent, head_position, read_after, read_stream
from taskstream.projections.kafka_codec import all_topics, family_of
from taskstream.projections.replay import replay_model
from taskstream.projections.replay_models import READ_MODELS


@dataclass
class KafkaFollower:
    """Follows every topic from the start (no consumer group: it commits nothing) and dedupes by event id.

    `mismatched`: one event id seen with two different (stream, version); `order_violations`: a stream's first
    sightings whose versions do not increase."""

    bootstrap: str
    seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    last_version: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    mismatched: int = 0
    order_violations: int = 0

    def take(self, stream: str, event_id: str, version: int) -> None:
        self.messages += 1
        if event_id in self.seen:
            self.mismatched += self.seen[event_id] != (stream, version)
            return
        self.seen[event_id] = (stream, version)
        if version <= self.last_version.get(stream, 0):
            self.order_violations += 1
        self.last_version[stream] = version

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(*all_topics(), bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", metadata_max_age_ms=2000, fetch_max_wait_ms=100)
        await consumer.start()
        try:
            while True:
                try:
                    batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                except KafkaError:  # the broker is down (the drill stopped it): the consumer reconnects
                    await asyncio.sleep(0.5)
                    continue
                for messages in batches.values():
                    for message in messages:
                        headers = {k: v.decode() for k, v in message.headers}
                        self.take((message.key or b"").decode(), headers["event_id"], int(headers["stream_version"]))
        finally:
            await consumer.stop()


async def whole_log(conn: asyncpg.Connection) -> list[RecordedEvent]:
    events: list[RecordedEvent] = []
    position = LogPosition()
    while batch := await read_after(conn, position, 10_000):
        events += batch
        position = batch[-1].log_position
    return events


@dataclass
class LogFindings:
    missing: int  # acknowledged commands the log lacks
    applied_twice: int  # commands the log holds more often than they were acknowledged
    order_differs: int  # tasks whose commands the log holds in another order than sent
    keys_unrecorded: int  # acknowledged idempotency keys without their record


async def compare_log(conn: asyncpg.Connection, acked: dict[str, list[str]], keys: set[str]) -> LogFindings:
    """Each task's commands as the log has them (the endpoint of each distinct request, in stream order) against
    the acknowledged ones."""
    missing = twice = order = 0
    for task, sent in acked.items():
        requests: dict[str, str] = {}
        for event in await read_stream(conn, task):
            requests.setdefault(event.metadata["request_id"], event.metadata["endpoint"])
        logged = list(requests.values())
        missing += sum((Counter(sent) - Counter(logged)).values())
        twice += sum((Counter(logged) - Counter(sent)).values())
        order += Counter(sent) == Counter(logged) and sent != logged
    recorded = {r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys WHERE key = ANY($1)",
                                                   list(keys))}
    return LogFindings(missing, twice, order, len(keys - recorded))


async def wait_for_kafka(follower: KafkaFollower, events: list[RecordedEvent], seconds: float) -> set[str]:
    """Wait until the follower has seen every logged event; the ids still missing after `seconds`."""
    logged = {str(e.event_id) for e in events}
    deadline = time.monotonic() + seconds
    while (missing := logged - follower.seen.keys()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return missing


async def wait_for_audit(conn: asyncpg.Connection, events: list[RecordedEvent], seconds: float) -> int:
    """Wait until the audit subscriber (on Kafka) has applied every task event; the streams still behind."""
    latest: dict[str, int] = {}
    for event in events:
        if family_of(event.type) == "tasks":
            latest[event.stream_id] = max(latest.get(event.stream_id, 0), event.version)
    deadline = time.monotonic() + seconds
    while True:
        rows = await conn.fetch("SELECT stream_id, version FROM subscription_streams WHERE subscriber = 'audit'")
        applied = {r["stream_id"]: r["version"] for r in rows}
        behind = sum(1 for stream, version in latest.items() if applied.get(stream, 0) < version)
        if not behind or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(0.5)


async def _rows(conn: asyncpg.Connection, table: str) -> list[str]:
    return [r[0] for r in await conn.fetch(f"SELECT row_to_json(x)::text FROM {table} x ORDER BY 1")]


async def read_models_equal_replay(url: str) -> dict[str, bool]:
    """Every read model rebuilt from the log up to its head (into `<table>_at_<head>`, beside the live model, which
    is not touched) and compared row by row with the live one; the rebuilt tables are dropped again."""
    conn = await asyncpg.connect(url)
    try:
        head = await head_position(conn)
        equal = {}
        for name, model in READ_MODELS.items():
            result = await replay_model(url, name, head, progress=False)
            try:
                equal[name] = all([await _rows(conn, live) == await _rows(conn, rebuilt)
                                   for live, rebuilt in zip(model.tables, result.tables, strict=True)])
            finally:
                for table in result.tables:
                    await conn.execute(f"DROP TABLE IF EXISTS {table}")
        return equal
    finally:
        await conn.close()


def haproxy_resent(log: Path, offset: int) -> int:
    """Requests HAProxy sent more than once (to the same or another replica) in its log past `offset` bytes: the
    last number of the connection counts (`actconn/feconn/beconn/srv_conn/retries`, "+" when redispatched)."""
    resent = 0
    with log.open("rb") as lines:
        lines.seek(offset)
        for line in lines:
            fields = line.split()
            if len(fields) > 10 and fields[10].count(b"/") == 4:
                resent += fields[10].rsplit(b"/", 1)[1].lstrip(b"+") not in (b"0", b"")
    return resent
