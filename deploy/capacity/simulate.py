"""A synthetic month against a time-partitioned copy of the log and the telemetry table: does the model's first
prediction — how many bytes a day of traffic adds — hold when the tables are partitioned by day, partitions are
created ahead and old ones detached, archived and dropped while writes go on?

1. Calibration, through the real code paths: measure.py's phases, small (`taskstream serve` over a fresh
   database, task lives and add_batch calls of two sizes, workload.py). They give the model's inputs (bytes per
   log event and per scalar, WAL per scalar, events per command; the arithmetic is model.py's) and their rows
   are the templates of the month.
2. The month: `sim_events` (RANGE on `recorded`) and `sim_task_events` (RANGE on the client's `timestamp`, ms),
   the real tables' columns and indexes (the partition key joins each unique key: PostgreSQL enforces
   uniqueness per partition only). Each simulated day replays the templates at the day's volume — whole task
   lives, one MetricsReported event per batch, the scalars under fresh task ids with increasing iterations —
   from --writers connections, in chunks paced over --seconds-per-day of wall time. Beside the writers, the
   maintenance of a real deployment: each day, the partition two days ahead is created (standalone, then
   ATTACHed: no lock that blocks writers) and partitions older than --keep-days are DETACHed CONCURRENTLY,
   copied to a gzip archive and dropped.
3. The check: every finished day's partitions are weighed (pg_total_relation_size: heap, TOAST, indexes) and
   compared with the model's bytes per day at the simulated load. Verdict PASS when the month's mean is within
   --tolerance of the prediction for both tables (and WAL per day within --wal-tolerance), the attached (hot) set
   never exceeds keep + 3 days of predicted growth, and no write that overlapped the maintenance took longer
   than --max-stall (or 1.5× the longest write that did not, on a machine too busy for that).

Scaling, explicit: one simulated day takes --seconds-per-day of wall time (4 s: a 30-day month in 2 minutes,
21,600× real time, not 100×: 100× would take 7 hours), and carries --commands-per-day task commands with
--scalars-per-command scalars each (the target's ratio, 10^6 scalars/s ÷ 10^4 commands/s = 100). Bytes per
day scale linearly with volume (append-only rows), so the check is per event and per scalar; the full-size
figures are the model's arithmetic in README.md.

    .venv/bin/python deploy/capacity/simulate.py [--days 30] [--seconds-per-day 4] [--commands-per-day 600]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import harness
import measure
import model

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DAY_MS = 86_400_000

SCHEMA = """
CREATE TABLE sim_events (
    position bigserial, txid xid8 NOT NULL DEFAULT pg_current_xact_id(), stream_id text NOT NULL,
    version integer NOT NULL, event_id uuid NOT NULL, type text NOT NULL, schema_version integer NOT NULL,
    data jsonb NOT NULL, metadata jsonb NOT NULL, recorded timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (position, recorded), UNIQUE (event_id, recorded), UNIQUE (stream_id, version, recorded)
) PARTITION BY RANGE (recorded);
CREATE INDEX sim_events_log_order ON sim_events (txid, position);
CREATE TABLE sim_task_events (
    seq bigserial, company text NOT NULL, task text NOT NULL, type text NOT NULL, timestamp bigint NOT NULL,
    iter bigint, metric text NOT NULL DEFAULT '', variant text NOT NULL DEFAULT '', value double precision,
    msg text, level text, worker text, doc jsonb NOT NULL, PRIMARY KEY (seq, timestamp)
) PARTITION BY RANGE (timestamp);
CREATE INDEX sim_task_events_log_time ON sim_task_events (company, task, timestamp, seq) WHERE type = 'log';
CREATE INDEX sim_task_events_series ON sim_task_events (company, task, type, metric, variant, iter)
    INCLUDE (value, timestamp);
CREATE INDEX sim_task_events_task_type_iter ON sim_task_events (company, task, type, iter, seq);
-- The templates: the calibration's rows, numbered per kind (command events, batch events, scalars).
CREATE TABLE sim_template_events AS
    SELECT (row_number() OVER (PARTITION BY type = 'MetricsReported' ORDER BY position) - 1)::int AS n,
           type = 'MetricsReported' AS batch, stream_id, version, type, schema_version, data, metadata
    FROM events;
CREATE TABLE sim_template_scalars AS
    SELECT (row_number() OVER (ORDER BY seq) - 1)::int AS n, company, task, type, metric, variant, doc
    FROM task_events WHERE type = 'training_stats_scalar';
