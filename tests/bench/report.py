"""The printed report: one table row per scenario, the server's RSS, notes and error samples."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from . import summary
from .load import LoadResult
from .scenarios import Goal

RSS_LIMIT_MB = 200.0


@dataclass(frozen=True)
class Row:
    """A scenario measured on the server and on its reference."""

    scenario: str
    goal: Goal
    server: LoadResult
    reference: LoadResult
    reference_name: str = "ref app"  # what the reference is: a reference app, or another scenario of the server

    @property
    def ratio(self) -> float:
        return self.server.rps / self.reference.rps if self.reference.rps > 0 else float("nan")

    def verdict(self) -> str:
        """PASS, or MISS with the reasons: low ratio, high p99, or any failed request."""
        reasons = []
        if not self.ratio >= self.goal.min_ratio:
            reasons.append("ratio")
        if self.goal.max_p99_factor is not None and \
                not self.server.percentile(99) <= self.goal.max_p99_factor * self.reference.percentile(99):
            reasons.append("p99")
        if self.server.errors:
            reasons.append("errors")
        return "PASS" if not reasons else "MISS (" + ", ".join(reasons) + ")"


COLUMNS = [
    ("scenario", 17), ("ts req/s", 9), ("p50 ms", 7), ("p99 ms", 7), ("errors", 6),
    ("ref req/s", 9), ("p50 ms", 7), ("p99 ms", 7), ("errors", 6),
    ("ratio", 6), ("target", 25), ("verdict", 0),
]


def _cells(row: Row) -> list[str]:
    s, r = row.server, row.reference
    return [
        row.scenario, f"{s.rps:.0f}", f"{s.percentile(50):.1f}", f"{s.percentile(99):.1f}", str(s.errors),
        f"{r.rps:.0f}", f"{r.percentile(50):.1f}", f"{r.percentile(99):.1f}", str(r.errors),
        f"{row.ratio:.2f}", row.goal.describe(), row.verdict(),
    ]


def _line(cells: list[str]) -> str:
    parts = [cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, (_, width)) in
             enumerate(zip(cells, COLUMNS, strict=True))]
    return "  ".join(parts).rstrip()


def summarize(rows: list[Row]) -> None:
    """Record each row as a line of the closing table (`summary`)."""
    for row in rows:
        s, r = row.server, row.reference
        figure = f"{s.rps:.0f}/s, p99 {s.percentile(99):.1f} ms"
        reference = f"{row.reference_name} {r.rps:.0f}/s, p99 {r.percentile(99):.1f} ms"
        target = row.goal.describe().replace("ratio>=", ">= ").replace("x ref", "x")
        summary.record(row.scenario, figure, reference, row.ratio, target, row.verdict() == "PASS")


def print_table(rows: list[Row], out: TextIO = sys.stdout) -> None:
    """Print the table; ``ts`` columns are the server, ``ref`` columns its reference in the same run."""
    header = _line([name for name, _ in COLUMNS])
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in rows:
        print(_line(_cells(row)), file=out)


def print_rss(name: str, rss_bytes: int, out: TextIO = sys.stdout) -> None:
    """Print the process RSS against the 200 MB target."""
    mb = rss_bytes / 2**20
    verdict = "PASS" if 0 < mb <= RSS_LIMIT_MB else "MISS"
    print(f"{name} RSS after load: {mb:.0f} MB (target <= {RSS_LIMIT_MB:.0f} MB)  {verdict}", file=out)
    summary.record("API process RSS after all", f"{mb:.0f} MB", "-", mb / RSS_LIMIT_MB,
                   f"<= {RSS_LIMIT_MB:.0f} MB", verdict == "PASS")


NOISY_OTHER_CORES = 0.25


def print_noise(rows: list[Row], out: TextIO = sys.stdout) -> None:
    """Warn when unrelated processes took CPU during the runs: then the figures say little."""
    worst = max((r.other_cpu for row in rows for r in (row.server, row.reference)), default=0.0)
    if worst > NOISY_OTHER_CORES:
        print(f"WARNING: other processes used up to {worst:.2f} of the machine's cores during a run; "
              "figures are noisy (rerun on an idle machine, or raise BENCH_SECONDS / BENCH_ROUNDS)", file=out)
    else:
        print(f"other processes used at most {worst:.2f} cores during any run", file=out)


def print_details(rows: list[Row], notes: list[str], out: TextIO = sys.stdout) -> None:
    """Print notes from the scenarios and a few failed-request samples per run."""
    for note in notes:
        print(f"note: {note}", file=out)
    for row in rows:
        for side, result in (("ts", row.server), ("ref", row.reference)):
            for sample in result.error_samples:
                print(f"error sample [{row.scenario}, {side}]: {sample}", file=out)
