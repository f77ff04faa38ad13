"""The task read model: one row per task, the document plus the columns `get_all` filters and orders on.

`TaskReadModel` is the inline projector the command handlers are given: it loads a task's current state and
writes its new state in the command's transaction. Replay uses the same class on a shadow table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from taskstream.commands.handlers.context import Reader
from taskstream.commands.store import Statement
from taskstream.projections.stream_table import StreamTable
from taskstream.schemas import json_codec

_COLUMNS = ("id", "company", "version", "doc", "name", "user_id", "project", "parent", "type", "status",
            "comment", "tags", "system_tags", "created", "last_update", "last_change", "status_changed",
            "started", "last_iteration", "active_duration", "params")


# The columns a patch may write (`TaskReadModel.patch_statement_many`): column → (the top-level field it follows,
# its type). The array columns (tags) are not among them: a patch writing those is saved whole instead.
_PATCHABLE = {"name": ("name", "text"), "user_id": ("user", "text"), "project": ("project", "text"),
              "parent": ("parent", "text"), "type": ("type", "text"), "status": ("status", "text"),
              "comment": ("comment", "text"), "created": ("created", "timestamptz"),
              "last_update": ("last_update", "timestamptz"), "last_change": ("last_change", "timestamptz"),
              "status_changed": ("status_changed", "timestamptz"), "started": ("started", "timestamptz"),
              "last_iteration": ("last_iteration", "bigint"), "active_duration": ("active_duration", "integer"),
              "params": ("hyperparams", "jsonb")}

# A task of company $2: its own, or one it made public (public tasks have company '' and keep the origin).
_OWNED_BY_2 = "(company = $2 OR (company = '' AND doc->>'company_origin' = $2))"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# A hyper-parameter value that orders as a number (`task_query.ordering`): the reference's numeric look, with
# ASCII spaces only and an exponent of at most 3 digits (so the `numeric` cast of every such value succeeds).
# Migration 008's backfill uses the same pattern.
NUMBER = re.compile(r"[ \t\n\r\f\v]*-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]{1,3})?[ \t\n\r\f\v]*")


def params_of(doc: dict[str, Any]) -> list[dict[str, dict[str, Any]]] | None:
    """`params`: [{section: {name: value}}, {section: {name: true}} for the values that read as numbers] (None
    without any section), so that `params #>> {0, section, name}` equals `doc #>> {hyperparams, section, name,
    value}` (migration 008), and ordering need not test each value with a regular expression."""
    hyperparams = doc.get("hyperparams")
    if not isinstance(hyperparams, dict):
        return None
    values = {section: {name: item["value"] for name, item in items.items()
                        if isinstance(item, dict) and "value" in item}
              for section, items in hyperparams.items() if isinstance(items, dict)}
    if not values:
        return None
    numbers = {section: {name: True for name, value in items.items()
                         if isinstance(value, str) and NUMBER.fullmatch(value)}
               for section, items in values.items()}
    return [values, numbers]


def _json_or_none(value: Any, dumps: Callable[[Any], str]) -> str | None:
    return None if value is None else dumps(value)


def row_values(task_id: str, version: int, doc: dict[str, Any],
               dumps: Callable[[dict[str, Any]], str] = json_codec.dumps_text) -> tuple[Any, ...]:
    """The column values of a task document, in `_COLUMNS` order (`dumps`: the document's JSON encoder)."""
    return (
        task_id, doc.get("company", ""), version, dumps(doc), doc.get("name", ""), _text(doc.get("user")),
        _text(doc.get("project")), _text(doc.get("parent")), _text(doc.get("type")), doc.get("status", "created"),
        _text(doc.get("comment")), list(doc.get("tags") or []), list(doc.get("system_tags") or []),
        _time(doc.get("created")), _time(doc.get("last_update")), _time(doc.get("last_change")),
        _time(doc.get("status_changed")), _time(doc.get("started")), _int(doc.get("last_iteration")),
        _int(doc.get("active_duration")), _json_or_none(params_of(doc), dumps),
    )


class TaskReadModel(StreamTable):
    """Inline projector of task streams into `table` (default `tasks`)."""

    def __init__(self, table: str = "tasks") -> None:
        super().__init__(table)
        placeholders = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "id")
        self._upsert = (
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}"
        )
        self._upsert_many = (f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES {{values}} "
                             f"ON CONFLICT (id) DO UPDATE SET {updates}")
        self._update = (f"UPDATE {table} SET "
                        + ", ".join(f"{c} = ${i}" for i, c in enumerate(_COLUMNS, start=1) if c != "id")
                        + " WHERE id = $1")

    def projection_statement(self, stream_id: str, version: int, doc: dict[str, Any] | None,
                             stored: bool = False) -> Statement:
        """The read-model write as one statement (the same row as `project`'s), run together with the append.

        Why an UPDATE for a `stored` row: an upsert first tries the insert, and the row's BEFORE INSERT trigger
        computes its search vector for that attempt (migration 016) before the conflict turns it into an update;
        the UPDATE leaves the stored vector alone unless its inputs changed (~0.04 ms of PostgreSQL's CPU of about
        0.33 per task write, measured on 2·10^4 bench tasks)."""
        if doc is None:
            return f"DELETE FROM {self.table} WHERE id = $1", [stream_id]
        return self._update if stored else self._upsert, list(row_values(stream_id, version, doc))

    def projection_statement_many(self, rows: list[tuple[str, int, dict[str, Any] | None]]) -> Statement | None:
        """Several tasks' rows as one multi-row upsert (None when one of them was deleted: each is projected then)."""
        if any(doc is None for _, _, doc in rows):
            return None
        width = len(_COLUMNS)
        values = ", ".join("(" + ", ".join(f"${r * width + c}" for c in range(1, width + 1)) + ")"
                           for r in range(len(rows)))
        args = [value for stream_id, version, doc in rows for value in row_values(stream_id, version, doc or {})]
        return self._upsert_many.format(values=values), args

    def patch_statement_many(self, rows: list[tuple[str, int, dict[str, Any]]]) -> Statement | None:
        """Several tasks' new top-level fields merged into their rows (`doc || patch`) with the columns that follow
        from those fields (the same values `row_values` gives), as one UPDATE; None when a patch writes a field
        that no patchable column follows from while a column does (company, tags, system tags)."""
        written = {key for _, _, patch in rows for key in patch}
        if written & {"company", "tags", "system_tags"}:
            return None
        columns = [(column, field, kind) for column, (field, kind) in _PATCHABLE.items() if field in written]
        index = {column: i for i, column in enumerate(_COLUMNS)}
        values = [row_values(stream_id, version, patch) for stream_id, version, patch in rows]
        args: list[Any] = [[r[0] for r in rows], [r[1] for r in rows], [json_codec.dumps_text(r[2]) for r in rows]]
        args += [[v[index[column]] for v in values] for column, _, _ in columns]
        sets = "".join(f", {column} = CASE WHEN u.patch ? '{field}' THEN u.{column} ELSE t.{column} END"
                       for column, field, _ in columns)
        types = "".join(f", ${i}::{kind}[]" for i, (_, _, kind) in enumerate(columns, start=4))
        names = "".join(f", {column}" for column, _, _ in columns)
        return (f"UPDATE {self.table} AS t SET version = u.version, doc = t.doc || u.patch{sets} "
                f"FROM unnest($1::text[], $2::int[], $3::jsonb[]{types}) AS u(id, version, patch{names}) "
                "WHERE t.id = u.id", args)

    async def project(
        self, conn: asyncpg.Connection, stream_id: str, version: int, doc: dict[str, Any] | None
    ) -> None:
        if doc is None:
            await conn.execute(f"DELETE FROM {self.table} WHERE id = $1", stream_id)
        else:
            await conn.execute(self._upsert, *row_values(stream_id, version, doc))