"""

# Chunk $2 of size $3 of a kind's sequence; a template row's stream gets a new id per pass over the templates
# (md5: 32 hex characters, as a task id), so every pass is a new set of task lives.
INSERT_EVENTS = """
INSERT INTO sim_events (stream_id, version, event_id, type, schema_version, data, metadata, recorded)
SELECT md5(t.stream_id || '/' || (g / $4)), t.version, gen_random_uuid(), t.type, t.schema_version, t.data,
       t.metadata, $5::timestamptz + (g - $2) * $6::interval
FROM generate_series($2::bigint, $2::bigint + $3 - 1) g JOIN sim_template_events t ON t.n = g % $4 AND t.batch = $1
"""
INSERT_SCALARS = """
INSERT INTO sim_task_events (company, task, type, timestamp, iter, metric, variant, value, doc)
SELECT t.company, md5(t.task || '/' || $5), t.type, $3 + (g - $1) * $4, g / $2, t.metric, t.variant, v.value,
       t.doc || jsonb_build_object('task', md5(t.task || '/' || $5), 'iter', g / $2,
                                   'timestamp', $3 + (g - $1) * $4, 'value', v.value)
FROM generate_series($1::bigint, $1::bigint + $6 - 1) g JOIN sim_template_scalars t ON t.n = g % $2,
     LATERAL (SELECT random() + g * 0 AS value) v
"""


@dataclass(frozen=True)
class Settings:
    days: int
    seconds_per_day: float
    commands_per_day: int
    scalars_per_command: int
    scalars_per_batch: int
    keep_days: int
    writers: int
    chunks_per_day: int
    calibration_tasks: int
    tolerance: float
    wal_tolerance: float
    max_stall: float

    @property
    def scalars_per_day(self) -> int:
        return self.commands_per_day * self.scalars_per_command

    @property
    def batches_per_day(self) -> int:
        return max(self.scalars_per_day // self.scalars_per_batch, 1)


@dataclass
class Calibration:
    costs: model.Costs
    command_templates: int
    batch_templates: int
    scalar_templates: int


async def calibrate(db: harness.Database, workdir: Path, s: Settings) -> Calibration:
    """measure.py's phases, small (task lives, add_batch calls of two sizes through `taskstream serve`): the
    model's inputs, and the rows the month replays."""
    measured = await measure.measure(db, workdir, tasks=s.calibration_tasks, batches=10 * s.calibration_tasks // 6,
                                     small_batch=10, large_batches=2 * s.calibration_tasks // 10 + 2,
                                     large_batch=500, concurrency=8)
    conn = await asyncpg.connect(db.url)
    try:
        await conn.execute(SCHEMA)
        scalars = int(await conn.fetchval("SELECT count(*) FROM sim_template_scalars"))
    finally:
        await conn.close()
    _, _, command_events, batch_events = measured.sizes.log_split
    return Calibration(measured.costs(), command_events, batch_events, scalars)


def day_start(day: int) -> datetime:
    return EPOCH + timedelta(days=day)


