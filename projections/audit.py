"""The audit trail: for every task event, when, who (company, user), through which call, `force`, the status
reason and message, and the fields before and after the change.

A subscriber behind the log (never inline: a command does not wait for it). It keeps its own copy of each task
(`audit_task_state`) to know the values before a change; that copy carries the stream version, so an event at or
below it (redelivery, or events a replay already covered) has no second effect. Replay rebuilds both tables with
`audit_entry`, the same function the live subscriber uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from taskstream.commands.evolve import evolve
from taskstream.commands.store import RecordedEvent
from taskstream.projections.kafka_codec import family_of
from taskstream.schemas import json_codec
from taskstream.schemas.clock import iso
from taskstream.schemas.events import Event, MetricsReported, TaskChanged, TaskCreated, TaskDeleted

AUDIT_COLUMNS = ("task_id", "version", "event_id", "position", "company", "time", "user_id", "endpoint",
                 "event_type", "force", "status_reason", "status_message", "before", "after")
STATE_COLUMNS = ("task_id", "company", "version", "doc")


def _json(value: Any) -> str | None:
    return None if value is None else json_codec.dumps_text(value)


def _get(doc: dict[str, Any] | None, path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _changes(event: Event, before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[Any, Any]:
    """(before, after) of the fields the event wrote: whole documents for creation and deletion."""
    if isinstance(event, TaskCreated):
        return None, after
    if isinstance(event, TaskDeleted):
        return before, None
    if isinstance(event, TaskChanged):
        paths = [*event.set, *event.unset]
        return {p: _get(before, p) for p in paths}, {p: _get(after, p) for p in paths}
    return None, None


_METRICS = MetricsReported.type_name()


def _event(record: RecordedEvent) -> Event:
    """The event of a log record.

    Why a path of its own for `MetricsReported`: a training run writes one per reported batch and task, thousands
    of them, and the audit followed each through the event model's validation; its stored data is already what the
    model holds (written by this code's model, no upcaster), so it is taken as it is (the row is the same)."""
    if record.type == _METRICS and record.schema_version == MetricsReported.schema_version:
        return MetricsReported.model_construct(**record.data)
    return record.event()


def audit_entry(record: RecordedEvent, before: dict[str, Any] | None) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    """The audit row of one task event (in AUDIT_COLUMNS order) and the task's document after it."""
    event = _event(record)
    after = evolve(before, event)
    changed_before, changed_after = _changes(event, before, after)
    meta = record.metadata
    written = event.set if isinstance(event, TaskChanged) else {}
    company = (after or before or {}).get("company", meta.get("company", ""))
    row = (
        record.stream_id, record.version, record.event_id, record.position, company, record.recorded,
        meta.get("user"), meta.get("endpoint"), record.type,
        bool(getattr(event, "force", False) or meta.get("forced", False)),
        written.get("status_reason", meta.get("status_reason") or None),
        written.get("status_message", meta.get("status_message") or None),
        _json(changed_before),
        _json(changed_after),
    )
    return row, after


class AuditTrail:
    """The audit subscriber, writing `table` and its task copies in `state_table` (replay passes shadows)."""

    name = "audit"

    def __init__(self, table: str = "task_audit", state_table: str = "audit_task_state") -> None:
        self.table = table
        self.state_table = state_table
        self._insert = (f"INSERT INTO {table} ({', '.join(AUDIT_COLUMNS)}) VALUES "
                        f"({', '.join(f'${i}' for i in range(1, len(AUDIT_COLUMNS) + 1))}) "
                        "ON CONFLICT (event_id) DO NOTHING")

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """Record one event; events of other families and versions already recorded change nothing."""
        if family_of(event.type) != "tasks":
            return
        state = await conn.fetchrow(
            f"SELECT version, doc FROM {self.state_table} WHERE task_id = $1", event.stream_id)
        if state is not None and event.version <= state["version"]:
            return
        before = json_codec.loads(state["doc"]) if state is not None and state["doc"] is not None else None
        row, after = audit_entry(event, before)
        await conn.execute(self._insert, *row)
        await conn.execute(
            f"""INSERT INTO {self.state_table} (task_id, company, version, doc) VALUES ($1, $2, $3, $4)
            ON CONFLICT (task_id) DO UPDATE SET company = EXCLUDED.company, version = EXCLUDED.version,
                doc = EXCLUDED.doc""",
            event.stream_id, row[4], event.version, _json(after))


    async def handle_batch(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """`handle` for a batch in log order, in three round trips whatever its size: the states of its tasks
        read at once, the entries computed in order (each from the state the previous one left), the entries and
        the final states written at once. Same rows as `handle` event by event."""
        events = [e for e in events if family_of(e.type) == "tasks"]
        if not events:
            return
        rows = await conn.fetch(f"SELECT task_id, version, doc FROM {self.state_table} WHERE task_id = ANY($1)",
                                list({e.stream_id for e in events}))
        states: dict[str, tuple[int, dict[str, Any] | None]] = {
            r["task_id"]: (r["version"], None if r["doc"] is None else json_codec.loads(r["doc"])) for r in rows}
        entries, touched = [], {}
        for event in events:
            version, before = states.get(event.stream_id, (0, None))
            if event.stream_id in states and event.version <= version:
                continue
            row, after = audit_entry(event, before)
            entries.append(row)
            states[event.stream_id] = (event.version, after)
            touched[event.stream_id] = row[4]
        if not entries:
            return
        await conn.executemany(self._insert, entries)
        await conn.executemany(
            f"""INSERT INTO {self.state_table} (task_id, company, version, doc) VALUES ($1, $2, $3, $4)
            ON CONFLICT (task_id) DO UPDATE SET company = EXCLUDED.company, version = EXCLUDED.version,
                doc = EXCLUDED.doc""",
            [(task, company, states[task][0], _json(states[task][1]))
             for task, company in touched.items()])


def history_entry(row: asyncpg.Record) -> dict[str, Any]:
    """One `task_audit` row as `tasks.get_history` answers it."""
    time: datetime = row["time"]
    return {
        "version": row["version"], "time": iso(time), "event": row["event_type"], "event_id": str(row["event_id"]),
        "company": row["company"], "user": row["user_id"], "endpoint": row["endpoint"], "force": row["force"],
        "status_reason": row["status_reason"], "status_message": row["status_message"],
        "before": None if row["before"] is None else json_codec.loads(row["before"]),
        "after": None if row["after"] is None else json_codec.loads(row["after"]),
    }


async def task_history(conn: asyncpg.Connection | asyncpg.Pool, task_id: str, companies: list[str] | None,
                       newest_first: bool = False) -> list[dict[str, Any]] | None:
    """The audit entries of a task in version order, or None unless the task's company is one of `companies`
    (None: any company, for the operator's command line).

    Tenancy follows the task's latest company (a public task's whole history is readable by everyone).
    """
    company = await conn.fetchval("SELECT company FROM audit_task_state WHERE task_id = $1", task_id)
    if company is None or (companies is not None and company not in companies):
        return None
    rows = await conn.fetch(
        f"SELECT * FROM task_audit WHERE task_id = $1 ORDER BY version {'DESC' if newest_first else 'ASC'}",
        task_id)
    return [history_entry(r) for r in rows]
