"""The observed transition matrix of tasks-behaviour.md §4.3 (`force: false`), as data shared by the unit tests of
the `decide_*` functions and the API tests.

Each cell is the resulting status (a success) or the error subcode of the rejection; `DELETED` marks a deleted task.
"""

from __future__ import annotations

STATUSES = ("created", "queued", "in_progress", "stopped", "published", "publishing", "closed", "failed",
            "completed")
DELETED = "deleted"
OK_EDIT = "edited"


def _row(*cells: str | int) -> dict[str, str | int]:
    return dict(zip(STATUSES, cells, strict=True))


MATRIX: dict[str, dict[str, str | int]] = {
    "started": _row("in_progress", "in_progress", "in_progress", "in_progress", 110, 110, 110, 110, "in_progress"),
    "stop": _row(110, "stopped", "stopped", "stopped", 110, 110, "stopped", "stopped", 110),
    "stopped": _row(110, "stopped", "stopped", "stopped", 110, 110, "stopped", "stopped", 110),
    "failed": _row(110, 110, "failed", "failed", 110, 110, "failed", "failed", 110),
    "close": _row(110, 110, 110, "closed", 110, 110, "closed", 110, 110),
    "publish": _row(110, 110, 110, "published", 110, "published", "published", "published", "published"),
    "completed": _row(110, 110, "completed", "completed", 110, 110, 110, 110, "completed"),
    "reset": _row("created", "created", "created", "created", 110, 101, "created", "created", "created"),
    "delete": _row(DELETED, 123, 123, 123, 123, 123, 123, 123, 123),
    "edit": _row(OK_EDIT, 110, 110, 110, 110, 110, 110, 110, 110),
}

# With `force: true` every call succeeds from every status (§4.3): the status each call leads to.
FORCED_RESULT: dict[str, str] = {
    "started": "in_progress", "stop": "stopped", "stopped": "stopped", "failed": "failed", "close": "closed",
    "publish": "published", "completed": "completed", "reset": "created", "delete": DELETED, "edit": OK_EDIT,
}


def cases(forced: bool) -> list[tuple[str, str, str | int]]:
    """(call, from status, expected) for every call and every status."""
    if forced:
        return [(call, status, FORCED_RESULT[call]) for call in MATRIX for status in STATUSES]
    return [(call, status, expected) for call, row in MATRIX.items() for status, expected in row.items()]
