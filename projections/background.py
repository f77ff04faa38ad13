"""What `taskstream serve` runs beside the API: the audit subscriber (reading the log directly), the
non-responsive watchdog, and the relay to Kafka when a bootstrap list is configured.

`TASKSTREAM_SUBSCRIBERS` (default `audit,watchdog`) names the in-process ones; an empty value runs none (when they
run as separate processes). A background task that fails is logged and stays stopped (a subscriber never skips).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

import asyncpg

from taskstream.commands.session import StateStore
from taskstream.projections.audit import AuditTrail
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


def start_background(pool: asyncpg.Pool, stores: dict[str, StateStore], database_url: str,
                     kafka_bootstrap: str | None) -> list[asyncio.Task[None]]:
    """Start the background tasks; `stop_background` ends them."""
    names = {n.strip() for n in os.environ.get("TASKSTREAM_SUBSCRIBERS", "audit,watchdog").split(",")}
    tasks = []
    if "audit" in names:
        tasks.append(_spawn("audit", LogSubscription(pool, AuditTrail()).run()))
    if "watchdog" in names:
        tasks.append(_spawn("watchdog", Watchdog(pool, stores).run()))
    if kafka_bootstrap:
        tasks.append(_spawn("relay", Relay(database_url, kafka_bootstrap).run()))
    return tasks


async def stop_background(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
