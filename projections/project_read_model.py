"""The project read model: one row per project (full '/'-separated name, parent) for lookups and joins."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from taskstream.commands.handlers.context import Reader
from taskstream.projections.stream_table import StreamTable


class ProjectReadModel(StreamTable):
    def __init__(self, table: str = "projects") -> None:
        super().__init__(table)

    async def project(
        self, conn: asyncpg.Connection, stream_id: str, version: int, doc: dict[str, Any] | None
    ) -> None:
        if doc is None:
            await conn.execute(f"DELETE FROM {self.table} WHERE id = $1", stream_id)
            return
        await conn.execute(
            f"""INSERT INTO {self.table} (id, company, version, doc, name, parent, created)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (id) DO UPDATE SET company = EXCLUDED.company, version = EXCLUDED.version,
                doc = EXCLUDED.doc, name = EXCLUDED.name, parent = EXCLUDED.parent""",
            stream_id, doc.get("company", ""), version, json.dumps(doc), doc["name"], doc.get("parent"),
            datetime.fromisoformat(doc["created"]) if doc.get("created") else None,
        )


class ProjectTableLookups:
    """The reads project and task commands make of `projects` (`commands.handlers.context.ProjectLookups`)."""

    async def company_of(self, db: Reader, project_id: str) -> str | None:
        found = await db.fetchval("SELECT company FROM projects WHERE id = $1", project_id)
        return None if found is None else str(found)

    async def by_name(self, db: Reader, company: str, name: str) -> str | None:
        found = await db.fetchval("SELECT id FROM projects WHERE company = $1 AND name = $2", company, name)
        return None if found is None else str(found)
