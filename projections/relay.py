"""The relay: publishes the log to Kafka, behind the writers, never skipping an event (G4, G8).

It is a subscriber whose output is Kafka. Each batch is read with `read_after` (the transaction-id horizon: no
event can appear later below it), sent whole (topic per family, key = stream id, see `kafka_codec`), and only once
the broker acknowledged every message (`acks=all`, idempotent producer) is the checkpoint moved. A failure anywhere
before that (broker down, relay killed) means the batch is sent again from the checkpoint: duplicates are possible,
gaps never; consumers dedupe (see `subscription`).

One relay publishes at a time: the leader holds a PostgreSQL session advisory lock on its own connection, and reads
and checkpoints on that same connection, so a leader whose connection died can no longer move the checkpoint.
Standbys poll for the lock and take over when the leader's session ends (PostgreSQL releases the lock then).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from commands.store import RecordedEvent, read_after
from projections.kafka_codec import TOPIC_PREFIX, encode
from projections.subscription import load_checkpoint, save_checkpoint

log = logging.getLogger("taskstream.relay")

RELAY_LOCK_KEY = 7_272_740_001
RELAY_NAME = "relay"


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for every in-sync replica (acks=all)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2,
                            request_timeout_ms=10000, retry_backoff_ms=200, metadata_max_age_ms=5000)


async def publish(producer: AIOKafkaProducer, events: list[RecordedEvent], prefix: str = TOPIC_PREFIX) -> None:
    """Send every event, then wait for every acknowledgement; raises if any message was not acknowledged."""
    futures = []
    for event in events:
        topic, key, value, headers = encode(event, prefix)
        futures.append(await producer.send(topic, value=value, key=key, headers=headers))
    results = await asyncio.gather(*futures, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]


class Relay:
    """Publishes the log to Kafka at `bootstrap` while it is the leader; a standby otherwise."""

    def __init__(self, database_url: str, bootstrap: str, batch_size: int = 1000, poll_interval: float = 0.01,
                 standby_interval: float = 0.5, retry_interval: float = 1.0, topic_prefix: str = TOPIC_PREFIX,
                 producer_factory: Callable[[str], AIOKafkaProducer] = new_producer) -> None:
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.retry_interval = retry_interval
        self.topic_prefix = topic_prefix
        self.producer_factory = producer_factory
        self.leading = asyncio.Event()
        self.published = 0

    async def run(self) -> None:
        """Stand by, lead, and stand by again if the database connection is lost; until cancelled."""
        while True:
            try:
                conn = await asyncpg.connect(self.database_url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("relay: cannot connect to PostgreSQL (%s); retrying", exc)
                await asyncio.sleep(self.retry_interval)
                continue
            try:
                await self._await_leadership(conn)
                await self._lead(conn)
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                log.warning("relay: lost its database connection (%s); standing by again", exc)
            finally:
                self.leading.clear()
                await conn.close(timeout=2)

    async def _await_leadership(self, conn: asyncpg.Connection) -> None:
        # Why a session lock on a dedicated connection: it lives exactly as long as this relay's session.
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
            await asyncio.sleep(self.standby_interval)
        log.info("relay: leading")
        self.leading.set()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        while True:
            producer = self.producer_factory(self.bootstrap)
            try:
                await producer.start()
                await self._publish_loop(conn, producer)
            except KafkaError as exc:
                log.warning("relay: Kafka unavailable (%s); resending from the checkpoint", exc)
            finally:
                await producer.stop()
            await asyncio.sleep(self.retry_interval)

    async def _publish_loop(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        checkpoint = await load_checkpoint(conn, RELAY_NAME)
        while True:
            events = await read_after(conn, checkpoint, self.batch_size)
            if not events:
                await asyncio.sleep(self.poll_interval)
                continue
            await publish(producer, events, self.topic_prefix)
            # Only after every acknowledgement: a crash before this line resends the batch (never a gap).
            checkpoint = events[-1].log_position
            await save_checkpoint(conn, RELAY_NAME, checkpoint)
            self.published += len(events)
