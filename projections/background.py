"""What `taskstream serve` runs beside the API: the audit subscriber (reading the log directly), the
non-responsive watchdog, and the relay to Kafka when a bootstrap list is configured.

`TASKSTREAM_SUBSCRIBERS` (default `audit,watchdog`) names the in-process ones; an empty value runs none (when they
run as separate processes). A background task that fails is logged and stays stopped (a subscriber never skips).

With several API processes (`serve --workers N`, or replicas on one database) each of them starts the same
background tasks, and they run once: the audit subscriber and the watchdog only in the process that leads
(`projections.leadership`), the relay only in the one holding the relay's own lock (`projections.relay`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from taskstream.commands.session import StateStore
from taskstream.projections.audit import AuditTrail
from taskstream.projections.leadership import Leadership
from taskstream.projections.relay import Relay
from taskstream.projections.subscription import LogSubscription
from taskstream.projections.watchdog import Watchdog

log = logging.getLogger("taskstream.background")


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped: %s", task.get_name(), task.exception())


def _spawn(name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.create_task(work, name=name)
    task.add_done_callback(_report)
    return task


@dataclass
class Background:
    """The running background tasks, and the elections that decide whether this process runs the work."""

    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    leadership: Leadership | None = None
    relay: Relay | None = None


def start_background(pool: asyncpg.Pool, stores: dict[str, StateStore], database_url: str,
                     kafka_bootstrap: str | None) -> Background:
    """Start the background tasks; `stop_background` ends them."""
    names = {n.strip() for n in os.environ.get("TASKSTREAM_SUBSCRIBERS", "audit,watchdog").split(",")}
    background = Background()

    def elected_work() -> list[tuple[str, Coroutine[Any, Any, None]]]:
        work: list[tuple[str, Coroutine[Any, Any, None]]] = []
        if "audit" in names:
            work.append(("audit", LogSubscription(pool, AuditTrail()).run()))
        if "watchdog" in names:
            work.append(("watchdog", Watchdog(pool, stores).run()))
        return work

    if names & {"audit", "watchdog"}:
        background.leadership = Leadership(database_url, elected_work)
        background.tasks.append(_spawn("leadership", background.leadership.run()))
    if kafka_bootstrap:
        background.relay = Relay(database_url, kafka_bootstrap)
        background.tasks.append(_spawn("relay", background.relay.run()))
    return background


async def stop_background(background: Background) -> None:
    for task in background.tasks:
        task.cancel()
    await asyncio.gather(*background.tasks, return_exceptions=True)
