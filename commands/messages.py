"""Commands: what a caller asks for, in the imperative. Small frozen data classes built by the api layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CreateTask:
    fields: dict[str, Any]


@dataclass(frozen=True)
class EditTask:
    task: str
    fields: dict[str, Any]
    force: bool = False


@dataclass(frozen=True)
class UpdateTask:
    task: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class ChangeStatus:
    """One of the status calls: started, stop, stopped, failed, close, completed, publish."""

    call: str
    task: str
    force: bool = False
    status_reason: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class ResetTask:
    task: str
    force: bool = False
    clear_all: bool = False
    return_file_urls: bool = False
    echo_artifacts: bool = False  # reset_many's answer echoes `execution.artifacts` (reset's does not)
    delete_output_models: bool = True


@dataclass(frozen=True)
class DeleteTask:
    task: str
    force: bool = False
    status_reason: str | None = None
    status_message: str | None = None
    return_file_urls: bool = False
    delete_output_models: bool = True


@dataclass(frozen=True)
class PingTask:
    task: str


@dataclass(frozen=True)
class ArchiveTask:
    """Dequeue the task if it is queued, then tag it `archived`."""

    task: str
    status_reason: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class UnarchiveTask:
    task: str
    status_reason: str | None = None
    status_message: str | None = None


@dataclass(frozen=True)
class ChooseQueue:
    """The queue an enqueue goes to: by id, by name (created if missing), or the company's default queue."""

    queue: Any = None
    queue_name: Any = None


@dataclass(frozen=True)
class AddQueueEntry:
    queue: str
    task: str


@dataclass(frozen=True)
class RemoveQueueEntry:
    queue: str
    task: str


@dataclass(frozen=True)
class MoveQueueEntry:
    """Move the task's entry to the front (runs next) or the back of its queue (the web UI's reorder)."""

    queue: str
    task: str
    to_front: bool


@dataclass(frozen=True)
class ClaimTask:
    """Take an entry out of the queue for a worker: the head entry (`queues.get_next_task`), or exactly the entry
    of `task` at `position` (a queue consumer's claim of an entry it was told about)."""

    queue: str
    task: str | None = None
    position: int | None = None
    task_info: bool = False


@dataclass(frozen=True)
class DeleteQueue:
    queue: str
    force: bool = False


@dataclass(frozen=True)
class CreateProject:
    name: Any
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetVisibility:
    """make_public (`public=True`) or make_private of several tasks, all or nothing."""

    tasks: list[str]
    public: bool


@dataclass(frozen=True)
class MoveTasks:
    """Move tasks to `project` (the caller's) or to the project named `project_name` (created if missing)."""

    tasks: list[str]
    project: Any = None
    project_name: Any = None


@dataclass(frozen=True)
class UpdateTasks:
    """update_batch: the fields to update per task id, all or nothing."""

    items: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class WorkerReport:
    """One register or status report call of a worker."""

    company: str
    worker: str
    user: str
    now: datetime
    queues: list[str] | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    timeout_sec: int | None = None
    task: str | None = None
    queue: str | None = None
    status_report: bool = False


@dataclass(frozen=True)
class CloneTask:
    task: str
    name: str | None = None
    comment: str | None = None
    tags: list[str] | None = None
    system_tags: list[str] | None = None
    parent: str | None = None
    project: str | None = None
    hyperparams: dict[str, Any] | None = None
    configuration: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    input_models: list[dict[str, Any]] | None = None
    execution_overrides: dict[str, Any] = field(default_factory=dict)
    validate_references: bool = False
    new_project_name: str | None = None



@dataclass(frozen=True)
class AddOrUpdateArtifacts:
    task: str
    artifacts: list[dict[str, Any]]



@dataclass(frozen=True)
class DeleteArtifacts:
    task: str
    artifacts: list[dict[str, Any]]



@dataclass(frozen=True)
class AddOrUpdateModel:
    task: str
    name: str
    model: str
    type: str
    iteration: int | None = None



@dataclass(frozen=True)
class DeleteModels:
    task: str
    models: list[dict[str, Any]]



@dataclass(frozen=True)
class SetRequirements:
    task: str
    requirements: dict[str, Any]



@dataclass(frozen=True)
class CreateModel:
    fields: dict[str, Any]
    public: bool = False



@dataclass(frozen=True)
class ChangeModel:
    """`models.edit` (`fields` of WRITABLE) or `models.update` (of USER_SETTABLE)."""

    model: str
    fields: dict[str, Any]
    kind: str = "edit"



@dataclass(frozen=True)
class EditMetadata:
    model: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    replace: bool = False
    delete_keys: tuple[str, ...] = ()



@dataclass(frozen=True)
class DeleteModel:
    model: str
    force: bool = False



@dataclass(frozen=True)
class EditHyperParams:
    task: str
    items: list[dict[str, Any]]
    replace: str = "none"
    force: bool = False



@dataclass(frozen=True)
class DeleteHyperParams:
    task: str
    items: list[dict[str, Any]]
    force: bool = False



@dataclass(frozen=True)
class EditConfiguration:
    task: str
    items: list[dict[str, Any]]
    replace: bool = False
    force: bool = False



@dataclass(frozen=True)
class DeleteConfiguration:
    task: str
    names: list[str]
    force: bool = False



@dataclass(frozen=True)
class CreateQueue:
    name: Any
    tags: Any = None
    system_tags: Any = None
    metadata: Any = None



@dataclass(frozen=True)
class EnqueueTask:
    task: str
    force: bool = False
    status_reason: str | None = None
    status_message: str | None = None



@dataclass(frozen=True)
class DequeueTask:
    task: str
    status_reason: str | None = None
    status_message: str | None = None
