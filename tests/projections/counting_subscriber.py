"""A deliberately non-idempotent subscriber (it increments a counter per event), to prove that the runner gives
it an exactly-once effect. Run as a script, it follows the log and dies (os._exit) right after applying its
`crash_after`-th event, before the transaction that would checkpoint it commits."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

from taskstream.commands.store import RecordedEvent
from taskstream.projections.subscription import LogSubscription

TABLE = """CREATE TABLE IF NOT EXISTS test_counts (
    subscriber text NOT NULL, stream_id text NOT NULL, n integer NOT NULL, last_version integer NOT NULL,
    PRIMARY KEY (subscriber, stream_id))"""


class CountingSubscriber:
    def __init__(self, name: str, crash_after: int | None = None, fail_on: str | None = None) -> None:
        self.name = name
        self.crash_after = crash_after
        self.fail_on = fail_on
        self.seen = 0

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if str(event.event_id) == self.fail_on:
            raise RuntimeError("cannot apply this event")
        await conn.execute(
            """INSERT INTO test_counts VALUES ($1, $2, 1, $3) ON CONFLICT (subscriber, stream_id)
            DO UPDATE SET n = test_counts.n + 1, last_version = EXCLUDED.last_version""",
            self.name, event.stream_id, event.version)
        self.seen += 1
        if self.crash_after is not None and self.seen >= self.crash_after:
            os._exit(9)


async def counts(conn: asyncpg.Connection, name: str) -> dict[str, int]:
    return {r["stream_id"]: r["n"] for r in await conn.fetch(
        "SELECT stream_id, n FROM test_counts WHERE subscriber = $1", name)}


async def _main(url: str, name: str, crash_after: int) -> None:
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    await LogSubscription(pool, CountingSubscriber(name, crash_after), batch_size=10).catch_up()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
