"""Events of the log: versioned pydantic models, named in the past tense.

A task's state is the fold of its events (`commands.evolve`). `TaskCreated` carries the initial document; every
other task event is a `TaskChanged`: the fields it sets (dotted paths, values in document form) and unsets, plus
what the call meant (`status`, `force`, `queue`, ...). Recording the resulting fields keeps replay deterministic:
rebuilding never re-runs a decision against a clock or another stream.

Old events stay readable (G12): each type has a `schema_version`; `upcast` lifts stored data of an older version
to the current model before it is parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# `Event` lives in `event_base` so that the modules of other streams' events subclass it without importing this one
# (which imports them, to register every type); everything else imports it from here.
from taskstream.schemas.event_base import Event as Event
from taskstream.schemas.model_events import MODEL_EVENTS
from taskstream.schemas.queue_events import QUEUE_EVENTS


class TaskCreated(Event):
    """A task came to be: `task` is its whole first document (cloned tasks too, with `cloned_from`)."""

    task: dict[str, Any]
    cloned_from: str | None = None


class TaskChanged(Event):
    """Fields written by a call. `quiet` paths are written but not echoed in the response's `fields`."""

    set: dict[str, Any] = {}
    unset: list[str] = []
    quiet: list[str] = []


class TaskEdited(TaskChanged):
    force: bool = False


class TaskUpdated(TaskChanged):
    pass


class TaskStatusChanged(TaskChanged):
    """Base of the status calls: the status before and after, and whether the transition table was bypassed."""

    status: str
    previous_status: str
    force: bool = False


class TaskStarted(TaskStatusChanged):
    pass


class TaskStopped(TaskStatusChanged):
    pass


class TaskStopRequested(TaskStatusChanged):
    """`tasks.stop` of a task run by a live worker: status unchanged, `status_message = "stopping"`."""


class TaskMarkedStopped(TaskStatusChanged):
    pass


class TaskFailed(TaskStatusChanged):
    pass


class TaskClosed(TaskStatusChanged):
    pass


class TaskCompleted(TaskStatusChanged):
    pass


class TaskPublished(TaskStatusChanged):
    pass


class TaskReset(TaskStatusChanged):
    cleared_all: bool = False


class TaskEnqueued(TaskStatusChanged):
    queue: str


class TaskDequeued(TaskStatusChanged):
    queue: str | None = None


class TaskStoppedNonResponsive(TaskStatusChanged):
    """The watchdog stopped an `in_progress` task that had not reported for too long."""


class TaskPinged(TaskChanged):
    pass


class TaskArchived(TaskChanged):
    dequeued: bool = False


class TaskUnarchived(TaskChanged):
    pass


class TaskMoved(TaskChanged):
    project: str


class TaskMadePublic(TaskChanged):
    pass


class TaskMadePrivate(TaskChanged):
    pass


class RequirementsSet(TaskChanged):
    pass


class HyperParamsEdited(TaskChanged):
    pass


class HyperParamsDeleted(TaskChanged):
    pass


class ConfigurationEdited(TaskChanged):
    pass


class ConfigurationDeleted(TaskChanged):
    pass


class ArtifactsUpdated(TaskChanged):
    pass


class ArtifactsDeleted(TaskChanged):
    pass


class ModelsEdited(TaskChanged):
    pass


class MetricsReported(TaskChanged):
    """One `events.add_batch` call: the task's `last_metrics`/`last_iteration` after the batch."""


class WorkerReported(TaskChanged):
    worker: str


class ParentDeleted(TaskChanged):
    """The task's parent was deleted: `parent` now reads `__DELETED__<id>`."""


class TaskDeleted(Event):
    force: bool = False


class ProjectCreated(Event):
    """A project came to be; nested names create their missing parents as projects of their own."""

    project: dict[str, Any]


TASK_EVENTS: tuple[type[Event], ...] = (
    TaskCreated, TaskEdited, TaskUpdated, TaskStarted, TaskStopped, TaskStopRequested, TaskMarkedStopped,
    TaskFailed, TaskClosed, TaskCompleted, TaskPublished, TaskReset, TaskEnqueued, TaskDequeued,
    TaskStoppedNonResponsive, TaskPinged, TaskArchived, TaskUnarchived, TaskMoved, TaskMadePublic,
    TaskMadePrivate, RequirementsSet, HyperParamsEdited, HyperParamsDeleted, ConfigurationEdited,
    ConfigurationDeleted, ArtifactsUpdated, ArtifactsDeleted, ModelsEdited, MetricsReported, WorkerReported,
    ParentDeleted, TaskDeleted, ProjectCreated,
)

# Every event type of the log, complete on this module's import: task and project streams' events above, queue
# streams' in `queue_events`, model streams' in `model_events` (telemetry is not in the log: it becomes
# `MetricsReported`; workers write `WorkerReported` to their task's stream).
REGISTRY: dict[str, type[Event]] = {cls.type_name(): cls for cls in TASK_EVENTS + QUEUE_EVENTS + MODEL_EVENTS}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# (event type, stored schema version) -> function lifting the data one version up.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcast(type_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    cls = REGISTRY[type_name]
    while schema_version < cls.schema_version:
        data = UPCASTERS[(type_name, schema_version)](data)
        schema_version += 1
    return data


def load_event(type_name: str, schema_version: int, data: dict[str, Any]) -> Event:
    """A stored event as its current model; raises KeyError for a type this code does not know."""
    return REGISTRY[type_name].model_validate(upcast(type_name, schema_version, data))
