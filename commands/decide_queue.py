"""Pure decisions for queues and for the task side of enqueue, dequeue and archive (§5.18, §5.25–§5.28, §8).

Queue decisions take the queue's document plus the facts the handler read under the queue's lock (is the task in
the queue, the head entry, the number of entries); task decisions take the task's document. Each returns the
events to append or raises an `ApiError` (a rejection writes nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taskstream.commands.decide_status import status_change
from taskstream.commands.decide_task import writable
from taskstream.commands.messages import CreateQueue, DequeueTask, EnqueueTask
from taskstream.commands.task_document import check_name, check_tags
from taskstream.commands.transitions import check_transition
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, invalid_task_id
from taskstream.schemas.events import Event, TaskArchived, TaskDequeued, TaskEnqueued, TaskUnarchived
from taskstream.schemas.queue_events import QueueCreated, QueueDeleted, TaskQueued, TaskUnqueued

DEFAULT_TAG = "default"


def owned_queue(doc: dict[str, Any] | None, queue_id: str, company: str) -> dict[str, Any]:
    """The queue if it exists in the caller's company, else 400/701."""
    if doc is None or doc.get("company") != company:
        raise ApiError(400, 701, None, id=queue_id, company=company)
    return doc


def decide_create_queue(command: CreateQueue, existing: str | None, queue_id: str, company: str, user: str,
                        now: datetime) -> list[Event]:
    """A new queue; its name must be unique in the company (400/705) and at least 3 characters (400/800)."""
    name = check_name(command.name)
    if existing:
        raise ApiError(400, 705, None, name=name)
    stamp = iso(now)
    doc = {"id": queue_id, "company": company, "user": user, "name": name, "created": stamp,
           "last_update": stamp, "tags": check_tags(command.tags, "tags"),
           "system_tags": check_tags(command.system_tags, "system_tags"),
           "metadata": command.metadata if isinstance(command.metadata, dict) else {}}
    return [QueueCreated(queue=doc)]


def decide_add_entry(doc: dict[str, Any] | None, queue_id: str, company: str, task_id: str, present: bool,
                     version: int, now: datetime) -> list[Event]:
    """Append `{task, added}` at the end: 701 for an unknown queue, 706 if the task is already in it.

    `position` is the stream version the event is appended at, so it grows with every entry (FIFO).
    """
    owned_queue(doc, queue_id, company)
    if present:
        raise ApiError(400, 706, None, task=task_id)
    return [TaskQueued(task=task_id, at=iso(now), position=version + 1)]


def decide_remove_entry(doc: dict[str, Any] | None, queue_id: str, company: str, task_id: str, present: bool,
                        reason: str, now: datetime) -> list[Event]:
    """Take the task's entry out of the queue; nothing when it is not there (callers decide if that is an error)."""
    owned_queue(doc, queue_id, company)
    return [TaskUnqueued(task=task_id, at=iso(now), reason=reason)] if present else []


def decide_move_entry(doc: dict[str, Any] | None, queue_id: str, company: str, task_id: str, present: bool,
                      bounds: tuple[int, int] | None, to_front: bool, version: int, now: datetime) -> list[Event]:
    """Move the task's entry to the front or the back: its entry leaves (`moved`) and comes back at a position
    before the first or after the last, in one append, so the order stays a fact of the log (and a queue
    consumer sees the entry as new). 703 when the task is not in the queue."""
    owned_queue(doc, queue_id, company)
    if not present or bounds is None:
        raise ApiError(400, 703, None, task=task_id, id=queue_id, company=company)
    position = bounds[0] - 1 if to_front else max(bounds[1], version + 2)
    stamp = iso(now)
    return [TaskUnqueued(task=task_id, at=stamp, reason="moved"), TaskQueued(task=task_id, at=stamp, position=position)]


def decide_claim(doc: dict[str, Any] | None, queue_id: str, company: str, first: dict[str, str] | None,
                 now: datetime) -> list[Event]:
    """get_next_task: pop the head entry (nothing when the queue is empty). The task itself is not changed (§8)."""
    owned_queue(doc, queue_id, company)
    return [] if first is None else [TaskUnqueued(task=first["task"], at=iso(now), reason="claimed")]


def decide_delete_queue(doc: dict[str, Any] | None, queue_id: str, company: str, entries: int,
                        force: bool) -> list[Event]:
    owned_queue(doc, queue_id, company)
    if entries and not force:
        raise ApiError(400, 702, "use force=true to delete", id=queue_id)
    return [QueueDeleted(force=force)]


def decide_enqueue(doc: dict[str, Any] | None, command: EnqueueTask, queue_id: str, company: str,
                   now: datetime) -> list[Event]:
    """Status → queued (§5.25 step 5): the same status is refused (110) and, when forced, 706."""
    task = writable(doc, command.task, company)
    status = task["status"]
    check_transition(status, "queued", force=command.force, allow_same=False)
    if status == "queued":
        raise ApiError(400, 706, None, task=command.task)
    changes, quiet = status_change(task, "queued", command.status_reason, command.status_message, now)
    changes["enqueue_status"] = status
    changes["execution.queue"] = queue_id
    return [TaskEnqueued(set=changes, quiet=quiet, status="queued", previous_status=status, force=command.force,
                         queue=queue_id)]


def queue_of(doc: dict[str, Any] | None) -> str | None:
    """The queue a queued task waits in (`execution.queue`), None for any other task."""
    if doc is None or doc.get("status") != "queued":
        return None
    queue = (doc.get("execution") or {}).get("queue")
    return queue if isinstance(queue, str) and queue else None


def decide_dequeue(doc: dict[str, Any] | None, command: DequeueTask, company: str, now: datetime,
                   force: bool = False) -> list[Event]:
    """Back to `enqueue_status` (or created), transition checked unless forced (a deleted queue's tasks);
    `execution.queue` stays (§5.27)."""
    task = writable(doc, command.task, company)
    if task["status"] != "queued":
        raise invalid_task_id(status=task["status"], expected="queued")
    queue = queue_of(task)
    if queue is None:
        raise ApiError(400, 11, "task has no queue value", field="execution.queue")
    new_status = task.get("enqueue_status") or "created"
    check_transition("queued", new_status, force=force)
    changes, quiet = status_change(task, new_status, command.status_reason, command.status_message, now)
    return [TaskDequeued(set=changes, unset=["enqueue_status"], quiet=quiet, status=new_status,
                         previous_status="queued", force=force, queue=queue)]


def decide_archive(doc: dict[str, Any] | None, task_id: str, company: str, reason: str | None,
                   message: str | None, now: datetime) -> list[Event]:
    """Dequeue if queued (errors ignored), then add the `archived` system tag (§5.18); status otherwise kept."""
    task = writable(doc, task_id, company)
    events: list[Event] = []
    if task["status"] == "queued":
        try:
            events = decide_dequeue(task, DequeueTask(task_id, reason, message), company, now)
        except ApiError:
            events = []
    tags = list(task.get("system_tags") or [])
    changes = {"system_tags": tags if "archived" in tags else [*tags, "archived"],
               "status_message": message or "", "status_reason": reason or "", "last_change": iso(now)}
    return [*events, TaskArchived(set=changes, dequeued=bool(events))]


def decide_unarchive(doc: dict[str, Any] | None, task_id: str, company: str, reason: str | None,
                     message: str | None, now: datetime) -> list[Event]:
    task = writable(doc, task_id, company)
    changes = {"system_tags": [t for t in task.get("system_tags") or [] if t != "archived"],
               "status_message": message or "", "status_reason": reason or "", "last_change": iso(now)}
    return [TaskUnarchived(set=changes)]
