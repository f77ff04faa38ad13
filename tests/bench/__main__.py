"""``python -m tests.bench``: start everything, run every scenario on server and reference, print the report.

Options (each also settable by environment variable, flag wins):
  --seconds  BENCH_SECONDS    measured seconds per target and scenario, over all rounds (default 8)
  --warmup   BENCH_WARMUP     warm-up seconds before each run, not measured (default 2)
  --clients  BENCH_CLIENTS    concurrent keep-alive clients (default 32)
  --rounds   BENCH_ROUNDS     runs per target and scenario, alternating server/reference (default 2)
  --pool     BENCH_POOL_SIZE  PostgreSQL pool size of the server and of each reference app (default 16)
  --only     BENCH_ONLY       comma-separated scenario names (default all)
  --self-test BENCH_SELF_TEST=1  measure the reference apps in the "ts" columns (no server needed)
  --keep     BENCH_KEEP=1     keep the work directory (logs, pgdata) and print its path
  --listing-rows   BENCH_LISTING_ROWS   tasks of the listing company, loaded before the servers start, for the
                   get_all lines (1 client beside its SQL; 32 clients beside get_by_id) (default 200000; the
                   issue's size is 1000000, whose load alone took 15 min on the shared machine; 0 skips)
  --listing-queries BENCH_LISTING_QUERIES  single-client get_all queries per shape (default 300; 0 skips them)
  --ingest-seconds BENCH_INGEST_SECONDS  measured seconds per side of the events.add_batch bench (default 8; 0 skips)
  --replay-events  BENCH_REPLAY_EVENTS  events for the replay bench (default 300000; the issue's size is 1000000;
                   0 skips it)
  --histogram-iterations BENCH_HISTOGRAM_ITERATIONS  iterations of each of the 100 series of the histogram
                   bench (default 10000, 10^6 points; 0 skips it)
  --consumer-rate  BENCH_CONSUMER_RATE  commands/s for the Kafka latency bench (default -1: half the `edit`
                   capacity measured in this run, 500/s when edit did not run; 0 skips it)
  --startup        BENCH_STARTUP        1 (default) measures `taskstream serve` start, warm; 0 skips it
  --web-rows       BENCH_WEB_ROWS       tasks for the web UI bench, tests/bench/web.py (default 200000; 0 skips it)
  --statements     BENCH_PG_STATEMENTS=1  after each server run, PostgreSQL's busiest statements in it
                   (pg_stat_statements: calls, ms per call, share of the run's execution time)
  --workers-bench  BENCH_WORKERS_BENCH  on (default): also compare `serve --workers 2` with `--workers 1` on the
                   command scenarios, with the CPU split (tests/bench/workers.py); only: nothing else; off: skip it
A run at the issue's sizes (BENCH_LISTING_ROWS=1000000 BENCH_REPLAY_EVENTS=1000000) took 39 minutes on the
project's 2-core machine shared with other test runs, hence the smaller defaults; for quick
iterations e.g. `--only create --seconds 4 --listing-rows 0 --replay-events 0 --histogram-iterations 0
--consumer-rate 0 --ingest-seconds 0 --startup 0`.
Exit status: 0 when the report was printed (goals missed or not), 1 when the harness failed, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from taskstream.commands.accounts import DEFAULT_COMPANY, add_credentials, generate_key_pair
from taskstream.commands.store import latest_readable

from . import listing, processes, reference_apps
from .extra import run_extra, run_latency
from .generate import USERS
from .http_client import basic_auth
from .ingestion import run_ingestion_bench
from .load import LoadResult, merge, run_timed
from .report import Row, print_details, print_noise, print_rss, print_table, summarize
from .scenarios import LISTING_AUTHORIZATION, SCENARIOS, ListingPages, Scenario, Settings, Target
from .startup import run_startup_bench
from .summary import print_summary
from .workers import CpuSampler, run_workers_bench

REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY, SECRET_KEY = "benchkey", "benchsecret"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "8")))
    parser.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP", "2")))
    parser.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "32")))
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "2")))
    parser.add_argument("--pool", type=int, default=int(env("BENCH_POOL_SIZE", "16")))
    parser.add_argument("--only", default=env("BENCH_ONLY", ""))
    parser.add_argument("--self-test", action="store_true", default=env("BENCH_SELF_TEST") == "1")
    parser.add_argument("--keep", action="store_true", default=env("BENCH_KEEP") == "1")
    parser.add_argument("--listing-rows", type=int, default=int(env("BENCH_LISTING_ROWS", "200000")))
    parser.add_argument("--replay-events", type=int, default=int(env("BENCH_REPLAY_EVENTS", "300000")))
    parser.add_argument("--histogram-iterations", type=int, default=int(env("BENCH_HISTOGRAM_ITERATIONS", "10000")))
    parser.add_argument("--listing-queries", type=int, default=int(env("BENCH_LISTING_QUERIES", "300")))
    parser.add_argument("--ingest-seconds", type=float, default=float(env("BENCH_INGEST_SECONDS", "8")))
    parser.add_argument("--consumer-rate", type=int, default=int(env("BENCH_CONSUMER_RATE", "-1")))
    parser.add_argument("--startup", type=int, default=int(env("BENCH_STARTUP", "1")))
    parser.add_argument("--web-rows", type=int, default=int(env("BENCH_WEB_ROWS", "200000")))
    parser.add_argument("--statements", action="store_true", default=env("BENCH_PG_STATEMENTS") == "1")
    parser.add_argument("--workers-bench", choices=("on", "only", "off"), default=env("BENCH_WORKERS_BENCH", "on"))
    return parser.parse_args(argv)


def select_scenarios(only: str, listing: bool = True) -> list[Scenario]:
    """The scenarios named in ``only`` (all when empty), with the ones they take their reference from; the listing
    pages only when the listing company is loaded. SystemExit on an unknown name."""
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; known: {[s.name for s in SCENARIOS]}")
    chosen = [s for s in SCENARIOS if (not names or s.name in names) and (listing or not isinstance(s, ListingPages))]
    needed = {s.reference_scenario for s in chosen} - {None}
    return [s for s in SCENARIOS if s in chosen or s.name in needed]


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop when installed (the generator's own CPU cost is smaller there).

    SIGINT and SIGTERM cancel the coroutine and surface as KeyboardInterrupt, so the caller's cleanup
    runs; a signal raised from inside an I/O callback would instead leave a traceback per transport.
    """
    try:
        import uvloop

        run: Callable[[Coroutine[Any, Any, Any]], Any] = uvloop.run
    except ImportError:
        run = asyncio.run
    return run(_cancel_on_signals(coroutine))


