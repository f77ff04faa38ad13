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

from taskstream.commands.evolve import evolve, set_path, unset_path
from taskstream.commands.session import StateStore
from taskstream.commands.store import RowShape, StreamRow, recorded_from_text
from taskstream.projections.audit import AUDIT_COLUMNS, STATE_COLUMNS, AuditTrail, audit_entry
from taskstream.projections.model_read_model import ModelReadModel
from taskstream.projections.project_read_model import ProjectReadModel
from taskstream.projections.queue_read_model import QueueReadModel
from taskstream.projections.task_read_model import _COLUMNS as TASK_COLUMNS
from taskstream.projections.task_read_model import TaskReadModel, row_values
from taskstream.schemas import json_codec
from taskstream.schemas.events import REGISTRY, Event, TaskChanged, TaskCreated, upcast

Rows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class ReadModel:
    """A rebuildable read model: its live tables (main first), its event families, its projector on any tables."""

    name: str
    tables: tuple[str, ...]
    families: tuple[str, ...]
    projector: Callable[..., StateStore | AuditTrail]
    checkpoint: str | None = None  # the subscriber whose checkpoint must follow a swap


READ_MODELS: dict[str, ReadModel] = {
    "tasks": ReadModel("tasks", ("tasks",), ("tasks",), TaskReadModel),
    "projects": ReadModel("projects", ("projects",), ("projects",), ProjectReadModel),
    "queues": ReadModel("queues", ("queues", "queue_entries"), ("queues",), QueueReadModel),
    "models": ReadModel("models", ("models",), ("models",), ModelReadModel),
    "audit": ReadModel("audit", ("task_audit", "audit_task_state"), ("tasks",), AuditTrail, checkpoint="audit"),
}

# type name -> (kind, current schema version); filled on first sight of each type.
_KINDS: dict[str, tuple[int, int]] = {}
_CHANGED, _CREATED, _OTHER = 0, 1, 2
_NONE: dict[str, Any] = {}


def _kind(type_name: str) -> tuple[int, int]:
    known = _KINDS.get(type_name)
    if known is None:
        cls = REGISTRY[type_name]
        kind = _CHANGED if issubclass(cls, TaskChanged) else _CREATED if issubclass(cls, TaskCreated) else _OTHER
        known = _KINDS[type_name] = (kind, cls.schema_version)
    return known


# dotted path -> (parent keys, leaf): a log repeats the same few paths.
_PATHS: dict[str, tuple[list[str], str]] = {}


def _set_owned(doc: dict[str, Any], path: str, value: Any) -> None:
    """`set_path` without its copy: `value` was parsed for this fold alone, so nothing else can alias it."""
    split = _PATHS.get(path)
    if split is None:
        *keys, last = path.split(".")
        split = (keys, last)
        if len(_PATHS) < 10_000:  # bounded: paths built from client-given names could be endless
            _PATHS[path] = split
    parents, leaf = split
    node = doc
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[leaf] = value


def _change_owned(doc: dict[str, Any], data: dict[str, Any]) -> None:
    """A `TaskChanged`'s set/unset applied to `doc` in place, its freshly parsed values moved in uncopied."""
    for path, value in data.get("set", _NONE).items():
        if "." in path:
            _set_owned(doc, path, value)
        else:
            doc[path] = value
    for path in data.get("unset", ()):
        unset_path(doc, path)


def fold_task(doc: dict[str, Any] | None, type_name: str, schema_version: int, data: dict[str, Any]
              ) -> dict[str, Any] | None:
    """The task document after one event; mutates `doc` (owned by the fold) for the common `TaskChanged`.
    `data` must be freshly parsed for this call: its values move into the document uncopied."""
    kind, current = _KINDS.get(type_name) or _kind(type_name)
    owned = schema_version >= current
    if kind == _CHANGED and doc is not None:
        if owned:
            _change_owned(doc, data)
            return doc
        # An upcaster may share objects between events: copy its output as evolve would.
        data = upcast(type_name, schema_version, data)
        for path, value in data.get("set", {}).items():
            set_path(doc, path, value)
        for path in data.get("unset", ()):
            unset_path(doc, path)
        return doc
    if kind == _CREATED and owned:
        task: dict[str, Any] = data["task"]  # `TaskCreated.task`: a JSON object
        return task
    return evolve(doc, REGISTRY[type_name].model_validate(upcast(type_name, schema_version, data)))


def _dumps(doc: dict[str, Any]) -> str:
    """JSON text of a document, exact for integers beyond 64 bits (`schemas.json_codec`)."""
    return json_codec.dumps_text(doc)


