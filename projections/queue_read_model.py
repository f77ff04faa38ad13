"""The queue read model: `queues` (one row per queue, its document without entries) and `queue_entries` (one row
per task waiting in a queue, ordered by `position`).

`QueueReadModel` is the inline projector of queue streams: `project` writes the queue's row from its folded
document, `project_events` applies the entry events one row each (O(1) per enqueue/claim, whatever the queue's
length). Replay drives the same two methods over shadow tables. `QueueTableLookups` is what queue commands read
while they hold the queue's lock, so what they see is exactly the state the next event is decided on.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from taskstream.commands.handlers.context import Reader
from taskstream.projections.stream_table import StreamTable
from taskstream.schemas.events import Event
from taskstream.schemas.queue_events import TaskQueued, TaskUnqueued


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class QueueReadModel(StreamTable):
    def __init__(self, table: str = "queues", entries_table: str = "queue_entries") -> None:
        super().__init__(table)
        self.entries = entries_table

    async def project(
        self, conn: asyncpg.Connection, stream_id: str, version: int, doc: dict[str, Any] | None
    ) -> None:
        if doc is None:
            await conn.execute(f"DELETE FROM {self.entries} WHERE queue = $1", stream_id)
            await conn.execute(f"DELETE FROM {self.table} WHERE id = $1", stream_id)
            return
        await conn.execute(
            f"""INSERT INTO {self.table} (id, company, version, doc, name, tags, system_tags, created, last_update)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (id) DO UPDATE SET company = EXCLUDED.company, version = EXCLUDED.version,
                doc = EXCLUDED.doc, name = EXCLUDED.name, tags = EXCLUDED.tags, system_tags = EXCLUDED.system_tags,
                created = EXCLUDED.created, last_update = EXCLUDED.last_update""",
            stream_id, doc.get("company", ""), version, json.dumps(doc), doc["name"], list(doc.get("tags") or []),
            list(doc.get("system_tags") or []), _time(doc.get("created")), _time(doc.get("last_update")),
        )

    async def project_events(
        self, conn: asyncpg.Connection, stream_id: str, from_version: int, events: list[Event]
    ) -> None:
        for event in events:
            if isinstance(event, TaskQueued):
                await conn.execute(
                    f"INSERT INTO {self.entries} (queue, task, added, position) VALUES ($1, $2, $3, $4)",
                    stream_id, event.task, event.at, event.position)
            elif isinstance(event, TaskUnqueued):
                await conn.execute(f"DELETE FROM {self.entries} WHERE queue = $1 AND task = $2",
                                   stream_id, event.task)


class QueueTableLookups:
    """The reads queue commands make (`commands.handlers.context.QueueLookups`), over `queues` and `queue_entries`."""

    async def company_of(self, db: Reader, queue_id: str) -> str | None:
        found = await db.fetchval("SELECT company FROM queues WHERE id = $1", queue_id)
        return None if found is None else str(found)

    async def by_name(self, db: Reader, company: str, name: str) -> str | None:
        found = await db.fetchval("SELECT id FROM queues WHERE company = $1 AND name = $2", company, name)
        return None if found is None else str(found)

    async def default_queues(self, db: Reader, company: str) -> list[dict[str, str]]:
        rows = await db.fetch(
            "SELECT id, name FROM queues WHERE company = $1 AND system_tags @> ARRAY['default'] ORDER BY created, id",
            company)
        return [{"id": r["id"], "name": r["name"]} for r in rows]

    async def has_entry(self, db: Reader, queue_id: str, task_id: str) -> bool:
        return bool(await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM queue_entries WHERE queue = $1 AND task = $2)", queue_id, task_id))

    async def head(self, db: Reader, queue_id: str) -> dict[str, Any] | None:
        row = await db.fetchrow(
            "SELECT task, added FROM queue_entries WHERE queue = $1 ORDER BY position LIMIT 1", queue_id)
        return None if row is None else {"task": row["task"], "added": row["added"]}

    async def entry(self, db: Reader, queue_id: str, task_id: str, position: int) -> dict[str, Any] | None:
        row = await db.fetchrow(
            "SELECT task, added FROM queue_entries WHERE queue = $1 AND task = $2 AND position = $3",
            queue_id, task_id, position)
        return None if row is None else {"task": row["task"], "added": row["added"]}

    async def entry_tasks(self, db: Reader, queue_id: str) -> list[str]:
        rows = await db.fetch("SELECT task FROM queue_entries WHERE queue = $1 ORDER BY position", queue_id)
        return [r["task"] for r in rows]

    async def position_bounds(self, db: Reader, queue_id: str) -> tuple[int, int] | None:
        row = await db.fetchrow("SELECT min(position) AS first, max(position) AS last FROM queue_entries "
                                "WHERE queue = $1", queue_id)
        return None if row is None or row["first"] is None else (int(row["first"]), int(row["last"]))


async def queue_watched(pool: asyncpg.Pool, company: str, queue_id: str) -> bool:
    """Whether a live registered worker lists the queue (`verify_watched_queue`, §5.25)."""
    return bool(await pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM workers WHERE company = $1 AND $2 = ANY(queues)
               AND last_activity_time + make_interval(secs => timeout_sec) > now())""", company, queue_id))
