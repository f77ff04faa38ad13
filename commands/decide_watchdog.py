"""Pure decision of the non-responsive watchdog (tasks-behaviour.md §8): stop an `in_progress` task whose
`last_update` is older than the threshold; queues are not touched."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from taskstream.commands.decide_status import status_change
from taskstream.schemas.events import Event, TaskStoppedNonResponsive

NONRESPONSIVE_REASON = "Forced stop (non-responsive)"


def is_nonresponsive(doc: dict[str, Any] | None, now: datetime, threshold: timedelta) -> bool:
    """True for an `in_progress` task not updated for longer than `threshold` before `now`."""
    if doc is None or doc.get("status") != "in_progress":
        return False
    last_update = doc.get("last_update")
    return isinstance(last_update, str) and datetime.fromisoformat(last_update) < now - threshold


def decide_nonresponsive(doc: dict[str, Any] | None, now: datetime, threshold: timedelta) -> list[Event]:
    """[TaskStoppedNonResponsive] if the task is still non-responsive at `now`, else nothing."""
    if doc is None or not is_nonresponsive(doc, now, threshold):
        return []
    changes, quiet = status_change(doc, "stopped", NONRESPONSIVE_REASON, NONRESPONSIVE_REASON, now)
    return [TaskStoppedNonResponsive(set=changes, quiet=quiet, status="stopped", previous_status="in_progress",
                                     force=True)]
