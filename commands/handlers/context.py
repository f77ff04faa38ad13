"""What a handler is given: the pool, the inline projectors, the read-model lookups (`CommandContext`), and who
calls (`Caller`).

`commands` never imports `projections`: the lookups below are Protocols, implemented next to the read models that
own their tables and handed in by the app wiring with the inline projectors. A lookup made while the handler holds
a stream's lock reads exactly the state the next event of that stream is decided on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import asyncpg

from taskstream.commands.messages import WorkerReport
from taskstream.commands.session import Actor, StateStore

# A read runs on the command's connection (inside its transaction, under its locks) or on the pool (a pre-check
# before any transaction, which the handler repeats under the lock when it decides on it).
Reader: TypeAlias = "asyncpg.Connection | asyncpg.Pool"


class TaskLookups(Protocol):
    """Reads of the task read model (`tasks`) that task commands need beyond the task's own state."""

    async def company_of(self, db: Reader, task_id: str) -> str | None:
        """The task's company ("" for a public task), None when there is no such task."""

    async def readable_doc(self, db: Reader, task_id: str, company: str) -> dict[str, Any] | None:
        """The task's document if it is the company's or public, else None."""

    async def references(self, db: Reader, task_id: str, company: str) -> dict[str, Any] | None:
        """`{parent, project, models}` of the company's task, None when the company has no such task."""

    async def count_owned(self, db: Reader, task_ids: list[str], company: str) -> int:
        """How many of the (distinct) ids are tasks of the company."""

    async def published_children(self, db: Reader, task_id: str, company: str) -> int:
        """How many published tasks of the company (its own, or made public by it) have this task as their
        parent. Another company's children never count: they must not block the owner's delete or reset."""

    async def child_ids(self, db: Reader, task_id: str, company: str) -> list[str]:
        """The ids of the company's tasks (its own, or made public by it) that have this task as their parent,
        sorted. Another company's children are never written to by the owner's commands."""

    async def owner(self, db: Reader, task_id: str) -> dict[str, Any] | None:
        """`{company, user}` of the task, None when there is no such task."""


class QueueLookups(Protocol):
    """Reads of the queue read model (`queues`, `queue_entries`)."""

    async def company_of(self, db: Reader, queue_id: str) -> str | None: ...

    async def by_name(self, db: Reader, company: str, name: str) -> str | None:
        """The id of the company's queue with exactly this name."""

    async def default_queues(self, db: Reader, company: str) -> list[dict[str, str]]:
        """`{id, name}` of the company's queues carrying the system tag `default` (there should be one)."""

    async def has_entry(self, db: Reader, queue_id: str, task_id: str) -> bool: ...

    async def head(self, db: Reader, queue_id: str) -> dict[str, Any] | None:
        """The first entry `{task, added}` of the queue (lowest position), or None when it is empty."""

    async def entry(self, db: Reader, queue_id: str, task_id: str, position: int) -> dict[str, Any] | None:
        """The entry `{task, added}` of the task at exactly this position, or None when it is gone."""

    async def entry_tasks(self, db: Reader, queue_id: str) -> list[str]:
        """The tasks waiting in the queue, in queue order."""

    async def position_bounds(self, db: Reader, queue_id: str) -> tuple[int, int] | None:
        """(first, last) entry position of the queue, None when it is empty."""


class ProjectLookups(Protocol):
    """Reads of the project read model (`projects`)."""

    async def company_of(self, db: Reader, project_id: str) -> str | None:
        """The project's company ("" for a public project), None when there is no such project."""

    async def by_name(self, db: Reader, company: str, name: str) -> str | None:
        """The id of the company's project with this full ('/'-separated) name."""


class ModelLookups(Protocol):
    """Reads of the model read model (`models`)."""

    async def company_of(self, db: Reader, model_id: str) -> str | None:
        """The model's company ("" for a public model), None when there is no such model."""

    async def document(self, db: Reader, model_id: str) -> dict[str, Any] | None:
        """The model's document (any company's), None when there is no such model."""

    async def missing(self, db: Reader, model_ids: list[str], company: str) -> list[str]:
        """The ids (in the given order) that are neither models of the company nor public models."""

    async def used_as_input(self, db: Reader, model_id: str, company: str) -> int:
        """How many of the company's tasks list this model among their input models."""

    async def output_model_ids(self, db: Reader, task_id: str, company: str, listed: list[str]) -> list[str]:
        """The company's models whose `task` is the task or whose id is in `listed` (its `models.output`), by id."""


class TelemetryStore(Protocol):
    """The telemetry table (`task_events`), written in the transaction of the events it changes tasks with."""

    async def insert_events(self, conn: asyncpg.Connection, company: str,
                            events: list[tuple[str, str, dict[str, Any]]]) -> None: ...

    async def delete_task_events(self, conn: asyncpg.Connection, task_id: str) -> int:
        """Delete everything reported about the task (its reset or deletion); the number of rows deleted."""

    async def image_urls(self, conn: asyncpg.Connection, task_id: str) -> list[str]:
        """The distinct URLs of the task's debug images, in report order (the files its deletion leaves)."""


class WorkerRegistry(Protocol):
    """The live worker registry (`workers`), refreshed in the transaction of the task event a report makes."""

    async def upsert(self, conn: asyncpg.Connection, report: WorkerReport) -> None: ...


@dataclass(frozen=True)
class CommandContext:
    """Created once by the app wiring: everything a handler needs that is not in its command."""

    pool: asyncpg.Pool
    stores: dict[str, StateStore]
    tasks: TaskLookups
    queues: QueueLookups
    projects: ProjectLookups
    telemetry: TelemetryStore
    workers: WorkerRegistry
    models: ModelLookups
    # Told each notable outcome of the unit of work ("replayed", "deadlock", "stale_version"): the API's metrics.
    observe: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Caller:
    """Who runs a command and through which call: the actor, the event metadata (company, user, endpoint, API
    version, request id) and the request's idempotency key, if any."""

    actor: Actor
    metadata: dict[str, Any]
    idempotency_key: str | None = None

    @property
    def company(self) -> str:
        return self.actor.company

    def with_metadata(self, **extra: Any) -> dict[str, Any]:
        """The event metadata plus what this command adds (forced, status reason, ...)."""
        return {**self.metadata, **extra}