@dataclass
class Partitions:
    """Creates, weighs, detaches, archives and drops the daily partitions of both tables."""

    archive_dir: Path
    attached: list[int] = field(default_factory=list)
    maintenance: list[tuple[float, float]] = field(default_factory=list)  # wall intervals of DDL
    archived_bytes: int = 0
    archived_table_bytes: int = 0

    @staticmethod
    def names(day: int) -> tuple[str, str]:
        return f"sim_events_d{day:03d}", f"sim_task_events_d{day:03d}"

    async def create(self, conn: asyncpg.Connection, day: int) -> None:
        """Standalone tables, then ATTACH (SHARE UPDATE EXCLUSIVE on the parent: writers go on)."""
        started = time.monotonic()
        log, telemetry = self.names(day)
        start, end = day_start(day), day_start(day + 1)
        await conn.execute(f"CREATE TABLE {log} (LIKE sim_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        await conn.execute(f"ALTER TABLE sim_events ATTACH PARTITION {log} FOR VALUES FROM ('{start.isoformat()}') "
                           f"TO ('{end.isoformat()}')")
        await conn.execute(f"CREATE TABLE {telemetry} (LIKE sim_task_events INCLUDING DEFAULTS "
                           f"INCLUDING CONSTRAINTS)")
        await conn.execute(f"ALTER TABLE sim_task_events ATTACH PARTITION {telemetry} FOR VALUES FROM "
                           f"({day * DAY_MS + _ms(EPOCH)}) TO ({(day + 1) * DAY_MS + _ms(EPOCH)})")
        self.attached.append(day)
        self.maintenance.append((started, time.monotonic()))

    async def weigh(self, conn: asyncpg.Connection, day: int) -> tuple[int, int]:
        log, telemetry = self.names(day)
        return (int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", log)),
                int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", telemetry)))

    async def hot_bytes(self, conn: asyncpg.Connection) -> int:
        total = 0
        for day in self.attached:
            total += sum(await self.weigh(conn, day))
        return total

    async def retire(self, conn: asyncpg.Connection, day: int) -> None:
        """DETACH CONCURRENTLY (never blocks writers), archive as gzip'd COPY text, DROP."""
        started = time.monotonic()
        for parent, table in zip(("sim_events", "sim_task_events"), self.names(day), strict=True):
            await conn.execute(f"ALTER TABLE {parent} DETACH PARTITION {table} CONCURRENTLY")
            self.archived_table_bytes += int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)",
                                                                 table))
            path = self.archive_dir / f"{table}.copy.gz"
            with gzip.open(path, "wb", compresslevel=1) as out:
                async def write(chunk: bytes, out: Any = out) -> None:
                    out.write(chunk)
                await conn.copy_from_table(table, output=write)
            self.archived_bytes += path.stat().st_size
            path.unlink()  # a real deployment ships it to object storage; here only its size is kept
            await conn.execute(f"DROP TABLE {table}")
        self.attached.remove(day)
        self.maintenance.append((started, time.monotonic()))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Writes:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (wall start, seconds)
    events: int = 0
    scalars: int = 0


def day_chunks(day: int, s: Settings, c: Calibration) -> list[tuple[str, list[Any]]]:
    """The day's inserts, in order of time: command events, batch events and scalars, each in chunks spread
    evenly over the day (their recorded times / timestamps inside it)."""
    command_events = round(s.commands_per_day * c.costs.events_per_command)
    statements: list[tuple[float, str, list[Any]]] = []
    start = day_start(day)
    for batch, count, templates in ((False, command_events, c.command_templates),
                                    (True, s.batches_per_day, c.batch_templates)):
        step = timedelta(seconds=86_400 / max(count, 1))
        first = day * count
        for i in range(s.chunks_per_day):
            lo, hi = count * i // s.chunks_per_day, count * (i + 1) // s.chunks_per_day
            if hi > lo:
                statements.append((lo / count, INSERT_EVENTS,
                                   [batch, first + lo, hi - lo, templates, start + step * lo, step]))
    count, step_ms = s.scalars_per_day, DAY_MS / s.scalars_per_day
    for i in range(s.chunks_per_day):
        lo, hi = count * i // s.chunks_per_day, count * (i + 1) // s.chunks_per_day
        if hi > lo:
            statements.append((lo / count, INSERT_SCALARS,
                               [day * count + lo, c.scalar_templates, _ms(start) + int(lo * step_ms),
                                max(int(step_ms), 1), str(day), hi - lo]))
    statements.sort(key=lambda item: item[0])
    return [(sql, args) for _, sql, args in statements]


async def write_day(pool: asyncpg.Pool, day: int, s: Settings, c: Calibration, writes: Writes) -> float:
    """The day's chunks from `writers` connections, each chunk not before its share of the day's wall time;
    returns the wall seconds the day took."""
    chunks = day_chunks(day, s, c)
    queue: asyncio.Queue[tuple[int, str, list[Any]]] = asyncio.Queue()
    for number, (sql, args) in enumerate(chunks):
        queue.put_nowait((number, sql, args))
    began = time.monotonic()

    async def writer() -> None:
        while not queue.empty():
            number, sql, args = queue.get_nowait()
            due = began + s.seconds_per_day * number / len(chunks)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            started = time.monotonic()
            status = await pool.execute(sql, *args)
            writes.latencies.append((started, time.monotonic() - started))
            rows = int(status.split()[-1])
            if sql is INSERT_SCALARS:
                writes.scalars += rows
            else:
                writes.events += rows

    await asyncio.gather(*(writer() for _ in range(s.writers)))
    return time.monotonic() - began


