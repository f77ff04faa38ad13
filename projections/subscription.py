"""The subscription runner: feeds a subscriber the log, either straight from PostgreSQL or from Kafka.

Exactly-once effect (G5): a subscriber's own writes and its progress commit in ONE transaction, so an event
delivered twice has no second effect.
* From the log (`LogSubscription`): progress is the checkpoint `(txid, position)` in `checkpoints`; the batch
  transaction locks the checkpoint row, drops every event at or below it, applies the rest, and moves it.
* From Kafka (`KafkaSubscription`): partitions interleave streams, so there is no single position; progress is
  the last applied version of each stream (`subscription_streams`). An event at or below it is a duplicate; an
  event above version+1 arrived ahead of an earlier one that a relay restart will deliver again (the relay never
  checkpoints past an unacknowledged event), so it is left for then. Kafka offsets are committed after the
  database transaction, as a hint only: the database decides what was applied.

A subscriber that fails on an event stops and says so: the batch rolls back and `SubscriberFailed` is raised
(never skipped, the checkpoint stays before the event). Losing the database (a restart, a failover) is not such a
failure: the batch rolled back with the connection, and the runner applies it again once PostgreSQL answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from taskstream.commands.store import LogPosition, RecordedEvent, read_after
from taskstream.projections.kafka_codec import decode

log = logging.getLogger("taskstream.subscription")

# The database went away (restart, failover, network): nothing of the batch committed, so it is applied again later.
# InternalClientError: a connection whose operation the loss interrupted refuses the next one (seen in the drill
# when PostgreSQL restarts under load); it is thrown away like a closed one.
DATABASE_GONE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
                 asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.InternalClientError)
RETRY_INTERVAL = 1.0


class Subscriber(Protocol):
    """A consumer of the log. `handle` runs inside the runner's transaction and writes only through `conn`."""

    name: str

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None: ...


class SubscriberFailed(Exception):
    """A subscriber raised on an event: it stopped there, its checkpoint is before the event."""

    def __init__(self, name: str, event: RecordedEvent) -> None:
        super().__init__(f"subscriber {name!r} failed on event {event.event_id} ({event.type} v{event.version} of "
                         f"{event.stream_id}, log position {event.txid}:{event.position}); stopped")
        self.event = event


