"""Leader election for the background work that must run once among several API processes (`serve --workers N`,
or replicas): the leader holds a PostgreSQL session advisory lock on a connection of its own, standbys poll for it.

Why a session lock: PostgreSQL releases it when the leader's session ends — the process exited, was killed -9,
or lost its connection — so a standby takes over within `standby_interval` without any timeout to tune. The
leader checks its connection every `check_interval`; when the check fails the lock may already be another's, so it
stops its work and stands by again. For that short overlap (at most `check_interval`) two leaders may run: the work
run under this election must be safe with two runners (the audit subscriber serialises on its checkpoint row, the
watchdog re-checks each task under its stream lock), the election only keeps it from running N times for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from taskstream.projections.subscription import DATABASE_GONE

log = logging.getLogger("taskstream.leadership")

BACKGROUND_LOCK_KEY = 7_272_740_002  # the relay's is 7_272_740_001 (projections.relay)
APPLICATION_NAME = "taskstream-background"

Work = Callable[[], list[tuple[str, Coroutine[Any, Any, None]]]]


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped: %s", task.get_name(), task.exception())


class Elected:
    """The election loop shared by the background leader (`Leadership`) and the relay: connect, poll for the session
    advisory lock `lock_key` every `standby_interval`, run `_lead(conn)` on that same connection while it holds
    the lock, and stand by again (a new session, so leadership is decided again) when the connection is lost;
    until cancelled. `leading` is set while this process leads."""

    role = "background"  # names the loop in log lines

    def __init__(self, database_url: str, lock_key: int, standby_interval: float, retry_interval: float,
                 application_name: str | None = None) -> None:
        self.database_url = database_url
        self.lock_key = lock_key
        self.standby_interval = standby_interval
        self.retry_interval = retry_interval
        self.application_name = application_name
        self.leading = asyncio.Event()

    async def run(self) -> None:
        settings = {"application_name": self.application_name} if self.application_name else None
        while True:
            try:
                conn = await asyncpg.connect(self.database_url, server_settings=settings)
            except (*DATABASE_GONE, asyncpg.PostgresError) as exc:
                log.warning("%s: cannot connect to PostgreSQL (%s); retrying", self.role, exc)
                await asyncio.sleep(self.retry_interval)
                continue
            try:
                await self._await_leadership(conn)
                await self._lead(conn)
            except DATABASE_GONE as exc:  # TimeoutError is an OSError
                # Why a new connection: after a restart of PostgreSQL the old one may be half-dead, and a new
                # session decides the leadership again (the lock died with the old session).
                log.warning("%s: lost the database connection (%s); standing by again", self.role, exc)
            finally:
                self.leading.clear()
                conn.terminate()  # never waits on a dead server; the session's end releases the lock
            await asyncio.sleep(self.retry_interval)

    async def _await_leadership(self, conn: asyncpg.Connection) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key, timeout=10):
            await asyncio.sleep(self.standby_interval)
        log.info("%s: leading (pid %d)", self.role, os.getpid())
        self.leading.set()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        raise NotImplementedError


class Leadership(Elected):
    """Runs the coroutines `work()` returns (named) while this process leads; stands by otherwise, until cancelled.

    A background task that fails is logged and stays stopped while this process leads (a subscriber never skips);
    it starts again only if leadership moves."""

    def __init__(self, database_url: str, work: Work, key: int = BACKGROUND_LOCK_KEY,
                 standby_interval: float = 0.5, check_interval: float = 1.0, retry_interval: float = 1.0) -> None:
        # The process id in the session's name tells an operator (pg_stat_activity) who leads.
        super().__init__(database_url, key, standby_interval, retry_interval, f"{APPLICATION_NAME}:{os.getpid()}")
        self.work = work
        self.check_interval = check_interval

    async def _lead(self, conn: asyncpg.Connection) -> None:
        tasks = []
        for name, coroutine in self.work():
            tasks.append(asyncio.create_task(coroutine, name=name))
            tasks[-1].add_done_callback(_report)
        try:
            while True:
                await asyncio.sleep(self.check_interval)
                await conn.fetchval("SELECT 1", timeout=self.check_interval * 5)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
