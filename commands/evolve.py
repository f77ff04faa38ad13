"""`evolve(state, event) -> state`: how a task's (queue's, project's, model's) document follows from its events.
Pure: no I/O, no clock."""

from __future__ import annotations

import copy
from typing import Any

from taskstream.schemas.events import Event, ProjectCreated, TaskChanged, TaskCreated, TaskDeleted
from taskstream.schemas.model_events import ModelChanged, ModelCreated, ModelDeleted
from taskstream.schemas.queue_events import QueueCreated, QueueDeleted, QueueEntryChanged


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, creating the objects on the way."""
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = copy.deepcopy(value)


def unset_path(doc: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = doc
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(leaf, None)


def apply_changes(doc: dict[str, Any], changes: TaskChanged | ModelChanged) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    for path, value in changes.set.items():
        set_path(new, path, value)
    for path in changes.unset:
        unset_path(new, path)
    return new


def evolve(state: dict[str, Any] | None, event: Event) -> dict[str, Any] | None:
    """The document after `event`; None once the task is deleted."""
    if isinstance(event, TaskCreated):
        return copy.deepcopy(event.task)
    if isinstance(event, ProjectCreated):
        return copy.deepcopy(event.project)
    if isinstance(event, ModelCreated):
        return copy.deepcopy(event.model)
    if isinstance(event, TaskDeleted | QueueDeleted | ModelDeleted):
        return None
    if isinstance(event, QueueCreated):
        return copy.deepcopy(event.queue)
    if isinstance(event, QueueEntryChanged):
        # A queue's entries are projected from these events, not kept in its document (see queue_events).
        if state is None:
            raise ValueError(f"{event.type_name()} on a queue stream with no state")
        return {**state, "last_update": event.at}
    if isinstance(event, TaskChanged | ModelChanged):
        if state is None:
            raise ValueError(f"{event.type_name()} on a stream with no state")
        return apply_changes(state, event)
    return state