async def load_checkpoint(conn: asyncpg.Connection, name: str, for_update: bool = False) -> LogPosition:
    """Where subscriber `name` stands (0:0 if it never ran). `for_update` locks the row for the transaction."""
    await conn.execute("INSERT INTO checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
    row = await conn.fetchrow(
        "SELECT txid::text::bigint AS txid, position FROM checkpoints WHERE name = $1"
        + (" FOR UPDATE" if for_update else ""), name)
    return LogPosition(row["txid"], row["position"])


async def save_checkpoint(conn: asyncpg.Connection, name: str, position: LogPosition) -> None:
    await conn.execute(
        "UPDATE checkpoints SET txid = $2::text::xid8, position = $3, updated = now() WHERE name = $1",
        name, str(position.txid), position.position)


async def _handle(conn: asyncpg.Connection, subscriber: Subscriber, event: RecordedEvent) -> None:
    try:
        await subscriber.handle(conn, event)
    except DATABASE_GONE:
        raise
    except Exception as exc:
        failure = SubscriberFailed(subscriber.name, event)
        log.error("%s", failure, exc_info=exc)
        raise failure from exc


async def _handle_all(conn: asyncpg.Connection, subscriber: Subscriber, events: list[RecordedEvent]) -> None:
    """The events in order: through the subscriber's `handle_batch` when it has one (fewer round trips), else
    one by one. A batch that fails is rolled back to its savepoint and handled one by one, so the failure names
    the event."""
    handle_batch = getattr(subscriber, "handle_batch", None)
    if handle_batch is not None and len(events) > 1:
        try:
            async with conn.transaction():  # a savepoint
                await handle_batch(conn, events)
            return
        except asyncpg.PostgresConnectionError:
            raise
        except Exception:  # noqa: BLE001 - retried event by event below, which names the failing event
            log.warning("%s: batch of %d failed; applying it event by event", subscriber.name, len(events))
    for event in events:
        await _handle(conn, subscriber, event)


async def apply_from_log(conn: asyncpg.Connection, subscriber: Subscriber, events: list[RecordedEvent]) -> int:
    """Apply a batch read from the log and move the checkpoint, in one transaction; returns how many applied.

    Events at or below the checkpoint (a batch delivered twice, a second runner) are dropped, not re-applied.
    """
    async with conn.transaction():
        # Why FOR UPDATE: two runners of one subscriber serialise here; the second sees the first's checkpoint.
        checkpoint = await load_checkpoint(conn, subscriber.name, for_update=True)
        fresh = [e for e in events if e.log_position > checkpoint]
        await _handle_all(conn, subscriber, fresh)
        if fresh:
            await save_checkpoint(conn, subscriber.name, fresh[-1].log_position)
    return len(fresh)


async def apply_from_kafka(conn: asyncpg.Connection, subscriber: Subscriber, events: list[RecordedEvent]) -> int:
    """Apply a batch delivered by Kafka, deduplicated per stream version, in one transaction; returns how many."""
    applied = 0
    async with conn.transaction():
        for event in events:
            # Why FOR UPDATE: a stream's events are applied by one transaction at a time, in version order.
            last = await conn.fetchval(
                "SELECT version FROM subscription_streams WHERE subscriber = $1 AND stream_id = $2 FOR UPDATE",
                subscriber.name, event.stream_id) or 0
            if event.version != last + 1:
                if event.version > last + 1:
                    log.warning("%s: %s v%d arrived before v%d; waiting for its redelivery",
                                subscriber.name, event.stream_id, event.version, last + 1)
                continue
            await _handle(conn, subscriber, event)
            await conn.execute(
                """INSERT INTO subscription_streams (subscriber, stream_id, version) VALUES ($1, $2, $3)
                ON CONFLICT (subscriber, stream_id) DO UPDATE SET version = EXCLUDED.version""",
                subscriber.name, event.stream_id, event.version)
            applied += 1
    return applied


class LogSubscription:
    """Feeds a subscriber from the log by catch-up reads (`read_after`), polling every `poll_interval` seconds."""

    def __init__(self, pool: asyncpg.Pool, subscriber: Subscriber, batch_size: int = 500,
                 poll_interval: float = 0.05) -> None:
        self.pool = pool
        self.subscriber = subscriber
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    async def step(self) -> int:
        """Read and apply one batch; returns the number of events read (0: caught up)."""
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.subscriber.name)
            events = await read_after(conn, checkpoint, self.batch_size)
            if events:
                await apply_from_log(conn, self.subscriber, events)
            return len(events)

    async def catch_up(self) -> None:
        """Apply everything readable now (stops at the horizon of transactions still open)."""
        while await self.step():
            pass

    async def run(self) -> None:
        """Follow the log until cancelled; raises SubscriberFailed if the subscriber fails on an event."""
        while True:
            try:
                read = await self.step()
            except DATABASE_GONE as exc:
                log.warning("%s: database unavailable (%s); retrying", self.subscriber.name, exc)
                await asyncio.sleep(RETRY_INTERVAL)
                continue
            if read < self.batch_size:
                # Caught up: wait a moment before the next read even when this one found events. Why: reading as
                # soon as anything is there makes batches of a few events under a steady load, each paying the
                # same nine round trips and checkpoint write; waiting one poll interval makes them larger
                # (a poll interval's worth of events) for at most `poll_interval` more lag.
                await asyncio.sleep(self.poll_interval)


class KafkaSubscription:
    """Feeds a subscriber from Kafka topics in consumer group `group_id` (at-least-once, deduplicated here)."""

    def __init__(self, pool: asyncpg.Pool, subscriber: Subscriber, bootstrap: str, topics: list[str],
                 group_id: str | None = None, batch_size: int = 500) -> None:
        self.pool = pool
        self.subscriber = subscriber
        self.bootstrap = bootstrap
        self.topics = topics
        self.group_id = group_id or f"taskstream-{subscriber.name}"
        self.batch_size = batch_size

    def consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.topics, bootstrap_servers=self.bootstrap, group_id=self.group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=50, metadata_max_age_ms=5000)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Consume until cancelled; `ready` is set once partitions are assigned. Raises SubscriberFailed."""
        consumer = self.consumer()
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
                if ready is not None and consumer.assignment():
                    ready.set()
                for partition, messages in batches.items():
                    await self._apply([decode(m.value) for m in messages if m.value is not None])
                    # After the database commit: a crash in between only means a harmless redelivery.
                    try:
                        await consumer.commit({partition: messages[-1].offset + 1})
                    except KafkaError as exc:  # a hint only (see the module comment): the next commit catches up
                        log.warning("%s: offset commit failed (%s)", self.subscriber.name, exc)
        finally:
            await consumer.stop()

    async def _apply(self, events: list[RecordedEvent]) -> None:
        """Apply one partition's batch, again and again while the database is unavailable."""
        while True:
            try:
                async with self.pool.acquire() as conn:
                    await apply_from_kafka(conn, self.subscriber, events)
                return
            except DATABASE_GONE as exc:
                log.warning("%s: database unavailable (%s); retrying the batch", self.subscriber.name, exc)
                await asyncio.sleep(RETRY_INTERVAL)
