"""Task documents and a fixed clock for the pure decision tests of one task's outputs and of several tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from taskstream.commands.evolve import evolve
from taskstream.schemas.events import Event

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
EARLIER = "2024-01-01T00:00:00+00:00"


def task(status: str = "created", task_id: str = "t1", **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "company": COMPANY, "status": status, "name": "a task", "last_update": EARLIER,
            "last_change": EARLIER, "last_iteration": 0, "execution": {"artifacts": []},
            "models": {"input": [], "output": []}, "script": {"binary": "python", "requirements": {}}, **fields}


def after(doc: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    state: dict[str, Any] | None = doc
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state


def artifact(key: str, mode: str = "output", **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "t", "mode": mode, "display_data": [], **extra}
