"""Running task commands: load the task under its stream lock, decide, append, project; build the response.

Shared by the tasks endpoints; the decisions themselves live in `commands/`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskstream.api.call import Call
from taskstream.api.context import run_command
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import Event, TaskChanged

Decide = Callable[[dict[str, Any] | None], list[Event]]


def fields_of(events: list[Event]) -> dict[str, Any]:
    """The response's `fields`: every path written (unset ones as null), without the quiet list pulls."""
    fields: dict[str, Any] = {}
    for event in events:
        if isinstance(event, TaskChanged):
            fields.update({k: v for k, v in event.set.items() if k not in event.quiet})
            fields.update({path: None for path in event.unset})
    return fields


def update_response(events: list[Event]) -> dict[str, Any]:
    return {"updated": 1 if events else 0, "fields": fields_of(events)}


async def change_task(session: CommandSession, task_id: str, decide: Decide) -> tuple[Stream, list[Event]]:
    """Lock and load the task, decide, and save; returns the new state and the events."""
    stream = await session.load("task", task_id)
    events = decide(stream.doc)
    return await session.save("task", stream, events), events


async def run_task_command(call: Call, task_id: str, decide: Decide,
                           respond: Callable[[list[Event]], dict[str, Any]] = update_response,
                           **metadata: Any) -> dict[str, Any]:
    """One task, one decision, one transaction."""

    async def work(session: CommandSession) -> dict[str, Any]:
        _, events = await change_task(session, task_id, decide)
        return respond(events)

    return await run_command(call.ctx, call.actor.company, call.metadata(**metadata), work, call.idempotency_key)


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def require_task_id(call: Call, key: str = "task") -> str:
    value = call.data.get(key)
    if not isinstance(value, str):
        raise ApiError(400, 12, f"error for field '{key}'. field is required!")
    return value
