"""The relay: publishes the log to Kafka, behind the writers, never skipping an event (G4, G8).

It is a subscriber whose output is Kafka. Each batch is read with `read_after` (the transaction-id horizon: no
event can appear later below it), sent whole (topic per family, key = stream id, see `kafka_codec`), and only once
the broker acknowledged every message (`acks=all`, idempotent producer) is the checkpoint moved. A failure anywhere
before that (broker down, relay killed) means the batch is sent again from the checkpoint: duplicates are possible,
gaps never; consumers dedupe (see `subscription`).

Pipelined: while a batch waits for its acknowledgements the next one is read and sent (up to `max_in_flight`
batches), so the broker's round trip is not added to every event's latency. Order still holds: batches are handed
to the producer in log order and the idempotent producer keeps each partition in send order; the checkpoint only
ever moves to the end of the oldest batches whose acknowledgements have all arrived, at most every
`checkpoint_interval` while busy (a crash resends at most that much more). The relay reads every `poll_interval`
while events keep coming (each read then takes what arrived meanwhile: few queries, a few ms of delay), at once
while a backlog fills whole batches, and backs off to `max_poll_interval` while the log is idle.

One relay publishes at a time: the leader holds a PostgreSQL session advisory lock on its own connection, and reads
and checkpoints on that same connection, so a leader whose connection died can no longer move the checkpoint.
Standbys poll for the lock and take over when the leader's session ends (PostgreSQL releases the lock then).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from taskstream.commands.store import LogPosition, RecordedEvent, read_after
from taskstream.projections.kafka_codec import TOPIC_PREFIX, encode
from taskstream.projections.leadership import Elected
from taskstream.projections.subscription import load_checkpoint, save_checkpoint

log = logging.getLogger("taskstream.relay")

RELAY_LOCK_KEY = 7_272_740_001
RELAY_NAME = "relay"


def new_producer(bootstrap: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for every in-sync replica (acks=all).

    `linger_ms=0`: a batch is handed over whole before the producer's sender runs, and messages that arrive while
    a request is in flight are batched anyway; lingering only added its own delay to every message (measured).
    """
    return AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=0,
                            request_timeout_ms=10000, retry_backoff_ms=200, metadata_max_age_ms=5000)


async def send(producer: AIOKafkaProducer, events: list[RecordedEvent], prefix: str = TOPIC_PREFIX
               ) -> asyncio.Future[list[object]]:
    """Hand every event to the producer, in order; the returned future completes when all are acknowledged and
    raises if any was not."""
    futures = []
    for event in events:
        topic, key, value, headers = encode(event, prefix)
        futures.append(await producer.send(topic, value=value, key=key, headers=headers))
    return asyncio.gather(*futures)


InFlight = deque[tuple[asyncio.Future[list[object]], LogPosition, int]]  # (acknowledgements, batch end, count)


class Relay(Elected):
    """Publishes the log to Kafka at `bootstrap` while it is the leader; a standby otherwise."""

    role = "relay"

    def __init__(self, database_url: str, bootstrap: str, batch_size: int = 1000, poll_interval: float = 0.005,
                 standby_interval: float = 0.5, retry_interval: float = 1.0, topic_prefix: str = TOPIC_PREFIX,
                 producer_factory: Callable[[str], AIOKafkaProducer] = new_producer, max_in_flight: int = 16,
                 max_poll_interval: float = 0.02, checkpoint_interval: float = 0.05) -> None:
        super().__init__(database_url, RELAY_LOCK_KEY, standby_interval, retry_interval)
        self.bootstrap = bootstrap
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_in_flight = max_in_flight
        self.checkpoint_interval = checkpoint_interval
        self.topic_prefix = topic_prefix
        self.producer_factory = producer_factory
        self.published = 0

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
        sent = await load_checkpoint(conn, RELAY_NAME)
        in_flight: InFlight = deque()
        pause, saved_at = self.poll_interval, time.monotonic()
        try:
            while True:
                events = await read_after(conn, sent, self.batch_size) if len(in_flight) < self.max_in_flight else []
                if events:
                    in_flight.append((await send(producer, events, self.topic_prefix), events[-1].log_position,
                                      len(events)))
                    sent = events[-1].log_position
                if (not events or time.monotonic() - saved_at >= self.checkpoint_interval) \
                        and await self._checkpoint_acknowledged(conn, in_flight):
                    saved_at = time.monotonic()
                if len(events) < self.batch_size:  # caught up: read again after a pause (a backlog: at once)
                    pause = self.poll_interval if events else min(pause * 2, self.max_poll_interval)
                    await asyncio.sleep(pause)
        finally:
            for future, _, _ in in_flight:
                future.cancel()

    async def _checkpoint_acknowledged(self, conn: asyncpg.Connection, in_flight: InFlight) -> bool:
        """Move the checkpoint past the oldest batches that are wholly acknowledged (raises if one failed);
        whether it moved."""
        acknowledged = None
        while in_flight and in_flight[0][0].done():
            future, acknowledged, count = in_flight.popleft()
            future.result()
            self.published += count
        if acknowledged is None:
            return False
        # Only after every acknowledgement up to here: a crash before this line resends (never a gap).
        await save_checkpoint(conn, RELAY_NAME, acknowledged)
        return True
