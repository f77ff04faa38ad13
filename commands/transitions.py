"""The status state machine as data (tasks-behaviour.md §4.1), and the one function that consults it.

`force` bypasses the table; the bypass is recorded in the event (`force: true`) so the history shows it (G9).
"""

from __future__ import annotations

from taskstream.schemas.errors import ApiError, invalid_task_status

ALLOWED: dict[str, frozenset[str]] = {
    "created": frozenset({"queued", "in_progress"}),
    "queued": frozenset({"created", "in_progress", "stopped"}),
    "in_progress": frozenset({"stopped", "failed", "created", "completed"}),
    "stopped": frozenset(
        {"closed", "created", "failed", "queued", "in_progress", "published", "publishing", "completed"}
    ),
    "closed": frozenset({"created", "failed", "published", "publishing", "stopped"}),
    "failed": frozenset({"created", "stopped", "published"}),
    "publishing": frozenset({"published"}),
    "published": frozenset(),
    "completed": frozenset({"published", "in_progress", "created"}),
}


def check_transition(current: str, new: str, *, force: bool, allow_same: bool = True) -> None:
    """Raise 400/110 unless `current -> new` is allowed (same-status calls are allowed unless `allow_same` is off)."""
    if force:
        return
    if current not in ALLOWED:
        raise ApiError(500, 1, f"Current status {current} not supported by state machine")
    if current == new and allow_same:
        return
    if current == new:
        raise invalid_task_status("Task already in requested status", current_status=current, new_status=new)
    if new not in ALLOWED[current]:
        raise invalid_task_status("Invalid status change", current_status=current, new_status=new)
