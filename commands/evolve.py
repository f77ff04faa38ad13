"""`evolve(state, event) -> state`: how a task's (queue's, project's, model's) document follows from its events.
Pure: no I/O, no clock."""

from __future__ import annotations

import copy
from typing import Any

from taskstream.schemas.events import Event, ProjectCreated, TaskChanged, TaskCreated, TaskDeleted
from taskstream.schemas.model_events import ModelChanged, ModelCreated, ModelDeleted
from taskstream.schemas.queue_events import QueueCreated, QueueDeleted, QueueEntryChanged

_IMMUTABLE = (str, int, float, bool, type(None))


def copy_value(value: Any) -> Any:
    """A deep copy of a document value: JSON objects and arrays copied, scalars shared.

    Why not `copy.deepcopy` alone: its memo bookkeeping made it the largest cost of folding a telemetry batch's
    events (`MetricsReported` sets a handful of small objects on each of a batch's tasks); anything that is not
    JSON still goes through it."""
    if isinstance(value, dict):
        return {key: copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_value(item) for item in value]
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)


def set_path(doc: dict[str, Any], path: str, value: Any, fresh: set[int] | None = None) -> None:
    """Set a dotted path, creating the objects on the way.

    With `fresh` (the ids of the objects this change created or copied), every object on the way that is not
    among them is copied first and the copy put in its place: the document shares its unchanged parts with the
    one it was made from, and that one is never changed (see `apply_changes`)."""
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
            if fresh is not None:
                fresh.add(id(child))
        elif fresh is not None and id(child) not in fresh:
            child = node[key] = dict(child)
            fresh.add(id(child))
        node = child
    node[leaf] = copy_value(value)


def unset_path(doc: dict[str, Any], path: str, fresh: set[int] | None = None) -> None:
    """Remove a dotted path if it is there (copying the objects on the way as `set_path` does with `fresh`)."""
    *parents, leaf = path.split(".")
    node: Any = doc
    for key in parents:
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            return
        if fresh is not None and id(child) not in fresh:
            child = node[key] = dict(child)
            fresh.add(id(child))
        node = child
    if isinstance(node, dict):
        node.pop(leaf, None)


def apply_changes(doc: dict[str, Any], changes: TaskChanged | ModelChanged) -> dict[str, Any]:
    """A new document with the changes applied; `doc` is left as it was.

    Why not a deep copy of the whole document: that was the largest cost of folding an event (a task document has
    dozens of nested objects). Only the objects on the changed paths are copied; the rest is shared with `doc`, so
    documents must be treated as immutable once folded (every caller builds new ones through here)."""
    new = dict(doc)
    fresh = {id(new)}
    for path, value in changes.set.items():
        set_path(new, path, value, fresh)
    for path in changes.unset:
        unset_path(new, path, fresh)
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
