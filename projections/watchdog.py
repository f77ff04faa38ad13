"""The non-responsive watchdog: stops `in_progress` tasks not updated for a while (tasks-behaviour.md §8).

Every `interval` seconds (env TASKSTREAM_NONRESPONSIVE_INTERVAL, default 900) it finds, in the task read model,
the `in_progress` tasks whose `last_update` is older than the threshold (env TASKSTREAM_NONRESPONSIVE_SECONDS,
default 7200), and stops each one as a command of its own (`commands.handlers.watchdog`): a
`TaskStoppedNonResponsive` event attributed to the system (metadata user `__system__`). Safe with several replicas
running it: each task is changed under its stream lock after re-checking the condition on the state loaded under
that lock, so a task is stopped once, and a task that pinged meanwhile is left alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta

import asyncpg

from taskstream.commands.handlers.watchdog import stop_nonresponsive
from taskstream.commands.session import StateStore
from taskstream.projections.inline import command_context
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError

log = logging.getLogger("taskstream.watchdog")
_PAGE = 500


def _env_seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Watchdog:
    def __init__(self, pool: asyncpg.Pool, stores: dict[str, StateStore], threshold: timedelta | None = None,
                 interval: float | None = None) -> None:
        self.pool = pool
        self.commands = command_context(pool, stores)
        self.threshold = threshold or timedelta(seconds=_env_seconds("TASKSTREAM_NONRESPONSIVE_SECONDS", 7200))
        self.interval = interval or _env_seconds("TASKSTREAM_NONRESPONSIVE_INTERVAL", 900)

    async def sweep(self, now: datetime | None = None) -> int:
        """Stop every task non-responsive at `now` (default: the current time); returns how many it stopped."""
        now = now or utc_now()
        stopped, after = 0, ""
        while True:
            ids = [r["id"] for r in await self.pool.fetch(
                """SELECT id FROM tasks WHERE status = 'in_progress' AND last_update < $1 AND id > $2
                ORDER BY id LIMIT $3""", now - self.threshold, after, _PAGE)]
            for task_id in ids:
                stopped += await self._stop(task_id, now)
            if len(ids) < _PAGE:
                return stopped
            after = ids[-1]

    async def _stop(self, task_id: str, now: datetime) -> int:
        """The non-responsive stop command (`commands.handlers.watchdog`): it re-checks under the task's lock."""
        if not await stop_nonresponsive(self.commands, task_id, now, self.threshold):
            return 0
        log.info("watchdog: stopped non-responsive task %s", task_id)
        return 1

    async def run(self) -> None:
        """Sweep every `interval` seconds until cancelled; a failed sweep is logged and retried next time."""
        while True:
            try:
                await self.sweep()
            # ApiError: the unit of work reports a deadlock as 400/121 (where asyncpg raised it before the stop
            # became a command handler); like any database failure, the sweep is retried next time.
            except (OSError, asyncpg.PostgresError, ApiError):
                log.exception("watchdog: sweep failed; retrying in %.0f s", self.interval)
            await asyncio.sleep(self.interval)
