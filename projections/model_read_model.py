"""The model read model: one row per model (`models`), its document plus the columns listings filter and order on.

Written by the inline projector in the command's transaction (read-your-writes) and by replay through the same
`project`, so the rebuilt table equals the live one (G6).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from taskstream.commands.handlers.context import Reader
from taskstream.projections.stream_table import StreamTable

_COLUMNS = ("id", "company", "version", "doc", "name", "user_id", "project", "task", "parent", "framework", "uri",
            "comment", "ready", "tags", "system_tags", "created", "last_update", "last_iteration")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def model_row(stream_id: str, version: int, doc: dict[str, Any]) -> tuple[Any, ...]:
    """The row of a model document, in `_COLUMNS` order."""
    iteration = doc.get("last_iteration")
    return (stream_id, doc.get("company", ""), version, json.dumps(doc), str(doc.get("name") or ""),
            _text(doc.get("user")), _text(doc.get("project")), _text(doc.get("task")), _text(doc.get("parent")),
            _text(doc.get("framework")), _text(doc.get("uri")), _text(doc.get("comment")), bool(doc.get("ready")),
            _texts(doc.get("tags")), _texts(doc.get("system_tags")), _time(doc.get("created")),
            _time(doc.get("last_update")), iteration if isinstance(iteration, int) else None)


class ModelReadModel(StreamTable):
    def __init__(self, table: str = "models") -> None:
        super().__init__(table)
        placeholders = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
        self._upsert = (f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({placeholders}) "
                        f"ON CONFLICT (id) DO UPDATE SET {updates}")

    async def project(
        self, conn: asyncpg.Connection, stream_id: str, version: int, doc: dict[str, Any] | None
    ) -> None:
        if doc is None:
            await conn.execute(f"DELETE FROM {self.table} WHERE id = $1", stream_id)
            return
        await conn.execute(self._upsert, *model_row(stream_id, version, doc))


class ModelTableLookups:
    """The reads model and task commands make of `models` (`commands.handlers.context.ModelLookups`)."""

    async def company_of(self, db: Reader, model_id: str) -> str | None:
        found = await db.fetchval("SELECT company FROM models WHERE id = $1", model_id)
        return None if found is None else str(found)

    async def document(self, db: Reader, model_id: str) -> dict[str, Any] | None:
        raw = await db.fetchval("SELECT doc FROM models WHERE id = $1", model_id)
        return None if raw is None else dict(json.loads(raw))

    async def missing(self, db: Reader, model_ids: list[str], company: str) -> list[str]:
        rows = await db.fetch("SELECT id FROM models WHERE id = ANY($1::text[]) AND company = ANY($2::text[])",
                              model_ids, [company, ""])
        found = {r["id"] for r in rows}
        return [m for m in model_ids if m not in found]

    async def output_model_ids(self, db: Reader, task_id: str, company: str, listed: list[str]) -> list[str]:
        rows = await db.fetch("SELECT id FROM models WHERE company = $2 AND (task = $1 OR id = ANY($3::text[])) "
                              "ORDER BY id", task_id, company, listed)
        return [r["id"] for r in rows]

    async def used_as_input(self, db: Reader, model_id: str, company: str) -> int:
        # The containment test reads each of the company's task documents: deleting a model is rare, and an index
        # over every input model id would be paid by every task write.
        found = await db.fetchval(
            """SELECT count(*) FROM tasks WHERE company = $2
            AND doc->'models'->'input' @> jsonb_build_array(jsonb_build_object('model', $1::text))""",
            model_id, company)
        return int(found or 0)
