"""What every stream's read model shares: one row per stream with its `doc` and `version`, which commands load."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from taskstream.commands.session import StateStore


class StreamTable(StateStore):
    """The base of the inline projectors: `table` holds (id, doc, version, ...) per stream. The hooks
    `projection_statement` and `project_events` keep `StateStore`'s defaults unless a read model declares them."""

    def __init__(self, table: str) -> None:
        self.table = table

    async def load(self, conn: asyncpg.Connection, stream_id: str) -> tuple[dict[str, Any], int] | None:
        """The stream's document and version, or None when the stream has no row (never created, or deleted)."""
        row = await conn.fetchrow(f"SELECT doc, version FROM {self.table} WHERE id = $1", stream_id)
        return None if row is None else (json.loads(row["doc"]), row["version"])