@dataclass
class Month:
    per_day: list[tuple[int, int]]  # (log bytes, telemetry bytes) of each finished day's partitions
    hot_max: int
    day_seconds: list[float]
    writes: Writes
    partitions: Partitions
    wal_bytes: int


async def run_month(db: harness.Database, s: Settings, c: Calibration, archive_dir: Path) -> Month:
    parts = Partitions(archive_dir)
    writes, per_day, day_seconds, hot_max = Writes(), [], [], 0
    pool = await asyncpg.create_pool(db.url, min_size=s.writers + 1, max_size=s.writers + 1)
    try:
        async with pool.acquire() as ddl:
            wal_start = (await harness.counters(ddl)).wal_lsn
            for day in range(2):
                await parts.create(ddl, day)
            for day in range(s.days):
                async def maintain(day: int = day, ddl: asyncpg.Connection = ddl) -> None:
                    await parts.create(ddl, day + 2)
                    for old in [d for d in parts.attached if d < day - s.keep_days]:
                        await parts.retire(ddl, old)
                _, seconds = await asyncio.gather(maintain(), write_day(pool, day, s, c, writes))
                day_seconds.append(seconds)
                per_day.append(await parts.weigh(ddl, day))
                hot_max = max(hot_max, await parts.hot_bytes(ddl))
                print(f"  day {day + 1:>2}/{s.days}: {seconds:4.1f} s wall, log {model.bytes_text(per_day[-1][0])}, "
                      f"telemetry {model.bytes_text(per_day[-1][1])}, hot {model.bytes_text(hot_max)}", flush=True)
            wal_bytes = (await harness.counters(ddl)).wal_lsn - wal_start
    finally:
        await pool.close()
    return Month(per_day, hot_max, day_seconds, writes, parts, wal_bytes)


def stalls(month: Month) -> tuple[float, float]:
    """(longest write that overlapped a maintenance step (DDL, COPY), longest write that did not), seconds."""
    during, outside = [0.0], [0.0]
    for start, seconds in month.writes.latencies:
        overlaps = any(start < end and start + seconds > begin for begin, end in month.partitions.maintenance)
        (during if overlaps else outside).append(seconds)
    return max(during), max(outside)


