"""Single-task reads of the task read model for the API, in the caller's scope: its company plus public tasks
(company '')."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.schemas import json_codec


async def task_document(pool: asyncpg.Pool | asyncpg.Connection, task_id: str,
                        company: str) -> dict[str, Any] | None:
    """The task's document, or None when it does not exist or is another company's private task."""
    raw = await pool.fetchval("SELECT doc FROM tasks WHERE id = $1 AND company = ANY($2::text[])",
                              task_id, [company, ""])
    return None if raw is None else dict(json_codec.loads(raw))


async def task_owner(pool: asyncpg.Pool, task_id: str) -> dict[str, str]:
    """`{company, user}` of a task, whoever's it is (`queues.get_next_task`'s `task_info`); `{}` when it is gone."""
    row = await pool.fetchrow("SELECT company, user_id FROM tasks WHERE id = $1", task_id)
    return {"company": row["company"], "user": row["user_id"]} if row else {}
