"""One task, one decision: lock and load the task, decide, save; the shared shape of the task commands' answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.events import Event, TaskChanged

Decide = Callable[[dict[str, Any] | None], list[Event]]
Respond = Callable[[list[Event]], dict[str, Any]]


def fields_of(events: list[Event]) -> dict[str, Any]:
    """The answer's `fields`: every path written (unset ones as null), without the quiet list pulls."""
    fields: dict[str, Any] = {}
    for event in events:
        if isinstance(event, TaskChanged):
            fields.update({k: v for k, v in event.set.items() if k not in event.quiet})
            fields.update({path: None for path in event.unset})
    return fields


def update_result(events: list[Event]) -> dict[str, Any]:
    """`{updated, fields}`: the answer of most task commands."""
    return {"updated": 1 if events else 0, "fields": fields_of(events)}


async def change_task(session: CommandSession, task_id: str, decide: Decide) -> tuple[Stream, list[Event]]:
    """Lock and load the task, decide, and save; returns the new state and the events."""
    stream = await session.load("task", task_id)
    events = decide(stream.doc)
    return await session.save("task", stream, events), events


async def run_task_command(ctx: CommandContext, caller: Caller, task_id: str, decide: Decide,
                           respond: Respond = update_result, **metadata: Any) -> dict[str, Any]:
    """One task, one decision, one transaction; `metadata` is added to the caller's event metadata."""

    async def work(session: CommandSession) -> dict[str, Any]:
        _, events = await change_task(session, task_id, decide)
        return respond(events)

    return await run_command(ctx, caller.company, caller.with_metadata(**metadata), work, caller.idempotency_key)
