"""`serve --workers 2` against `--workers 1`: command throughput (create, edit, started/stopped) at 32 clients,
and where the CPU goes (target: ≥ 1.1× on the project's 2-core machine).

Both servers run at once, each on a database of its own on the same PostgreSQL (so each has its own audit
subscriber, as in production), and the runs alternate between them (1, 2, 2, 1, ...) to cancel the drift of a
shared machine. During each run the CPU time of three groups of processes is read from /proc: the server (the
`serve` process and its workers), PostgreSQL (the postmaster and its backends) and the load generator (this
process); "other" is the rest of the machine's busy time. From the CPU each command costs the server and
PostgreSQL, the throughput on a machine with more cores is projected (load generator elsewhere, no other
bottleneck): cores ÷ (server + PostgreSQL CPU seconds per command).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from . import processes
from .load import LoadResult, merge, run_timed
from .scenarios import Create, Edit, Scenario, Settings, StartedStopped, Target

SCENARIOS: list[Scenario] = [Create(), Edit(), StartedStopped()]
TARGET_RATIO = 1.1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int, descendants: bool = True) -> float:
    """CPU seconds (user + system) of a process and (unless not `descendants`) its live descendants, from
    /proc/<pid>/stat."""
    pids, seconds = [root], 0.0
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
            for task in Path(f"/proc/{pid}/task").iterdir() if descendants else ():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return seconds


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot, from /proc/stat (idle, iowait and steal excluded)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4] + (values[7] if len(values) > 7 else 0)
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuSplit:
    """Cores used by each group during a run (CPU seconds per wall second)."""

    server: float = 0.0
    postgres: float = 0.0
    generator: float = 0.0
    other: float = 0.0

    def describe(self) -> str:
        return (f"server {self.server:.2f}, PostgreSQL {self.postgres:.2f}, load generator {self.generator:.2f}, "
                f"other {self.other:.2f} cores")


class CpuSampler:
    def __init__(self, server: int, postgres: int) -> None:
        self.roots = {"server": server, "postgres": postgres, "generator": os.getpid()}

    def snapshot(self) -> tuple[float, float, dict[str, float]]:
        # The load generator is this process alone: the servers under test are its children.
        return time.monotonic(), _machine_busy(), {name: _tree_cpu(pid, descendants=name != "generator")
                                                   for name, pid in self.roots.items()}

    def split(self, start: tuple[float, float, dict[str, float]]) -> CpuSplit:
        end = self.snapshot()
        wall = max(end[0] - start[0], 1e-9)
        used = {name: (end[2][name] - start[2][name]) / wall for name in self.roots}
        other = max((end[1] - start[1]) / wall - sum(used.values()), 0.0)
        return CpuSplit(used["server"], used["postgres"], used["generator"], other)


@dataclass
class Side:
    """One server under test and what it measured."""

    workers: int
    target: Target
    sampler: CpuSampler
    runs: dict[str, list[LoadResult]] = field(default_factory=dict)
    cpu: dict[str, list[CpuSplit]] = field(default_factory=dict)


async def _create_database(uri: str, name: str) -> str:
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return urlunsplit(urlsplit(uri)._replace(path=f"/{name}"))


async def _measure(scenario: Scenario, sides: list[Side], settings: Settings, uri: str) -> None:
    from .__main__ import settle

    ops = [await scenario.prepare(side.target, settings) for side in sides]
    for round_ in range(settings.rounds):
        order = [0, 1] if round_ % 2 == 0 else [1, 0]
        for side, op in ((sides[i], ops[i]) for i in order):
            await settle(uri)
            start = side.sampler.snapshot()
            result = await run_timed("127.0.0.1", side.target.command_port, side.target.authorization, op,
                                     settings.clients, settings.warmup, settings.seconds / settings.rounds)
            side.runs.setdefault(scenario.name, []).append(result)
            side.cpu.setdefault(scenario.name, []).append(side.sampler.split(start))
            print(f"  {scenario.name:<16} {side.workers} worker(s) {result.rps:8.0f} req/s  p99 "
                  f"{result.percentile(99):6.1f} ms  errors {result.errors}  {side.cpu[scenario.name][-1].describe()}",
                  file=sys.stderr, flush=True)
    for side in sides:
        scenario.finish(side.target)


def _mean(splits: list[CpuSplit]) -> CpuSplit:
    n = max(len(splits), 1)
    return CpuSplit(*(sum(getattr(s, f) for s in splits) / n for f in ("server", "postgres", "generator", "other")))


def report(sides: list[Side]) -> None:
    one, two = sides
    print(f"\n--workers 2 vs --workers 1 ({os.cpu_count()} CPUs; target ≥ {TARGET_RATIO:g}×)")
    print(f"{'scenario':<16} {'1 worker':>12} {'2 workers':>12} {'ratio':>6}  p99 1w / 2w (ms)   verdict")
    for scenario in SCENARIOS:
        a, b = merge(one.runs[scenario.name]), merge(two.runs[scenario.name])
        ratio = b.rps / a.rps if a.rps else float("nan")
        verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
        print(f"{scenario.name:<16} {a.rps:10.0f}/s {b.rps:10.0f}/s {ratio:6.2f}  "
              f"{a.percentile(99):6.1f} / {b.percentile(99):6.1f}      {verdict}"
              + (f"  (errors {a.errors}/{b.errors})" if a.errors or b.errors else ""))
    print("CPU split during the runs (cores):")
    for side in sides:
        for scenario in SCENARIOS:
            split = _mean(side.cpu[scenario.name])
            rps = merge(side.runs[scenario.name]).rps
            line = f"  {side.workers} worker{'s' if side.workers > 1 else ' '} {scenario.name:<16} {split.describe()}"
            if rps:
                per_call = (split.server + split.postgres) / rps * 1000
                line += (f"; server + PostgreSQL {per_call:.2f} ms CPU per call → ≈ {8000 / per_call:,.0f} calls/s "
                         f"on 8 cores given to them")
            print(line)


async def run_workers_bench(uri: str, postgres_pid: int, workdir: Path, repo: Path, credentials: tuple[str, str],
                            authorization: str, pool: int, settings: Settings) -> None:
    """Start a 1-worker and a 2-worker server on databases of their own, measure both, print the comparison."""
    started: list[processes.ServerProcess] = []
    try:
        sides = []
        for workers in (1, 2):
            url = await _create_database(uri, f"bench_workers_{workers}")
            port = processes.free_port()
            process = processes.start_taskstream(port, url, workdir, repo, credentials, pool, workers=workers,
                                                 name=f"taskstream-{workers}w")
            started.append(process)
            await processes.wait_ready(process, port, "/tasks.get_all", {"task": "ping"}, authorization)
            target = Target(f"{workers}w", port, port, authorization, process)
            sides.append(Side(workers, target, CpuSampler(process.pid, postgres_pid)))
        for scenario in SCENARIOS:
            await _measure(scenario, sides, settings, uri)
        report(sides)
    finally:
        for process in started:
            process.stop()

