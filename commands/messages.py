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