class _StreamFolder:
    """Folds batches of (stream_id, version, ...) rows in (stream_id, version) order, one stream at a time."""

    shape: RowShape = "full"
    copy_columns: dict[str, tuple[str, ...]]

    def __init__(self) -> None:
        self.stream: str | None = None
        self.version = 0

    def feed(self, batch: list[Any], rows: Rows) -> None:
        """Fold `batch`, appending the rows of every stream that ended in it to `rows`."""
        for row in batch:
            if row["stream_id"] != self.stream:
                if self.stream is not None:
                    self.end(self.stream, self.version, rows)
                self.stream = row["stream_id"]
            self.add(row)
            self.version = row["version"]

    def finish(self, rows: Rows) -> None:
        """End the last stream (after the last batch)."""
        if self.stream is not None:
            self.end(self.stream, self.version, rows)
        self.stream = None

    def add(self, row: Any) -> None:
        raise NotImplementedError

    def end(self, stream_id: str, version: int, rows: Rows) -> None:
        raise NotImplementedError


class TaskFolder:
    """Task rows for COPY from stream rows (`LogSnapshot.streams`): the fast fold, one row per live task."""

    def __init__(self, tables: tuple[str, ...]) -> None:
        self.table = tables[0]
        self.copy_columns = {tables[0]: TASK_COLUMNS}
        self.stream: str | None = None
        self.version = 0
        self.doc: dict[str, Any] | None = None

    def fold_streams(self, streams: list[StreamRow], out: list[tuple[Any, ...]]) -> int:
        """Fold stream rows (a stream's events as one JSON array; a long stream over several consecutive rows),
        appending the row of every task whose stream ended to `out`; returns the events folded. The hot loop of
        replay: state in locals, `fold_task`'s common case inline."""
        stream, version, doc, loads, count = self.stream, self.version, self.doc, json_codec.loads, 0
        for stream_id, last_version, events in streams:
            if stream_id != stream:
                if doc is not None:
                    out.append(row_values(stream, version, doc, dumps=_dumps))  # type: ignore[arg-type]
                stream, doc = stream_id, None
            decoded = loads(events)  # each event's data parsed apart: fold_task may move its values into `doc`
            count += len(decoded)
            for type_name, schema_version, data in decoded:
                kind, current = _KINDS.get(type_name) or _kind(type_name)
                if kind == _CHANGED and doc is not None and schema_version >= current:
                    _change_owned(doc, data)
                else:
                    doc = fold_task(doc, type_name, schema_version, data)
            version = last_version
        self.stream, self.version, self.doc = stream, version, doc
        return count

    def finish(self, out: list[tuple[Any, ...]]) -> None:
        """The row of the last task (after the last stream row)."""
        if self.stream is not None and self.doc is not None:
            out.append(row_values(self.stream, self.version, self.doc, dumps=_dumps))
        self.stream, self.doc = None, None


class AuditFolder(_StreamFolder):
    """Audit rows for COPY: one per event, and the audit's copy of each task."""

    def __init__(self, tables: tuple[str, ...]) -> None:
        super().__init__()
        self.tables = tables
        self.copy_columns = {tables[0]: AUDIT_COLUMNS, tables[1]: STATE_COLUMNS}
        self.doc: dict[str, Any] | None = None
        self.company = ""
        self.pending: list[tuple[Any, ...]] = []

    def add(self, row: Any) -> None:
        entry, self.doc = audit_entry(recorded_from_text(row), self.doc)
        self.company = entry[4]
        self.pending.append(entry)

    def end(self, stream_id: str, version: int, rows: Rows) -> None:
        rows.setdefault(self.tables[0], []).extend(self.pending)
        rows.setdefault(self.tables[1], []).append(
            (stream_id, self.company, version, None if self.doc is None else json.dumps(self.doc)))
        self.doc, self.company, self.pending = None, "", []


class ProjectorFolder(_StreamFolder):
    """Any inline projector (projects, queues): fold with evolve; `drain` has the projector write the rows of the
    streams that ended (at most one batch of them in memory)."""

    shape: RowShape = "fold"
    copy_columns: dict[str, tuple[str, ...]] = {}

    def __init__(self, projector: StateStore) -> None:
        super().__init__()
        self.projector = projector
        self.doc: dict[str, Any] | None = None
        self.events: list[Event] = []
        self.ended: list[tuple[str, int, dict[str, Any] | None, list[Event]]] = []

    def add(self, row: Any) -> None:
        cls = REGISTRY[row["type"]]
        data = upcast(row["type"], row["schema_version"], json_codec.loads(row["data"]))
        event = cls.model_validate(data)
        self.doc = evolve(self.doc, event)
        self.events.append(event)

    def end(self, stream_id: str, version: int, rows: Rows) -> None:
        self.ended.append((stream_id, version, self.doc, self.events))
        self.doc, self.events = None, []

    async def drain(self, conn: Any) -> None:
        """Write the ended streams' rows through the projector."""
        for stream_id, version, doc, events in self.ended:
            await self.projector.project(conn, stream_id, version, doc)
            # `project_events`: the second half of an inline projector (see CommandSession.save). A stream that
            # ended (deleted queue) has no rows left; its entry events must not write any.
            if doc is not None:
                await self.projector.project_events(conn, stream_id, 0, events)
        self.ended.clear()