async def _cancel_on_signals(coroutine: Coroutine[Any, Any, Any]) -> Any:
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await coroutine
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        signal.signal(signal.SIGTERM, _terminate)  # remove_signal_handler reset it to the default


async def prepare_database(uri: str) -> str:
    """Create the reference tables; returns the PostgreSQL version string."""
    connection = await asyncpg.connect(uri)
    try:
        await reference_apps.create_schema(connection)
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def settle(uri: str) -> None:
    """Vacuum, analyze and checkpoint before a run.

    Why: the previous run leaves dead tuples, fresh inserts and dirty pages behind; without this,
    autovacuum and the checkpointer wake up during the next run and tax whichever target runs second.
    """
    connection = await asyncpg.connect(uri)
    try:
        await connection.execute("VACUUM (ANALYZE)")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def settle_backlog(uri: str, subscriber: str = "audit", timeout: float = 120.0) -> None:
    """Wait until the server's in-process `subscriber` has read the whole log, then `settle` and have the kernel
    write out its dirty pages.

    Why before the command → Kafka line: right after the ingestion bench the server's audit trail is still folding
    tens of thousands of `MetricsReported`, and the disk is still writing the pages they dirtied, so each COMMIT's
    WAL flush queued behind them (pg_stat_activity: COMMITs waiting in WalSync and WalInitWrite; a command's p99 at
    half capacity 0.2-1.4 s against 45 ms when that line ran alone). The line measures delivery, not that backlog.
    """
    connection = await asyncpg.connect(uri)
    try:
        began = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - began < timeout:
            last = await latest_readable(connection)
            at = await connection.fetchrow(
                "SELECT txid::text::bigint AS txid, position FROM checkpoints WHERE name = $1", subscriber)
            if last is None or (at is not None and (at["txid"], at["position"]) >= (last.txid, last.position)):
                break
            await asyncio.sleep(0.5)
        print(f"\n(the server's {subscriber} subscriber read the log in "
              f"{asyncio.get_running_loop().time() - began:.1f} s; then VACUUM, CHECKPOINT, sync)", flush=True)
    finally:
        await connection.close()
    await settle(uri)
    os.sync()


