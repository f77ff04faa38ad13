"""`/metrics` in the Prometheus text format: the log's head and, per subscriber (relay, audit, ...), its
checkpoint and its lag (head position − checkpoint position, in events)."""

from __future__ import annotations

import asyncpg

from taskstream.commands.store import head_position


async def prometheus_text(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        head = await head_position(conn)
        rows = await conn.fetch("SELECT name, position FROM checkpoints ORDER BY name")
    lines = [
        "# HELP taskstream_database_up Whether the database answered this scrape.",
        "# TYPE taskstream_database_up gauge",
        "taskstream_database_up 1",
        "# HELP taskstream_log_head_position Highest position written to the event log.",
        "# TYPE taskstream_log_head_position gauge",
        f"taskstream_log_head_position {head}",
        "# HELP taskstream_subscriber_position Log position of the last event a subscriber processed.",
        "# TYPE taskstream_subscriber_position gauge",
        *(f'taskstream_subscriber_position{{subscriber="{r["name"]}"}} {r["position"]}' for r in rows),
        "# HELP taskstream_subscriber_lag Events between the log head and a subscriber's checkpoint.",
        "# TYPE taskstream_subscriber_lag gauge",
        *(f'taskstream_subscriber_lag{{subscriber="{r["name"]}"}} {max(head - r["position"], 0)}' for r in rows),
    ]
    return "\n".join(lines) + "\n"
