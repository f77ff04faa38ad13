"""The log's two hot reads walk the log-order index (`events_log_order`) instead of reading and sorting the log.

`read_after` runs in every subscriber, the relay and the live feed, `latest_readable` each second in every resting
live feed: with a sort, each call cost time in proportion to the whole log (37 ms at 2·10^5 events; the bench's
pg_stat_statements showed 5–16 ms per call at a few 10^4). The plans are read back from PostgreSQL with sequential
scans disabled, so a small test log cannot hide a sort behind a cheap scan.
"""

from __future__ import annotations

import json
from typing import Any

from taskstream.api.context import AppContext
from taskstream.commands.store import LATEST_READABLE, READ_AFTER


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", []) for n in _nodes(child))]


async def _plan(ctx: AppContext, sql: str, *args: Any) -> list[str]:
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    return _nodes(json.loads(raw)[0]["Plan"])


async def test_reading_after_a_position_walks_the_index_in_log_order(ctx: AppContext) -> None:
    nodes = await _plan(ctx, READ_AFTER, "0", 0, 500, None)
    assert "Sort" not in nodes and any("Index" in n for n in nodes), nodes


async def test_the_end_of_the_log_is_one_step_back_from_the_index_end(ctx: AppContext) -> None:
    nodes = await _plan(ctx, LATEST_READABLE)
    assert "Sort" not in nodes and any("Index" in n for n in nodes), nodes