def _progress(scenario: Scenario, target: Target, result: LoadResult, cpu: str) -> None:
    print(f"  {scenario.name:<16} {target.name:<10} {result.rps:8.0f} req/s  "
          f"p50 {result.percentile(50):6.1f} ms  p99 {result.percentile(99):6.1f} ms  "
          f"errors {result.errors}  generator CPU {result.generator_cpu:4.0%}  "
          f"other processes {result.other_cpu:.2f} cores  {cpu}",
          file=sys.stderr, flush=True)


def cpu_per_request(sampler: CpuSampler | None, start: Any, result: LoadResult) -> str:
    """CPU milliseconds per request of the process answering and of PostgreSQL (all its backends) during a run.
    Why: on a machine whose cores are all busy the throughput follows the CPU each request costs in total."""
    if sampler is None or result.rps <= 0:
        return ""
    split = sampler.split(start)
    app, postgres = (split.server * 1000 / result.rps, split.postgres * 1000 / result.rps)
    # A backend that exited during the run takes its CPU out of the tree's sum: the difference can go below zero.
    shown = f"{postgres:.2f} ms" if postgres >= 0 else "n/a (a backend exited)"
    return f"CPU/request: app {app:.2f} ms, PostgreSQL {shown}"


STATEMENTS: list[bool] = []  # non-empty with --statements


async def print_statements(uri: str, result: LoadResult | None, top: int = 8) -> None:
    """The statements that took most of PostgreSQL's execution time since the last call (then reset); with no
    `result`, only the reset."""
    connection = await asyncpg.connect(uri)
    try:
        if result is None:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await connection.execute("SELECT pg_stat_statements_reset()")
            return
        rows = await connection.fetch(
            r"""SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
               FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1""", top)
        total = await connection.fetchval("SELECT sum(total_exec_time) FROM pg_stat_statements") or 1.0
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()
    requests = max(result.ok, 1)
    print(f"    PostgreSQL execution {total / requests:.3f} ms per request; busiest statements:", file=sys.stderr)
    for row in rows:
        print(f"    {row['total_exec_time'] / total:5.1%} {row['calls'] / requests:5.2f}/req "
              f"{row['total_exec_time'] / max(row['calls'], 1):7.3f} ms  {row['query']}", file=sys.stderr)


async def measure(
    scenario: Scenario, targets: tuple[Target, Target], settings: Settings, uri: str, meter: processes.CpuMeter
) -> None:
    """Prepare both targets, then run ``settings.rounds`` alternating runs; results land in ``target.results``."""
    if scenario.reference_scenario is not None:
        targets = targets[:1]  # measured on the server only; its reference is another scenario's result
    ops = [await scenario.prepare(target, settings) for target in targets]
    runs: dict[str, list[LoadResult]] = {target.name: [] for target in targets}
    for round_ in range(settings.rounds):
        order = [0, 1][:len(targets)] if round_ % 2 == 0 else [1, 0][-len(targets):]
        for target, op in ((targets[i], ops[i]) for i in order):
            await settle(uri)
            pid = target.pids.get(scenario.port(target))
            sampler = CpuSampler(pid, meter.postgres_pid) if pid and meter.postgres_pid else None
            if STATEMENTS and target.stateful:
                await print_statements(uri, None)
            start = sampler.snapshot() if sampler else None
            meter.start()
            result = await run_timed(
                "127.0.0.1", scenario.port(target), scenario.authorization(target), op,
                settings.clients, settings.warmup, settings.seconds / settings.rounds,
            )
            result.other_cpu = meter.stop()[0]
            runs[target.name].append(result)
            _progress(scenario, target, result, cpu_per_request(sampler, start, result))
            if STATEMENTS and target.stateful:
                await print_statements(uri, result)
    for target in targets:
        target.results[scenario.name] = merge(runs[target.name])
        scenario.finish(target)


