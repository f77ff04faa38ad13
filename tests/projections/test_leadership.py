"""Leader election for the background work (`projections.leadership`): one leader at a time among several
processes' candidates; a standby takes over when the leader stops or loses its database session."""

from __future__ import annotations

import asyncio
import random

import asyncpg

from taskstream.projections.leadership import Leadership


class Candidate:
    """A Leadership whose work only marks that it runs."""

    def __init__(self, database_url: str, key: int) -> None:
        self.running = False
        self.leadership = Leadership(database_url, self.work, key=key, standby_interval=0.05, check_interval=0.1,
                                     retry_interval=0.1)
        self.task = asyncio.create_task(self.leadership.run())

    def work(self) -> list[tuple[str, object]]:
        return [("marker", self._mark())]

    async def _mark(self) -> None:
        self.running = True
        try:
            await asyncio.Event().wait()
        finally:
            self.running = False

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _until(condition: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_one_leader_runs_the_work_and_a_standby_takes_over_when_it_stops(database_url: str) -> None:
    key = random.randrange(1 << 40)
    candidates = [Candidate(database_url, key) for _ in range(3)]
    try:
        await _until(lambda: sum(c.running for c in candidates) == 1)
        await asyncio.sleep(0.5)  # standbys keep polling: still exactly one
        assert sum(c.leadership.leading.is_set() for c in candidates) == 1
        assert sum(c.running for c in candidates) == 1
        leader = next(c for c in candidates if c.running)
        await leader.stop()
        assert not leader.running
        rest = [c for c in candidates if c is not leader]
        await _until(lambda: sum(c.running for c in rest) == 1)
    finally:
        for candidate in candidates:
            await candidate.stop()


async def test_a_leader_that_lost_its_session_stops_its_work_and_another_leads(database_url: str) -> None:
    key = random.randrange(1 << 40)
    candidates = [Candidate(database_url, key) for _ in range(2)]
    admin = await asyncpg.connect(database_url)
    try:
        await _until(lambda: sum(c.running for c in candidates) == 1)
        # The leader's session ends (a database restart, a network cut): PostgreSQL releases its lock.
        holder = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = $1", key)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", holder)
        await _until(lambda: sum(c.running for c in candidates) == 1 and
                     sum(c.leadership.leading.is_set() for c in candidates) == 1)
    finally:
        await admin.close()
        for candidate in candidates:
            await candidate.stop()