class TaskTableLookups:
    """The reads task commands make of `tasks` beyond a task's own state (`commands.handlers.context.TaskLookups`)."""

    async def company_of(self, db: Reader, task_id: str) -> str | None:
        found = await db.fetchval("SELECT company FROM tasks WHERE id = $1", task_id)
        return None if found is None else str(found)

    async def readable_doc(self, db: Reader, task_id: str, company: str) -> dict[str, Any] | None:
        raw = await db.fetchval("SELECT doc FROM tasks WHERE id = $1 AND company = ANY($2::text[])",
                                task_id, [company, ""])
        return None if raw is None else dict(json.loads(raw))

    async def references(self, db: Reader, task_id: str, company: str) -> dict[str, Any] | None:
        row = await db.fetchrow("SELECT parent, project, doc->'models' AS models FROM tasks WHERE id = $1 "
                                "AND company = $2", task_id, company)
        if row is None:
            return None
        return {"parent": row["parent"], "project": row["project"],
                "models": json.loads(row["models"]) if row["models"] else {}}

    async def count_owned(self, db: Reader, task_ids: list[str], company: str) -> int:
        return int(await db.fetchval("SELECT count(*) FROM tasks WHERE id = ANY($1::text[]) AND company = $2",
                                     task_ids, company))

    async def published_children(self, db: Reader, task_id: str, company: str) -> int:
        return int(await db.fetchval(
            f"SELECT count(*) FROM tasks WHERE parent = $1 AND status = 'published' AND {_OWNED_BY_2}",
            task_id, company))

    async def child_ids(self, db: Reader, task_id: str, company: str) -> list[str]:
        return [r["id"] for r in await db.fetch(
            f"SELECT id FROM tasks WHERE parent = $1 AND {_OWNED_BY_2} ORDER BY id", task_id, company)]

    async def owner(self, db: Reader, task_id: str) -> dict[str, Any] | None:
        row = await db.fetchrow("SELECT company, user_id FROM tasks WHERE id = $1", task_id)
        return None if row is None else {"company": row["company"], "user": row["user_id"]}