async def run_bench(scenarios: list[Scenario], server: Target, reference: Target, settings: Settings,
                    uri: str, header: str, meter: processes.CpuMeter) -> None:
    """Run every scenario on both targets, then print the report."""
    for scenario in scenarios:
        await measure(scenario, (server, reference), settings, uri, meter)
    rows = [_row(s, server, reference) for s in scenarios]
    print()
    print(header)
    print_table(rows)
    summarize(rows)
    print()
    print_noise(rows)
    print_details(rows, server.notes + reference.notes)


def _row(scenario: Scenario, server: Target, reference: Target) -> Row:
    if scenario.reference_scenario is None:
        return Row(scenario.name, scenario.goal, server.results[scenario.name], reference.results[scenario.name])
    own = server.results.get(scenario.reference_scenario, LoadResult(seconds=0))
    return Row(scenario.name, scenario.goal, server.results[scenario.name], own, f"ts {scenario.reference_scenario}")


Readiness = tuple[processes.ServerProcess, int, str, str | None]  # process, port, path, Authorization


async def wait_all_ready(started: list[Readiness]) -> None:
    await asyncio.gather(*(
        processes.wait_ready(process, port, path, {"task": "ping"}, auth)
        for process, port, path, auth in started
    ))


def start_targets(args: argparse.Namespace, uri: str, workdir: Path, started: list[Any]) -> tuple[Target, Target]:
    """Start the reference apps (and the server unless self-testing), wait until all answer.

    Every process started is appended to ``started`` at once, so it is stopped even if a later one fails.
    """
    auth = basic_auth(ACCESS_KEY, SECRET_KEY)
    ports = {name: processes.free_port() for name in ("command_app", "query_app", "taskstream")}
    waits: list[Readiness] = []
    for name in ("command_app", "query_app"):
        started.append(processes.start_reference_app(name, ports[name], uri, workdir, REPO, args.pool))
        waits.append((started[-1], ports[name], "/debug.ping", None))
    command_app = started[-2]
    reference = Target("ref", ports["command_app"], ports["query_app"], auth, command_app, stateful=False,
                       pids={ports["command_app"]: started[-2].pid, ports["query_app"]: started[-1].pid})
    if args.self_test:
        server = Target("ts=ref", ports["command_app"], ports["query_app"], auth, command_app, stateful=False)
    else:
        started.append(processes.start_taskstream(
            ports["taskstream"], uri, workdir, REPO, (ACCESS_KEY, SECRET_KEY), args.pool))
        waits.append((started[-1], ports["taskstream"], "/tasks.get_all", auth))
        server = Target("taskstream", ports["taskstream"], ports["taskstream"], auth, started[-1],
                        pids={ports["taskstream"]: started[-1].pid})
    run_async(wait_all_ready(waits))
    return server, reference


async def load_listing(uri: str, rows: int) -> None:
    """Load the listing company (before the servers start: the load drops and rebuilds the task indexes) and give
    its first user a key pair for the get_all lines."""
    await listing.load(uri, rows)
    connection = await asyncpg.connect(uri)
    try:
        key, secret = generate_key_pair()
        await add_credentials(connection, USERS[0], key, secret)
    finally:
        await connection.close()
    LISTING_AUTHORIZATION["authorization"] = basic_auth(key, secret)


def consumer_rate(args: argparse.Namespace, server: Target) -> float:
    """The rate of the Kafka latency bench: as given, or half the measured `edit` capacity (500/s unmeasured)."""
    if args.consumer_rate >= 0:
        return float(args.consumer_rate)
    edit = server.results.get("edit")
    return edit.rps / 2 if edit is not None and edit.rps > 0 else 500.0


async def run_http_parts(args: argparse.Namespace, uri: str, server: Target) -> None:
    """The parts that need the running server beside the scenarios: single-client listing beside its SQL,
    ingestion beside COPY, command → Kafka consumer latency."""
    if args.listing_rows and args.listing_queries > 0 and "authorization" in LISTING_AUTHORIZATION:
        print(f"\nget_all, 1 client over HTTP, {args.listing_rows} tasks, beside the same SQL on asyncpg")
        await listing.measure_pages(uri, listing.over_http(server.query_port, LISTING_AUTHORIZATION["authorization"]),
                                    args.listing_queries)
    if args.ingest_seconds > 0:
        await run_ingestion_bench(uri, server.command_port, server.authorization or "", DEFAULT_COMPANY,
                                  args.ingest_seconds)
    rate = consumer_rate(args, server)
    if rate > 0:
        await settle_backlog(uri)
        await run_latency(uri, server.command_port, server.authorization or "", rate)


