"""What reported telemetry changes on tasks: `events.add_batch` (one `MetricsReported` per task per batch, the
telemetry rows in the same transaction) and a worker's status report on the task it runs (`WorkerReported`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from taskstream.commands.decide_telemetry import (
    DECIDING_FIELDS,
    ReportedEvent,
    accepts_events,
    decide_metrics,
    decide_worker_report,
    is_locked,
)
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import WorkerReport
from taskstream.commands.session import CommandSession, Stream
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import Event


@dataclass(frozen=True)
class AddEvents:
    """A batch of reported events, normalised and grouped by task; `errors` counts the lines already rejected."""

    by_task: dict[str, list[ReportedEvent]]
    now: datetime
    errors: Counter[str] = field(default_factory=Counter)


async def add_events(ctx: CommandContext, caller: Caller, command: AddEvents) -> dict[str, Any]:
    """Store the batch's accepted events and update their tasks, in one transaction: `{added, errors,
    errors_info}`. Events of unknown, foreign or locked tasks count as errors; nothing accepted → 400/131 and
    nothing is written."""
    by_task, now, errors = command.by_task, command.now, Counter(command.errors)

    async def work(session: CommandSession) -> dict[str, Any]:
        accepted: list[tuple[str, str, dict[str, Any]]] = []
        changes: list[tuple[Stream, list[Event]]] = []
        # Why sorted: every batch locks its tasks in one global order, so two batches never deadlock. All of them
        # are locked and loaded in one round trip (only the fields the decision reads), and their events appended
        # with the new values merged into the read model in one statement (`save_patches`).
        for stream in await session.load_many("task", sorted(by_task), list(DECIDING_FIELDS)):
            task = stream.doc
            if task is None or not accepts_events(task, caller.company):
                errors["Invalid task id"] += len(by_task[stream.id])
                continue
            events = [e for e in by_task[stream.id] if e.allow_locked or not is_locked(task)]
            errors["Invalid task id"] += len(by_task[stream.id]) - len(events)
            if events:
                changes.append((stream, decide_metrics(task, events, now)))
                accepted.extend((e.task, e.type, e.doc) for e in events)
        await session.save_patches("task", changes)
        if not accepted:
            raise ApiError(400, 131, "Events not added", **{k: v for k, v in errors.items() if v})
        await ctx.telemetry.insert_events(session.conn, caller.company, accepted)
        info = {k: v for k, v in errors.items() if v}
        return {"added": len(accepted), "errors": sum(info.values()), "errors_info": info}

    return await run_command(ctx, caller.company, caller.metadata, work, caller.idempotency_key)


async def report_worker_status(ctx: CommandContext, caller: Caller, report: WorkerReport) -> None:
    """Refresh the worker (registering it if needed); with a `task`, record on the task that this worker runs it
    (`WorkerReported`), in the same transaction; an unknown task → 400/101 and nothing is written."""

    async def work(session: CommandSession) -> dict[str, Any]:
        if report.task:
            stream = await session.load("task", report.task)
            events = decide_worker_report(stream.doc, report.task, report.company, report.worker, report.now)
            await session.save("task", stream, events)
        await ctx.workers.upsert(session.conn, report)
        return {}

    await run_command(ctx, caller.company, caller.with_metadata(worker=report.worker), work)
