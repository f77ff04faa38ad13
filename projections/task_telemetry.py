"""The telemetry store (`task_events`): what clients report about their tasks, kept as sent.

It plays the part of the reference server's Elasticsearch indices. It is not the event log: rows are written in
the same transaction as the `MetricsReported` events of their tasks (so a rejected batch leaves neither), and
read back by `events.get_task_log`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from taskstream.schemas import json_codec

LOG = "log"

_COLUMNS = ("company", "task", "type", "timestamp", "iter", "metric", "variant", "value", "msg", "level", "worker",
            "doc")


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def insert_events(conn: asyncpg.Connection, company: str, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Store the accepted events of a batch, given as (task, type, normalised document), with one COPY.

    Why COPY: PostgreSQL inserts its rows in bulk (the batch's rows share heap pages and WAL records), where an
    INSERT of the same rows from `unnest` arrays went through the executor row by row; the rows are encoded once,
    in binary, and the documents with orjson."""
    dumps = json_codec.dumps_text
    records = [(company, task, event_type, doc["timestamp"], doc.get("iter"), doc["metric"], doc["variant"],
                _float(doc.get("value")), _text(doc.get("msg")), _text(doc.get("level")), _text(doc.get("worker")),
                dumps(doc)) for task, event_type, doc in events]
    await conn.copy_records_to_table("task_events", records=records, columns=_COLUMNS)


class TelemetryTable:
    """`task_events` as the telemetry commands write it (`commands.handlers.context.TelemetryStore`)."""

    async def insert_events(self, conn: asyncpg.Connection, company: str,
                            events: list[tuple[str, str, dict[str, Any]]]) -> None:
        await insert_events(conn, company, events)

    async def image_urls(self, conn: asyncpg.Connection, task_id: str) -> list[str]:
        rows = await conn.fetch(
            "SELECT doc->>'url' AS url FROM task_events WHERE task = $1 AND type = 'training_debug_image' "
            "AND COALESCE(doc->>'url', '') <> '' GROUP BY doc->>'url' ORDER BY min(seq)", task_id)
        return [r["url"] for r in rows]

    async def delete_task_events(self, conn: asyncpg.Connection, task_id: str) -> int:
        """Everything reported about the task, whichever company it is filed under (a task id is unique)."""
        status = await conn.execute("DELETE FROM task_events WHERE task = $1", task_id)
        return int(status.split()[-1])


@dataclass(frozen=True)
class LogPage:
    events: list[dict[str, Any]]
    total: int


async def read_log(pool: asyncpg.Pool, company: str, task: str, batch_size: int, navigate_earlier: bool,
                   from_timestamp: int | None) -> LogPage:
    """Up to `batch_size` log events from the latest (navigate_earlier) or the earliest one, starting after
    `from_timestamp`; like the reference server, the events sharing the last returned timestamp all come along,
    so paging by timestamp loses none."""
    direction, before = ("DESC", "<") if navigate_earlier else ("ASC", ">")
    # The type as a literal: the index by timestamp is partial (log lines only, migration 014), and a generic plan
    # of `type = $n` could not use it.
    where = f"company = $1 AND task = $2 AND type = '{LOG}'"
    args: list[Any] = [company, task]
    bound = f" AND timestamp {before} $3" if from_timestamp else ""
    rows = await pool.fetch(
        f"SELECT seq, timestamp, doc FROM task_events WHERE {where}{bound} "
        f"ORDER BY timestamp {direction}, seq {direction} LIMIT {int(batch_size)}",
        *args, *([from_timestamp] if from_timestamp else []))
    if rows and len(rows) == batch_size:
        rows = list(rows) + list(await pool.fetch(
            f"SELECT seq, timestamp, doc FROM task_events WHERE {where} AND timestamp = $3 AND seq {before} $4 "
            f"ORDER BY seq {direction}", *args, rows[-1]["timestamp"], rows[-1]["seq"]))
    total = await pool.fetchval(f"SELECT count(*) FROM task_events WHERE {where}", *args)
    return LogPage([json.loads(r["doc"]) for r in rows], int(total))


async def telemetry_company(pool: asyncpg.Pool, task_id: str, company: str) -> str | None:
    """The company a task's telemetry is filed under, for a task readable by `company` (its own or public), else
    None. A public task's telemetry stays filed under the company that reported it (`company_origin`)."""
    owner = await pool.fetchval(
        "SELECT COALESCE(NULLIF(doc->>'company_origin', ''), company) FROM tasks "
        "WHERE id = $1 AND company = ANY($2::text[])", task_id, [company, ""])
    return None if owner is None else str(owner)
