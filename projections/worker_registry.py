"""The worker registry (`workers` table): which agents are alive, what they watch and run.

Live state with an expiry, like the reference server's Redis keys (not part of the event log): a worker is alive
while `last_activity_time + timeout_sec` is in the future. What a worker does to a task is recorded on the task
itself as a `WorkerReported` event.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from taskstream.commands.messages import WorkerReport
from taskstream.schemas.clock import iso

DEFAULT_TIMEOUT_SEC = 600


_COLUMNS = ("company", "id", "user_id", "queues", "tags", "system_tags", "task", "queue", "register_time",
            "last_activity_time", "last_report_time", "timeout_sec")
_PLACEHOLDERS = ", ".join(f"${i + 1}" for i in range(len(_COLUMNS)))
_UPSERT = (f"INSERT INTO workers ({', '.join(_COLUMNS)}) VALUES ({_PLACEHOLDERS}) "
           f"ON CONFLICT (company, id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _COLUMNS[2:])}")


async def upsert_worker(conn: asyncpg.Connection, report: WorkerReport) -> None:
    """Register the worker or refresh it; a status report of an unknown (or expired) worker registers it."""
    # FOR UPDATE: two reports of one worker apply one after the other (the later one sees the earlier's row).
    row = await conn.fetchrow("SELECT * FROM workers WHERE company = $1 AND id = $2 FOR UPDATE",
                              report.company, report.worker)
    now = report.now
    alive = row is not None and row["last_activity_time"] + timedelta(seconds=row["timeout_sec"]) > now
    old: dict[str, Any] = dict(row) if alive and row is not None else {}
    registered = old.get("register_time") if report.status_report and old else now
    await conn.execute(
        _UPSERT, report.company, report.worker, report.user,
        report.queues if report.queues is not None else old.get("queues", []),
        report.tags if report.tags is not None else old.get("tags", []),
        report.system_tags if report.system_tags is not None else old.get("system_tags", []),
        report.task if report.status_report else old.get("task"),
        report.queue if report.status_report else old.get("queue"),
        registered, now, now if report.status_report else old.get("last_report_time"),
        report.timeout_sec or old.get("timeout_sec") or DEFAULT_TIMEOUT_SEC)


class WorkerTable:
    """`workers` as a worker's status report command refreshes it (`commands.handlers.context.WorkerRegistry`)."""

    async def upsert(self, conn: asyncpg.Connection, report: WorkerReport) -> None:
        await upsert_worker(conn, report)


async def unknown_queues(conn: asyncpg.Connection, company: str, queues: list[str]) -> list[str]:
    """The ids among `queues` that are not queues of the company."""
    known = {r["id"] for r in await conn.fetch("SELECT id FROM queues WHERE company = $1 AND id = ANY($2::text[])",
                                              company, queues)}
    return [q for q in queues if q not in known]


async def delete_worker(conn: asyncpg.Connection, company: str, worker: str) -> bool:
    """Unregister; False when the worker was not registered."""
    return bool(await conn.fetchval("DELETE FROM workers WHERE company = $1 AND id = $2 RETURNING true",
                                    company, worker))


async def live_workers(pool: asyncpg.Pool, company: str, now: datetime, last_seen_sec: int) -> list[dict[str, Any]]:
    """The company's workers that have not expired and were active in the last `last_seen_sec` seconds."""
    rows = await pool.fetch(
        """SELECT w.*, u.name AS user_name, c.name AS company_name, t.name AS task_name,
                  t.last_iteration AS task_last_iteration, t.started AS task_started,
                  (SELECT jsonb_object_agg(q.id, q.name) FROM queues q
                   WHERE q.company = w.company AND (q.id = ANY(w.queues) OR q.id = w.queue)) AS queue_names
           FROM workers w
           LEFT JOIN users u ON u.id = w.user_id
           LEFT JOIN companies c ON c.id = w.company
           LEFT JOIN tasks t ON t.id = w.task AND t.company = w.company
           WHERE w.company = $1 AND w.last_activity_time + make_interval(secs => w.timeout_sec) > $2
             AND w.last_activity_time > $3
           ORDER BY w.id""",
        company, now, now - timedelta(seconds=last_seen_sec))
    return [_worker_entry(row, now) for row in rows]


def _worker_entry(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    """A row as the `worker` model of the workers service (types as the SDK's generated classes check them)."""
    names = json.loads(row["queue_names"]) if row["queue_names"] else {}
    entry: dict[str, Any] = {
        "id": row["id"], "key": f"worker_{row['company']}_{row['user_id']}_{row['id']}",
        "user": {"id": row["user_id"], "name": row["user_name"] or ""},
        "company": {"id": row["company"], "name": row["company_name"] or ""},
        "ip": row["ip"], "register_time": iso(row["register_time"]),
        "last_activity_time": iso(row["last_activity_time"]),
        "queues": [{"id": q, "name": names.get(q, "")} for q in row["queues"]],
        "tags": list(row["tags"]), "system_tags": list(row["system_tags"]),
    }
    if row["last_report_time"] is not None:
        entry["last_report_time"] = iso(row["last_report_time"])
    if row["task"]:
        task: dict[str, Any] = {"id": row["task"], "name": row["task_name"] or ""}
        if row["task_last_iteration"] is not None:
            task["last_iteration"] = row["task_last_iteration"]
        if row["task_started"] is not None:
            task["running_time"] = int((now - row["task_started"]).total_seconds() * 1000)
        entry["task"] = task
    if row["queue"]:
        entry["queue"] = {"id": row["queue"], "name": names.get(row["queue"], "")}
    return entry
