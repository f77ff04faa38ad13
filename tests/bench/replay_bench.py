"""Replay bench (issue 13): the task read model rebuilt from N events, beside simply reading the same events from
the log with one cursor (target ≥ 0.5× that rate, memory bounded), and beside a COPY of the final rows (shown for
scale). Runs in a scratch database it creates on the server: it appends synthetic events to its log (company
`bench`).

``python -m tests.bench.replay_bench [--events N] [--runs R] [--database-url URL]`` runs the replay bench (on an
embedded PostgreSQL in a temporary directory unless a URL is given) and prints its figures."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from taskstream.api.database import migrate
from taskstream.commands.store import snapshot_of_log
from taskstream.projections.kafka_codec import types_of
from taskstream.projections.replay import FETCH, replay_model
from taskstream.projections.replay_models import READ_MODELS
from taskstream.projections.replay_tables import create_shadows
from taskstream.schemas.ids import new_id

from .processes import run_on_database

EVENTS_PER_TASK = 10
_STAMP = """to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')"""

_GENERATE = f"""
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT 'bench-' || $1::text || '-' || t, v, gen_random_uuid(),
       CASE WHEN v = 1 THEN 'TaskCreated' ELSE 'TaskEdited' END, 1,
       CASE WHEN v = 1 THEN jsonb_build_object('task', jsonb_build_object(
                'id', 'bench-' || $1::text || '-' || t, 'name', 'bench task ' || t, 'company', 'bench',
                'user', 'bench', 'type', 'training', 'status', 'created', 'project', 'bench-project',
                'tags', jsonb_build_array('a', 'b'), 'system_tags', '[]'::jsonb, 'comment', '',
                'created', {_STAMP}, 'last_update', {_STAMP}, 'last_change', {_STAMP},
                'execution', jsonb_build_object('queue', null, 'parameters', '{{}}'::jsonb),
                'hyperparams', jsonb_build_object('Args', jsonb_build_object('lr', jsonb_build_object(
                    'section', 'Args', 'name', 'lr', 'value', '0.1')))), 'cloned_from', null)
            ELSE jsonb_build_object('set', jsonb_build_object('comment', 'edit ' || v, 'last_update', {_STAMP},
                'last_change', {_STAMP}, 'hyperparams.Args.lr.value', (v * 0.01)::text),
                'unset', '[]'::jsonb, 'quiet', '[]'::jsonb, 'force', false) END,
       '{{"company": "bench", "user": "bench", "endpoint": "bench"}}'::jsonb
FROM generate_series(1, $2::int) AS t, generate_series(1, {EVENTS_PER_TASK}) AS v
"""