def verdict(month: Month, s: Settings, c: Calibration) -> bool:
    load = model.Load(tasks=0, commands_per_s=s.commands_per_day / model.DAY,
                      scalars_per_s=s.scalars_per_day / model.DAY, scalars_per_batch=s.scalars_per_batch)
    predicted = model.predict(c.costs, load)
    observed_log = statistics.mean(d[0] for d in month.per_day)
    observed_telemetry = statistics.mean(d[1] for d in month.per_day)
    hot_bound = (s.keep_days + 3) * (predicted.log_bytes_per_day + predicted.telemetry_bytes_per_day)
    longest, longest_outside = stalls(month)
    stall_bound = max(s.max_stall, 1.5 * longest_outside)  # a busy machine slows every write, not only these
    # WAL of the replayed rows: the scalars' as measured through add_batch (per scalar, the batch's fixed part
    # left out: the month writes no read model); the log rows' at the same WAL-to-stored ratio (a few per cent).
    wal_ratio = c.costs.wal_bytes_per_scalar / c.costs.telemetry_bytes_per_scalar
    wal_day = s.scalars_per_day * c.costs.wal_bytes_per_scalar + predicted.log_bytes_per_day * wal_ratio
    checks = [
        ("log bytes per day", predicted.log_bytes_per_day, observed_log, [d[0] for d in month.per_day], s.tolerance),
        ("telemetry bytes per day", predicted.telemetry_bytes_per_day, observed_telemetry,
         [d[1] for d in month.per_day], s.tolerance),
        ("WAL bytes per day", wal_day, month.wal_bytes / len(month.per_day), [], s.wal_tolerance),
    ]
    print(f"\n{'prediction':<26}{'predicted':>12}{'observed':>12}{'ratio':>8}  spread of days")
    ok = True
    for name, want, got, days, tolerance in checks:
        ratio = got / want
        ok &= abs(ratio - 1) <= tolerance
        spread = f"{model.bytes_text(min(days))} … {model.bytes_text(max(days))}" if days else "(the month / days)"
        print(f"{name:<26}{model.bytes_text(want):>12}{model.bytes_text(got):>12}{ratio:>8.3f}  {spread}")
    print(f"{'hot set, largest':<26}{'≤ ' + model.bytes_text(hot_bound):>12}{model.bytes_text(month.hot_max):>12}"
          f"{month.hot_max / hot_bound:>8.3f}  ({s.keep_days} days kept + today + 2 made ahead)")
    print(f"{'longest write during DDL':<26}{'≤ ' + format(stall_bound, '.2f') + ' s':>12}{longest:>11.3f}s"
          f"{longest / stall_bound:>9.3f}  (longest write otherwise {longest_outside:.3f} s)")
    ok &= month.hot_max <= hot_bound and longest <= stall_bound
    latencies = sorted(seconds for _, seconds in month.writes.latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0
    archive = month.partitions
    ratio_text = (f"{archive.archived_bytes / archive.archived_table_bytes:.2f} of the partitions' size"
                  if archive.archived_table_bytes else "none detached")
    print(f"\nwrites: {month.writes.events:,} log events, {month.writes.scalars:,} scalars in "
          f"{len(latencies)} statements (p99 {1000 * p99:.0f} ms); days took {min(month.day_seconds):.1f}–"
          f"{max(month.day_seconds):.1f} s for {s.seconds_per_day:g} s planned; "
          f"archives (gzip -1 of COPY) {ratio_text}, optimistic: the rows repeat the templates")
    print(f"verdict: {'PASS' if ok else 'MISS'} (stored bytes per day within ±{100 * s.tolerance:g} % of the model, "
          f"WAL within ±{100 * s.wal_tolerance:g} %, hot set bounded, no long stall)")
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=30, help="simulated days (30)")
    p.add_argument("--seconds-per-day", type=float, default=4.0, help="wall seconds per simulated day (4)")
    p.add_argument("--commands-per-day", type=int, default=600, help="task commands per simulated day (600)")
    p.add_argument("--scalars-per-command", type=int, default=100, help="scalars per command (100, the target's "
                                                                          "ratio)")
    p.add_argument("--scalars-per-batch", type=int, default=100, help="scalars per add_batch call (100)")
    p.add_argument("--keep-days", type=int, default=7, help="days of partitions kept attached (7)")
    p.add_argument("--writers", type=int, default=2, help="connections writing (2)")
    p.add_argument("--chunks-per-day", type=int, default=16, help="insert statements per kind per day (16)")
    p.add_argument("--calibration-tasks", type=int, default=60, help="task lives of the calibration (60)")
    p.add_argument("--tolerance", type=float, default=0.15, help="allowed relative error of bytes/day (0.15)")
    p.add_argument("--wal-tolerance", type=float, default=0.25, help="allowed relative error of WAL/day (0.25)")
    p.add_argument("--max-stall", type=float, default=2.0, help="longest write allowed during DDL, s, or 1.5× the "
                                                                 "longest write otherwise if more (2)")
    p.add_argument("--database-url", help="a PostgreSQL server to use (a scratch database is created on it)")
    return p.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    s = Settings(a.days, a.seconds_per_day, a.commands_per_day, a.scalars_per_command, a.scalars_per_batch,
                 a.keep_days, a.writers, a.chunks_per_day, a.calibration_tasks, a.tolerance, a.wal_tolerance,
                 a.max_stall)
    full = model.Load()
    print(f"simulating {s.days} days × {s.seconds_per_day:g} s ({model.DAY / s.seconds_per_day:,.0f}× real time), "
          f"{s.commands_per_day} commands and {s.scalars_per_day:,} scalars per day "
          f"({s.commands_per_day / (full.commands_per_s * model.DAY):.2g} of the target volume)", flush=True)
    with tempfile.TemporaryDirectory(prefix="taskstream-simulate-") as workdir:
        async with harness.database(a.database_url) as db:
            c = await calibrate(db, Path(workdir), s)
            print(f"calibration: {c.command_templates} command events, {c.batch_templates} batch events, "
                  f"{c.scalar_templates} scalars through taskstream serve; model inputs: "
                  f"{c.costs.events_per_command:.3f} events/command, {c.costs.log_bytes_per_event:.0f} B/event, "
                  f"{c.costs.log_bytes_per_batch_event:.0f} B/batch event, "
                  f"{c.costs.telemetry_bytes_per_scalar:.0f} B/scalar, "
                  f"WAL {c.costs.wal_bytes_per_scalar:.0f} B/scalar", flush=True)
            month = await run_month(db, s, c, Path(workdir))
    return 0 if verdict(month, s, c) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
