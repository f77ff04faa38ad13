"""The closing table of `make bench`: one line per target of issue 13 / DESIGN.md "Performance", each with its
figure, the reference measured in the same run, their ratio, the target and a PASS/MISS verdict.

Each part of the bench records its line here as it finishes (`record`); `print_summary` prints them all at the end,
so the verdicts are in one place however long the run and its progress output were.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Line:
    """One target: what was measured, against what, and whether the target holds."""

    name: str
    figure: str
    reference: str
    ratio: float
    target: str
    ok: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.ok else "MISS"


LINES: list[Line] = []


def record(name: str, figure: str, reference: str, ratio: float, target: str, ok: bool) -> Line:
    """Add a line to the closing table (and return it)."""
    line = Line(name, figure, reference, ratio, target, ok and not math.isnan(ratio))
    LINES.append(line)
    return line


def ratio(value: float, reference: float) -> float:
    """value ÷ reference, NaN when the reference is not positive (a MISS: nothing to compare with)."""
    return value / reference if reference > 0 else float("nan")


def print_summary(out: TextIO = sys.stdout) -> None:
    """Print every recorded line as a table, with the load average at the end."""
    if not LINES:
        return
    widths = [max(len(getattr(line, name)) for line in LINES) for name in ("name", "figure", "reference", "target")]
    widths = [max(w, len(title)) for w, title in zip(widths, ("what", "taskstream", "reference", "target"),
                                                          strict=True)]
    head = (f"{'what':<{widths[0]}}  {'taskstream':<{widths[1]}}  {'reference':<{widths[2]}}  "
            f"{'ratio':>6}  {'target':<{widths[3]}}  verdict")
    print("\nsummary (issue 13 targets; every reference measured in this run)", file=out)
    print(head, file=out)
    print("-" * len(head), file=out)
    for line in LINES:
        print(f"{line.name:<{widths[0]}}  {line.figure:<{widths[1]}}  {line.reference:<{widths[2]}}  "
              f"{line.ratio:6.2f}  {line.target:<{widths[3]}}  {line.verdict}", file=out)
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", file=out)