def start_and_run(args: argparse.Namespace, workdir: Path, started: list[Any]) -> None:
    """Everything between PostgreSQL start and stop; what is started is appended to ``started``."""
    pg = processes.start_postgres(workdir)
    started.append(pg)
    uri = pg.get_uri()
    version = run_async(prepare_database(uri))
    if args.statements:
        STATEMENTS.append(True)
        run_async(print_statements(uri, None))  # creates the extension
    if args.workers_bench == "only":
        run_workers_comparison(args, uri, pg.get_pid(), workdir)
        return
    if args.listing_rows and not args.self_test:
        run_async(load_listing(uri, args.listing_rows))
    server, reference = start_targets(args, uri, workdir, started)
    meter = processes.CpuMeter([pg.get_pid()] + [p.pid for p in started if isinstance(p, processes.ServerProcess)],
                               postgres_pid=pg.get_pid())
    settings = Settings(args.clients, args.warmup, args.seconds, max(1, args.rounds))
    header = (f"taskstream bench{' (SELF-TEST: ts columns are the reference apps)' if args.self_test else ''}: "
              f"{settings.clients} clients, pool {args.pool}, per target: {settings.rounds} alternating runs of "
              f"{settings.warmup:g} s warm-up + {settings.seconds / settings.rounds:g} s measured, "
              f"{os.cpu_count()} CPUs, PostgreSQL {version}, Python {platform.python_version()}")
    print("servers ready; running scenarios (progress on stderr)", file=sys.stderr, flush=True)
    scenarios = select_scenarios(args.only, listing=bool(LISTING_AUTHORIZATION))
    run_async(run_bench(scenarios, server, reference, settings, uri, header, meter))
    if not args.self_test:
        run_async(run_http_parts(args, uri, server))
    if server.process is not None:
        print()
        print_rss(server.name, server.process.rss_bytes())
    for item in [p for p in started if isinstance(p, processes.ServerProcess)]:
        item.stop()  # the HTTP servers are done: the parts below measure alone
    run_async(run_extra(uri, args.replay_events, args.histogram_iterations))
    if args.web_rows:  # the web UI: tasks table vs get_all, live updates (tests/bench/web.py)
        from .web import run_web_bench

        run_async(run_web_bench(uri, args.web_rows))
        from .web_charts import run_charts_bench  # the task page's charts at 10^6 points (tests/bench/web_charts.py)

        run_async(run_charts_bench(uri))
    if args.workers_bench == "on":
        run_workers_comparison(args, uri, pg.get_pid(), workdir)
    if args.startup:
        run_async(run_startup_bench())
    print_summary()


def run_workers_comparison(args: argparse.Namespace, uri: str, postgres_pid: int, workdir: Path) -> None:
    settings = Settings(args.clients, args.warmup, args.seconds, max(2, args.rounds))
    run_async(run_workers_bench(uri, postgres_pid, workdir, REPO, (ACCESS_KEY, SECRET_KEY),
                                basic_auth(ACCESS_KEY, SECRET_KEY), args.pool, settings))


def stop_all(started: list[Any]) -> None:
    """Stop servers in reverse start order (PostgreSQL last); keeps going past individual failures."""
    for item in reversed(started):
        try:
            if isinstance(item, processes.ServerProcess):
                item.stop()
            else:
                processes.stop_postgres(item)
        except Exception:  # noqa: BLE001 - shutdown must reach every process
            traceback.print_exc()


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    select_scenarios(args.only)  # fail fast on a typo
    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="taskstream-bench-"))
    if args.statements:
        os.environ["BENCH_PG_STATEMENTS"] = "1"  # read by processes.start_postgres
    started: list[Any] = []
    try:
        start_and_run(args, workdir, started)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - report the harness failure, then clean up
        traceback.print_exc()
        return 1
    finally:
        stop_all(started)
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
