"""The non-responsive stop (tasks-behaviour.md §8): an `in_progress` task not updated for too long is stopped as
a command of the system (`TaskStoppedNonResponsive`, metadata user `__system__`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from taskstream.commands.decide_watchdog import NONRESPONSIVE_REASON, decide_nonresponsive
from taskstream.commands.handlers.context import CommandContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import CommandSession

SYSTEM_USER = "__system__"


async def stop_nonresponsive(ctx: CommandContext, task_id: str, now: datetime, threshold: timedelta) -> bool:
    """Stop the task if it is still non-responsive at `now`; True if it was stopped.

    Safe with several watchdogs at once: the condition is checked again on the state loaded under the task's lock,
    so a task is stopped once, and a task that pinged since the scan is left alone.
    """

    async def work(session: CommandSession) -> dict[str, Any]:
        # Why re-check under the lock: another replica may have stopped it, or the task pinged since the scan.
        stream = await session.load("task", task_id)
        events = decide_nonresponsive(stream.doc, now, threshold)
        if not events or stream.doc is None:
            return {"stopped": False}
        await session.save("task", stream, events, metadata={
            "company": stream.doc.get("company", ""), "user": SYSTEM_USER, "endpoint": "watchdog.nonresponsive",
            "forced": True, "status_reason": NONRESPONSIVE_REASON, "status_message": NONRESPONSIVE_REASON,
        })
        return {"stopped": True}

    return bool((await run_command(ctx, "", {}, work))["stopped"])
