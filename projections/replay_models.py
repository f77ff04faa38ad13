"""What replay rebuilds: each read model's tables and events, and how its rows follow from a stream's events.

Every read model here is a function of each stream on its own (a task row of the task's events, a queue's rows of
the queue's events, the audit rows of the task's events), so replay folds the log stream by stream, in
(stream_id, version) order: one stream in memory at a time, whatever the size of the log.

Folding uses `commands.evolve`; for the task read model the hot path applies a `TaskChanged`'s set/unset with
evolve's own `set_path`/`unset_path` to a document only the fold holds (what `apply_changes` does, without copying
the whole document per event), so 10^6 events fold in seconds. The live-equals-rebuilt tests (G6) hold it to that.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from commands.evolve import evolve, set_path, unset_path
from commands.session import StateStore
from commands.store import RecordedEvent
from projections.audit import AUDIT_COLUMNS, STATE_COLUMNS, AuditTrail, audit_entry
from projections.project_read_model import ProjectReadModel
from projections.queue_read_model import QueueReadModel
from projections.task_read_model import _COLUMNS as TASK_COLUMNS
from projections.task_read_model import TaskReadModel, row_values
from schemas.events import REGISTRY, Event, TaskChanged, TaskCreated, upcast

Rows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class ReadModel:
    """A rebuildable read model: its live tables (main first), its event families, its projector on any tables."""

    name: str
    tables: tuple[str, ...]
    families: tuple[str, ...]
    projector: Callable[..., Any]
    checkpoint: str | None = None  # the subscriber whose checkpoint must follow a swap


READ_MODELS: dict[str, ReadModel] = {
    "tasks": ReadModel("tasks", ("tasks",), ("tasks",), TaskReadModel),
    "projects": ReadModel("projects", ("projects",), ("projects",), ProjectReadModel),
    "queues": ReadModel("queues", ("queues", "queue_entries"), ("queues",), QueueReadModel),
    "audit": ReadModel("audit", ("task_audit", "audit_task_state"), ("tasks",), AuditTrail, checkpoint="audit"),
}

FULL_COLUMNS = "position, txid::text::bigint AS txid, stream_id, version, event_id, type, schema_version, " \
    "data::text AS data, metadata::text AS metadata, recorded"


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        position=row["position"], txid=row["txid"], stream_id=row["stream_id"], version=row["version"],
        event_id=row["event_id"], type=row["type"], schema_version=row["schema_version"],
        data=orjson.loads(row["data"]), metadata=orjson.loads(row["metadata"]), recorded=row["recorded"])


def fold_task(doc: dict[str, Any] | None, type_name: str, schema_version: int, data: dict[str, Any]
              ) -> dict[str, Any] | None:
    """The task document after one event; mutates `doc` (owned by the fold) for the common `TaskChanged`."""
    cls = REGISTRY[type_name]
    if schema_version < cls.schema_version:
        data = upcast(type_name, schema_version, data)
    if issubclass(cls, TaskChanged) and doc is not None:
        for path, value in data.get("set", {}).items():
            if "." in path or isinstance(value, dict | list):
                set_path(doc, path, value)
            else:  # set_path without its copy: a top-level scalar freshly parsed for this fold alone
                doc[path] = value
        for path in data.get("unset", []):
            unset_path(doc, path)
        return doc
    if issubclass(cls, TaskCreated):
        return data["task"]
    return evolve(doc, cls.model_validate(data))


class TaskFolder:
    """Task rows for COPY: the fast fold, one row per live task."""

    columns = "stream_id, version, type, schema_version, data::text AS data"

    def __init__(self, tables: tuple[str, ...]) -> None:
        self.tables = tables
        self.copy_columns = {tables[0]: TASK_COLUMNS}
        self.doc: dict[str, Any] | None = None

    def add(self, row: Any) -> None:
        self.doc = fold_task(self.doc, row["type"], row["schema_version"], orjson.loads(row["data"]))

    def end(self, stream_id: str, version: int, rows: Rows) -> None:
        if self.doc is not None:
            rows.setdefault(self.tables[0], []).append(row_values(stream_id, version, self.doc))
        self.doc = None


class AuditFolder:
    """Audit rows for COPY: one per event, and the audit's copy of each task."""

    columns = FULL_COLUMNS

    def __init__(self, tables: tuple[str, ...]) -> None:
        self.tables = tables
        self.copy_columns = {tables[0]: AUDIT_COLUMNS, tables[1]: STATE_COLUMNS}
        self.doc: dict[str, Any] | None = None
        self.company = ""
        self.pending: list[tuple[Any, ...]] = []

    def add(self, row: Any) -> None:
        entry, self.doc = audit_entry(_recorded(row), self.doc)
        self.company = entry[4]
        self.pending.append(entry)

    def end(self, stream_id: str, version: int, rows: Rows) -> None:
        rows.setdefault(self.tables[0], []).extend(self.pending)
        rows.setdefault(self.tables[1], []).append(
            (stream_id, self.company, version, None if self.doc is None else json.dumps(self.doc)))
        self.doc, self.company, self.pending = None, "", []


class ProjectorFolder:
    """Any inline projector (projects, queues): fold with evolve, then the projector writes the stream's rows."""

    columns = "stream_id, version, type, schema_version, data::text AS data"

    def __init__(self, projector: StateStore) -> None:
        self.projector = projector
        self.doc: dict[str, Any] | None = None
        self.events: list[Event] = []

    def add(self, row: Any) -> None:
        cls = REGISTRY[row["type"]]
        data = upcast(row["type"], row["schema_version"], orjson.loads(row["data"]))
        event = cls.model_validate(data)
        self.doc = evolve(self.doc, event)
        self.events.append(event)

    async def write(self, conn: Any, stream_id: str, version: int) -> None:
        await self.projector.project(conn, stream_id, version, self.doc)
        # `project_events`: the optional second half of an inline projector (see CommandSession.save). A stream
        # that ended (deleted queue) has no rows left; its entry events must not write any.
        project_events = getattr(self.projector, "project_events", None)
        if self.doc is not None and project_events is not None:
            await project_events(conn, stream_id, 0, self.events)
        self.doc, self.events = None, []

