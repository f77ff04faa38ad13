"""The benchmarks beyond the HTTP scenarios' table:

* run while the server still runs (`run_latency`): command → Kafka consumer latency through `taskstream relay`, with
  the local broker of `deploy/kafka/kafka.sh` (started here if none runs, and left running);
* run after the servers stopped (`run_extra`): replay of the task read model beside one cursor reading the same
  events; the scalar histogram at 10^6 points in one task beside the same downsampling statement in SQL.

Each part is skipped when its size is 0 (`--replay-events`, `--histogram-iterations`, `--consumer-rate`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from . import consumer_latency, summary
from .histogram import run_histogram_bench
from .replay_bench import run_replay_bench, scratch_database

REPO = Path(__file__).resolve().parents[2]
KAFKA = ["bash", str(REPO / "deploy" / "kafka" / "kafka.sh")]
BOOTSTRAP = "127.0.0.1:9092"
REPLAY_RATIO = 0.5  # replay events/s ≥ 0.5× one cursor's read of the same events
LATENCY_FACTOR = 2.0  # end-to-end p99 ≤ 2× the command's own p99


def print_replay(result: dict[str, Any]) -> None:
    rate, read = result["events_per_s_median"], result["read_events_per_s_median"]
    ratio = result["read_ratio_median"]
    print(f"\nreplay of the task read model: {result['events']:,} events, best {result['seconds_best']} s")
    print(f"  replay events/s: best {result['events_per_s_best']:,}, median {rate:,}")
    print(f"  one cursor reading the same {result['read_events']:,} events: best "
          f"{result['read_events_per_s_best']:,}/s, median {read:,}/s; ratio (medians) {ratio} "
          f"(target >= {REPLAY_RATIO:g})")
    print(f"  COPY of the final {result['copy_rows']:,} rows (for scale): median "
          f"{result['copy_rows_per_s_median']:,} rows/s")
    growth = max(result["peak_rss_growth_mb"], result["helper_rss_growth_mb"])
    print(f"  peak RSS {result['peak_rss_mb']} MB (+{result['peak_rss_growth_mb']} MB during the replays; a helper "
          f"fold process +{result['helper_rss_growth_mb']} MB); load average {result['load_average']}")
    summary.record(f"replay tasks, {result['events']:,} events", f"{rate:,} ev/s (+{growth} MB)",
                   f"1 cursor {read:,} ev/s", ratio, f">= {REPLAY_RATIO:g}", ratio >= REPLAY_RATIO)


def print_latency(result: dict[str, Any]) -> None:
    bound = LATENCY_FACTOR * result["command_p99_ms"]
    ok = 0 <= result["p99_ms"] <= bound and result["received"] == result["commands"] - result["failed"] \
        and not result["failed"]
    print(f"\ncommand → Kafka consumer at {result['rate']} commands/s (achieved {result['achieved_rate']}/s): "
          f"{result['received']}/{result['commands']} received, {result['failed']} failed")
    print(f"  end to end: p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms (target p99 ≤ {LATENCY_FACTOR:g}× the command's)")
    print(f"  of which the command (sent → answered): p50 {result['command_p50_ms']} ms, p99 "
          f"{result['command_p99_ms']} ms; delivery after the answer: p50 {result['delivery_p50_ms']} ms, "
          f"p99 {result['delivery_p99_ms']} ms; load average {result['load_average']:.2f}")
    summary.record(f"command → Kafka at {result['rate']}/s", f"p99 {result['p99_ms']} ms",
                   f"command p99 {result['command_p99_ms']} ms",
                   summary.ratio(result["p99_ms"], result["command_p99_ms"]), f"p99 <= {LATENCY_FACTOR:g}x", ok)


def _kafka(action: str) -> bool:
    return subprocess.run([*KAFKA, action], capture_output=True, text=True).returncode == 0


async def run_latency(uri: str, port: int, authorization: str, rate: float) -> None:
    """Command → Kafka consumer latency at `rate` commands/s against the server at `port` (database `uri`).

    A broker started here is left running (`deploy/kafka/kafka.sh stop` stops it): on a shared machine others may
    have started using it meanwhile."""
    if not _kafka("status") and not _kafka("start"):
        print("\ncommand → Kafka consumer: skipped, the local broker did not start", file=sys.stderr)
        return
    print_latency(await consumer_latency.run(uri, BOOTSTRAP, port, authorization, rate))


async def run_extra(uri: str, replay_events: int, histogram_iterations: int = 0) -> None:
    """Run the enabled parts against the PostgreSQL server of `uri` (each in a scratch database)."""
    if replay_events:
        print_replay(await run_replay_bench(uri, replay_events))
    if histogram_iterations:
        print()
        async with scratch_database(uri) as url:
            await run_histogram_bench(url, iterations=histogram_iterations)
