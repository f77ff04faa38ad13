"""The write side's view of the read models: the inline projectors and lookups a `CommandContext` is made of.

`commands` never imports `projections`; whoever runs commands (the api's `AppContext`, the watchdog, a queue
consumer) builds its context here, so every one of them projects and looks up through the same read models.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from taskstream.commands.handlers.context import CommandContext
from taskstream.commands.session import StateStore
from taskstream.projections.model_read_model import ModelReadModel, ModelTableLookups
from taskstream.projections.project_read_model import ProjectReadModel, ProjectTableLookups
from taskstream.projections.queue_read_model import QueueReadModel, QueueTableLookups
from taskstream.projections.task_read_model import TaskReadModel, TaskTableLookups
from taskstream.projections.task_telemetry import TelemetryTable
from taskstream.projections.worker_registry import WorkerTable


def inline_stores() -> dict[str, StateStore]:
    """The inline projector of each stream type, keyed as the handlers name them."""
    return {"task": TaskReadModel(), "project": ProjectReadModel(), "queue": QueueReadModel(),
            "model": ModelReadModel()}


def command_context(pool: asyncpg.Pool, stores: dict[str, StateStore] | None = None,
                    observe: Callable[[str], None] | None = None) -> CommandContext:
    """A context over the live read models (`stores`: the inline projectors, by default `inline_stores()`);
    `observe` is told the unit of work's notable outcomes (see `CommandContext`)."""
    return CommandContext(pool=pool, stores=stores if stores is not None else inline_stores(),
                          tasks=TaskTableLookups(), queues=QueueTableLookups(), projects=ProjectTableLookups(),
                          telemetry=TelemetryTable(), workers=WorkerTable(),
                          models=ModelTableLookups(), observe=observe)
