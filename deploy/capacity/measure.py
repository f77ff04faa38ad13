"""Measure the per-unit costs the capacity model (model.py, README.md) takes as inputs, through the real code paths.

It starts an embedded PostgreSQL (or a scratch database on --database-url) and `taskstream serve` over it (which
applies the real migrations), then drives three measured phases over HTTP (workload.py):

  commands        N tasks through their whole life (11 calls each: create, edits, enqueue, dequeue, started,
                  status report, pings, completed);
  small batches   events.add_batch with few scalars per call;
  large batches   events.add_batch with many scalars per call.

Before each phase: CHECKPOINT (so every phase pays its full-page images, as a steady state does) and a reset of
pg_stat_statements; after it, a wait until the audit subscriber has caught up with the log (its writes are part of
what a command costs). Per phase: WAL bytes (pg_current_wal_lsn difference), WAL records and full-page images
(pg_stat_wal), commits (pg_stat_database), CPU seconds of PostgreSQL (the postmaster's whole process tree) and of
the API server, and statement execution time (pg_stat_statements). The two batch sizes split a batch's cost into a
fixed part per call and a part per scalar (two equations, two unknowns). Then sizes: bytes per row of `events`,
`task_audit`, `tasks` (compacted by VACUUM FULL, as a finished task's row settles) and `task_events`, each with its
indexes and TOAST.

    .venv/bin/python deploy/capacity/measure.py [--tasks 600] [--json costs.json]

CPU figures depend on this machine (2 shared cores; the load generator runs beside the server); bytes and WAL do
not. The figures are printed as a table, and optionally written as JSON (model.Costs' fields) for the model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import harness
import model
import workload


@dataclass
class Phase:
    """What one measured phase cost, in total."""

    name: str
    calls: int
    units: int  # commands, or scalars
    seconds: float
    wal_bytes: int
    wal_records: int
    wal_fpi: int
    commits: int
    pg_cpu_s: float | None
    api_cpu_s: float | None
    statement_ms: float | None
    top: list[dict[str, Any]]
    wal: harness.WalMakeUp | None

    @property
    def write_commits(self) -> int:
        """Transactions that wrote (commit records in the WAL); all commits when pg_walinspect is missing."""
        return self.wal.commits if self.wal else self.commits


async def _settle(conn: asyncpg.Connection, timeout: float = 120.0) -> None:
    """Wait until the audit subscriber has read the whole log (its checkpoint at the last event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        behind = await conn.fetchval(
            "SELECT coalesce((SELECT max(position) FROM events), 0) > "
            "coalesce((SELECT position FROM checkpoints WHERE name = 'audit'), 0)")
        if not behind:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the audit subscriber did not catch up with the log")


async def measure_phase(db: harness.Database, server: harness.Server, name: str, units: int, work: Any) -> Phase:
    """Run `work()` (returns the number of API calls it made) between two snapshots of every meter."""
    admin = await asyncpg.connect(db.admin_url)
    try:
        # A --database-url role without pg_checkpoint goes without: the phase then pays fewer full-page images.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await admin.execute("CHECKPOINT")
        if db.statements:
            await admin.execute("SELECT pg_stat_statements_reset()")
        pg_cpu, api_cpu = harness.CpuMeter(db.postmaster), harness.CpuMeter(server.process.pid)
        before = await harness.counters(admin)
        pg0, api0, started = pg_cpu.seconds(), api_cpu.seconds(), time.monotonic()
        calls = await work()
        await _settle(admin)
        seconds = time.monotonic() - started
        after, pg1, api1 = await harness.counters(admin), pg_cpu.seconds(), api_cpu.seconds()
        statement_ms, top = None, []
        if db.statements:
            statement_ms, _ = await harness.statements_total(admin)
            top = await harness.top_statements(admin)
        wal = await harness.wal_make_up(admin, before.lsn, after.lsn) if db.walinspect else None
    finally:
        await admin.close()
    return Phase(name, calls, units, seconds, after.wal_lsn - before.wal_lsn, after.wal_records - before.wal_records,
                 after.wal_fpi - before.wal_fpi, after.commits - before.commits,
                 None if pg0 is None or pg1 is None else pg1 - pg0,
                 None if api0 is None or api1 is None else api1 - api0, statement_ms, top, wal)


@dataclass
class Sizes:
    """Bytes per row of the tables the model grows, and their make-up."""

    rows: dict[str, int]
    sizes: dict[str, harness.Size]
    event_types: list[tuple[str, int, float]]  # type, rows, average row bytes (pg_column_size of the row)
    log_split: tuple[float, float, int, int]  # harness.bytes_per_row_of_kind: commands' events, MetricsReported
    audit_split: tuple[float, float, int, int]

    def per_row(self, table: str) -> float:
        return self.sizes[table].total / max(self.rows[table], 1)


TABLES = ("events", "task_audit", "tasks", "task_events")
BATCH_EVENT = "{column} = 'MetricsReported'"  # the one event of an add_batch call


async def measure_sizes(db: harness.Database) -> Sizes:
    admin = await asyncpg.connect(db.admin_url)
    try:
        # Finished tasks' rows settle to their compacted size; the log and telemetry are append-only (no bloat).
        await admin.execute("VACUUM FULL tasks")
        await admin.execute("VACUUM (ANALYZE) events, task_audit, task_events")
        rows = {t: int(await admin.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
        sizes = {t: await harness.relation_size(admin, t) for t in TABLES}
        types = await admin.fetch("SELECT type, count(*) AS n, avg(pg_column_size(e.*))::float AS bytes "
                                  "FROM events e GROUP BY type ORDER BY count(*) DESC")
        log_split = await harness.bytes_per_row_of_kind(admin, "events", BATCH_EVENT.format(column="type"))
        audit_split = await harness.bytes_per_row_of_kind(admin, "task_audit",
                                                          BATCH_EVENT.format(column="event_type"))
    finally:
        await admin.close()
    return Sizes(rows, sizes, [(r["type"], int(r["n"]), float(r["bytes"])) for r in types], log_split, audit_split)


async def events_between(db: harness.Database, phase: Any) -> tuple[Phase, int]:
    """Run the phase and count the log events it appended."""
    conn = await asyncpg.connect(db.url)
    try:
        first = int(await conn.fetchval("SELECT coalesce(max(position), 0) FROM events"))
        result = await phase()
        appended = int(await conn.fetchval("SELECT count(*) FROM events WHERE position > $1", first))
    finally:
        await conn.close()
    return result, appended


@dataclass
class Measurement:
    commands: Phase
    small: Phase
    large: Phase
    small_batch: int
    large_batch: int
    command_events: int
    sizes: Sizes

    def costs(self) -> model.Costs:
        """The model's inputs: per command from the commands phase; per batch and per scalar solved from the two
        batch phases (cost = batches × fixed + scalars × per-scalar)."""
        c, s, big = self.commands, self.small, self.large

        def solve(small_total: float, large_total: float) -> tuple[float, float]:
            # small_total = bs·f + ss·p, large_total = bl·f + sl·p
            bs, ss, bl, sl = s.calls, s.units, big.calls, big.units
            determinant = bs * sl - bl * ss
            fixed = (small_total * sl - large_total * ss) / determinant
            per_scalar = (bs * large_total - bl * small_total) / determinant
            return fixed, per_scalar

        wal_batch, wal_scalar = solve(s.wal_bytes, big.wal_bytes)
        pg_batch, pg_scalar = solve(1000 * (s.pg_cpu_s or 0), 1000 * (big.pg_cpu_s or 0))
        api_batch, api_scalar = solve(1000 * (s.api_cpu_s or 0), 1000 * (big.api_cpu_s or 0))
        return model.Costs(
            events_per_command=self.command_events / c.units,
            log_bytes_per_event=self.sizes.log_split[0], log_bytes_per_batch_event=self.sizes.log_split[1],
            # per log event: queue and project events have no audit row
            audit_bytes_per_event=self.sizes.audit_split[0] * self.sizes.audit_split[2]
            / max(self.sizes.log_split[2], 1),
            audit_bytes_per_batch_event=self.sizes.audit_split[1] * self.sizes.audit_split[3]
            / max(self.sizes.log_split[3], 1),
            task_bytes=self.sizes.per_row("tasks"),
            telemetry_bytes_per_scalar=self.sizes.per_row("task_events"),
            wal_bytes_per_command=c.wal_bytes / c.units, wal_bytes_per_batch=wal_batch,
            wal_bytes_per_scalar=wal_scalar,
            pg_cpu_ms_per_command=1000 * (c.pg_cpu_s or 0) / c.units, pg_cpu_ms_per_batch=pg_batch,
            pg_cpu_ms_per_scalar=pg_scalar,
            api_cpu_ms_per_command=1000 * (c.api_cpu_s or 0) / c.units, api_cpu_ms_per_batch=api_batch,
            api_cpu_ms_per_scalar=api_scalar,
            commits_per_command=c.write_commits / c.units,
        )


async def measure(db: harness.Database, workdir: Path, tasks: int, batches: int, small_batch: int,
                  large_batches: int, large_batch: int, concurrency: int) -> Measurement:
    """The three phases and the sizes, against `taskstream serve` over `db`."""
    async with harness.taskstream_server(db, workdir) as server, \
            workload.client(server.base_url, server.auth, concurrency) as http:
        api = workload.Client(http)
        where = await workload.fixture(api)
        running = await workload.run_concurrently(
            concurrency, concurrency, lambda n: workload.task_lifecycle(api, where, 10**6 + n, until="tasks.started"))
        telemetry = workload.Telemetry(running)

        async def commands() -> int:
            api.calls = 0
            await workload.run_concurrently(tasks, concurrency, lambda n: workload.task_lifecycle(api, where, n))
            return api.calls

        def scalars(count: int, size: int) -> Any:
            async def run() -> int:
                api.calls = 0
                await workload.report_scalars(api, telemetry, count, size, concurrency)
                return api.calls
            return run

        command_units = tasks * len(workload.LIFECYCLE)
        command_phase, command_events = await events_between(
            db, lambda: measure_phase(db, server, "commands", command_units, commands))
        small = await measure_phase(db, server, f"batches of {small_batch}", batches * small_batch,
                                    scalars(batches, small_batch))
        large = await measure_phase(db, server, f"batches of {large_batch}", large_batches * large_batch,
                                    scalars(large_batches, large_batch))
    return Measurement(command_phase, small, large, small_batch, large_batch, command_events,
                       await measure_sizes(db))


def _ms(seconds: float | None, per: float) -> str:
    return "n/a" if seconds is None else f"{1000 * seconds / per:.3f}"


def print_report(m: Measurement) -> None:
    print("\nphases (totals; per unit = per command, or per scalar for the batch phases)")
    print(f"{'phase':<18}{'calls':>7}{'units':>9}{'s':>7}{'calls/s':>9}{'WAL B/unit':>11}{'of it FPI':>10}"
          f"{'commits/unit':>13}{'PG cpu ms/unit':>15}{'API cpu ms/unit':>16}{'SQL ms/unit':>12}")
    for p in (m.commands, m.small, m.large):
        sql = "n/a" if p.statement_ms is None else f"{p.statement_ms / p.units:.3f}"
        fpi = "n/a" if p.wal is None else f"{p.wal.fpi_bytes / p.units:.0f}"
        print(f"{p.name:<18}{p.calls:>7}{p.units:>9}{p.seconds:>7.1f}{p.calls / p.seconds:>9.0f}"
              f"{p.wal_bytes / p.units:>11.0f}{fpi:>10}{p.write_commits / p.units:>13.3f}"
              f"{_ms(p.pg_cpu_s, p.units):>15}{_ms(p.api_cpu_s, p.units):>16}{sql:>12}")
    for p in (m.commands, m.small, m.large):
        if p.wal:
            total = max(sum(p.wal.by_kind.values()), 1)
            print(f"  WAL of {p.name} by kind: " + ", ".join(
                f"{kind} {100 * size / total:.0f} %" for kind, size in
                sorted(p.wal.by_kind.items(), key=lambda item: -item[1])[:5]))
    for p in (m.commands, m.large):
        if p.top:
            print(f"\n  top statements, {p.name}: " + "; ".join(
                f"{t['query'][:48]!r} {t['calls']}× {t['ms'] / max(t['calls'], 1):.3f} ms "
                f"{t['wal'] / max(t['calls'], 1):.0f} B WAL" for t in p.top[:3]))
    print("\ntables (after the phases; `tasks` compacted by VACUUM FULL)")
    print(f"{'table':<13}{'rows':>9}{'heap B/row':>12}{'TOAST B/row':>13}{'index B/row':>13}{'total B/row':>13}")
    for table in TABLES:
        size, rows = m.sizes.sizes[table], max(m.sizes.rows[table], 1)
        print(f"{table:<13}{m.sizes.rows[table]:>9}{size.heap / rows:>12.0f}{size.toast / rows:>13.0f}"
              f"{size.indexes / rows:>13.0f}{size.total / rows:>13.0f}")
    print("\nlog events by type (row bytes as stored, before indexes): " + ", ".join(
        f"{t} {n}× {b:.0f} B" for t, n, b in m.sizes.event_types))
    print("\nthe model's inputs (model.Costs)")
    for key, value in m.costs().as_dict().items():
        print(f"  {key:<28} {value:>12.4g}")
    print("\nthe model at the target load, one primary as model.Primary assumes it")
    for line in model.report(m.costs(), model.Load(), model.Primary()):
        print(f"  {line}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=600, help="tasks driven through their whole life (600)")
    parser.add_argument("--batches", type=int, default=600, help="add_batch calls of the small-batch phase (600)")
    parser.add_argument("--small-batch", type=int, default=10, help="scalars per small batch (10)")
    parser.add_argument("--large-batches", type=int, default=120, help="add_batch calls of the large-batch phase "
                                                                       "(120)")
    parser.add_argument("--large-batch", type=int, default=500, help="scalars per large batch (500)")
    parser.add_argument("--concurrency", type=int, default=16, help="API calls in flight (16)")
    parser.add_argument("--database-url", help="a PostgreSQL server to use (a scratch database is created on it) "
                                               "instead of an embedded one")
    parser.add_argument("--json", type=Path, help="also write the model's inputs (model.Costs) to this file")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="taskstream-measure-") as workdir:
        async with harness.database(args.database_url) as db:
            print(f"measuring: {args.tasks} task lives, {args.batches}×{args.small_batch} and "
                  f"{args.large_batches}×{args.large_batch} scalars, "
                  f"{args.concurrency} in flight, {harness.cpu_count()} cores", flush=True)
            m = await measure(db, Path(workdir), args.tasks, args.batches, args.small_batch, args.large_batches,
                              args.large_batch, args.concurrency)
    print_report(m)
    if args.json:
        args.json.write_text(json.dumps(m.costs().as_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