async def _generate(database_url: str, events: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_GENERATE, new_id()[:8], max(events // EVENTS_PER_TASK, 1), timeout=600)
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


def _with_database(database_url: str, name: str) -> str:
    """The URL of database `name` on the server of `database_url`."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def scratch_database(database_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database on the server of `database_url`, dropped afterwards."""
    name = f"replay_bench_{new_id()[:8]}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            url = _with_database(database_url, name)
            conn = await asyncpg.connect(url)
            try:
                await migrate(conn)
            finally:
                await conn.close()
            yield url
        finally:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def _copy_reference(database_url: str, runs: int) -> tuple[int, list[float]]:
    """COPY (binary) of the final task rows into a table of the same shape, as replay makes its shadow
    (`replay_tables.create_shadows`: indexes, storage, the trigger that computes the search vector): (rows, seconds
    of each run). The rows wait in a temporary file, not in memory; the vector is computed, not copied."""
    conn = await asyncpg.connect(database_url)
    try:
        columns = [r[0] for r in await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' AND attname <> 'search' ORDER BY attnum")]
        rows = await conn.fetchval("SELECT count(*) FROM tasks")
        seconds = []
        with tempfile.NamedTemporaryFile(prefix="replay-bench-") as dump:
            await conn.copy_from_table("tasks", output=dump.name, columns=columns, format="binary")
            for _ in range(runs):
                await create_shadows(conn, ("tasks",), ("copy_reference",), with_indexes=True)
                await conn.execute("CHECKPOINT")
                started = time.perf_counter()
                await conn.copy_to_table("copy_reference", source=dump.name, columns=columns, format="binary")
                seconds.append(time.perf_counter() - started)
        await conn.execute("DROP TABLE copy_reference")
        return rows, seconds
    finally:
        await conn.close()


async def _cursor_reference(database_url: str, runs: int) -> tuple[int, list[float]]:
    """Read the events the task replay reads (same types, same order, same row shape) with one server-side cursor
    in one snapshot, FETCH by FETCH, doing nothing with them: (events, seconds of each run)."""
    conn = await asyncpg.connect(database_url)
    try:
        types = types_of(READ_MODELS["tasks"].families)
        seconds, count = [], 0
        for _ in range(runs):
            started, count = time.perf_counter(), 0
            async with snapshot_of_log(conn) as log:
                cursor = await log.cursor(types, "fold")
                while batch := await cursor.fetch(FETCH):
                    count += len(batch)
            seconds.append(time.perf_counter() - started)
        return count, seconds
    finally:
        await conn.close()


async def run_replay_bench(database_url: str, events: int = 1_000_000, runs: int = 3) -> dict[str, Any]:
    """In a scratch database on the server of `database_url`: append `events` synthetic task events (10 per
    task), replay the task read model `runs` times (rate: events/s over the whole replay: bulk, index builds,
    catch-up and swap), then COPY the final rows into a table of the same shape `runs` times (the reference).
    Returns best and median of each, their ratio and the process's peak RSS. Times are wall clock: the load
    average is returned beside them."""
    async with scratch_database(database_url) as url:
        await _generate(url, events)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        load_before = os.getloadavg()[0]
        rates, seconds, helper_growth = [], [], 0
        for _ in range(runs):
            result = await replay_model(url, "tasks", progress=False)
            rates.append(result.events / result.seconds)
            seconds.append(result.seconds)
            helper_growth = max(helper_growth, result.helper_rss_growth_kb)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows, copy_seconds = await _copy_reference(url, runs)
        read_events, read_seconds = await _cursor_reference(url, runs)
    copy_rates = [rows / s for s in copy_seconds]
    read_rates = [read_events / s for s in read_seconds]
    return {"events": result.events, "seconds_best": round(min(seconds), 2),
            "events_per_s_best": round(max(rates)), "events_per_s_median": round(statistics.median(rates)),
            "target_events_per_s": 100_000, "copy_rows": rows, "copy_rows_per_s_best": round(max(copy_rates)),
            "copy_rows_per_s_median": round(statistics.median(copy_rates)),
            "ratio_best": round(max(rates) / max(copy_rates), 2),
            "ratio_median": round(statistics.median(rates) / statistics.median(copy_rates), 2),
            "read_events": read_events, "read_events_per_s_best": round(max(read_rates)),
            "read_events_per_s_median": round(statistics.median(read_rates)),
            "read_ratio_median": round(statistics.median(rates) / statistics.median(read_rates), 2),
            "peak_rss_mb": round(rss_after / 1024, 1), "peak_rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
            "helper_rss_growth_mb": round(helper_growth / 1024, 1),
            "load_average": (round(load_before, 2), round(os.getloadavg()[0], 2))}


async def _print_bench(database_url: str, events: int, runs: int) -> None:
    print(json.dumps(await run_replay_bench(database_url, events, runs)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.bench.replay_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="synthetic events to replay (default 1M)")
    parser.add_argument("--runs", type=int, default=3, help="replays and COPY runs (default 3)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (default: an embedded one)")
    args = parser.parse_args()
    run_on_database(args.database_url, "replay-bench-", lambda url: _print_bench(url, args.events, args.runs))
