"""The benchmarks beyond request/response, run by `make bench` after the HTTP scenarios:

* listing at scale: `get_all` over 10^6 tasks loaded through the event log (targets p50 ≤ 10 ms, p99 ≤ 50 ms);
* replay of the task read model over 10^6 events, beside a COPY of the same rows (target ≥ 100k events/s);
* the scalar histogram at 10^6 points in one task, beside the same downsampling statement in SQL (target p95 ≤ 2×);
* command → Kafka consumer latency at 1000 commands/s through the relay (target p99 ≤ 50 ms), with the local
  broker of `deploy/kafka/kafka.sh` (started here if none runs, and stopped again).

Each part is skipped when its size is 0 (`--listing-rows`, `--replay-events`, `--histogram-iterations`,
`--consumer-rate`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from .histogram import run_histogram_bench
from .listing import run_listing_bench
from .replay_bench import run_consumer_latency_bench, run_replay_bench, scratch_database

REPO = Path(__file__).resolve().parents[2]
KAFKA = ["bash", str(REPO / "deploy" / "kafka" / "kafka.sh")]
BOOTSTRAP = "127.0.0.1:9092"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_replay(result: dict[str, Any]) -> None:
    best, median = result["events_per_s_best"], result["events_per_s_median"]
    print(f"\nreplay of the task read model: {result['events']:,} events, best {result['seconds_best']} s")
    print(f"  events/s: best {best:,}, median {median:,} (target ≥ {result['target_events_per_s']:,}) "
          f"{_verdict(best >= result['target_events_per_s'])}")
    print(f"  COPY of the same {result['copy_rows']:,} rows: best {result['copy_rows_per_s_best']:,} rows/s, "
          f"median {result['copy_rows_per_s_median']:,}; ratio events/s ÷ rows/s: best {result['ratio_best']}, "
          f"median {result['ratio_median']}")
    print(f"  peak RSS {result['peak_rss_mb']} MB (+{result['peak_rss_growth_mb']} MB during the replays); "
          f"load average {result['load_average']}")


def print_latency(result: dict[str, Any]) -> None:
    target = result["target_p99_ms"]
    print(f"\ncommand → Kafka consumer at {result['rate']} commands/s (achieved {result['achieved_rate']}/s): "
          f"{result['received']}/{result['commands']} received")
    print(f"  end to end: p50 {result['p50_ms']} ms, p90 {result['p90_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms (target p99 ≤ {target} ms) "
          f"{_verdict(0 <= result['p99_ms'] <= target and result['received'] == result['commands'])}")
    print(f"  of which the command: p50 {result['command_p50_ms']} ms, p99 {result['command_p99_ms']} ms; "
          f"delivery after commit: p50 {result['delivery_p50_ms']} ms, p99 {result['delivery_p99_ms']} ms; "
          f"load average {result['load_average']:.2f}")


def _kafka(action: str) -> bool:
    return subprocess.run([*KAFKA, action], capture_output=True, text=True).returncode == 0


async def run_extra(uri: str, listing_rows: int, replay_events: int, consumer_rate: int,
                    histogram_iterations: int = 0) -> None:
    """Run the enabled parts against the PostgreSQL server of `uri` (each in a scratch database)."""
    if listing_rows:
        print()
        async with scratch_database(uri) as url:
            await run_listing_bench(url, listing_rows)
    if replay_events:
        print_replay(await run_replay_bench(uri, replay_events))
    if histogram_iterations:
        print()
        async with scratch_database(uri) as url:
            await run_histogram_bench(url, iterations=histogram_iterations)
    if consumer_rate:
        started = not _kafka("status")
        if started and not _kafka("start"):
            print("\ncommand → Kafka consumer: skipped, the local broker did not start", file=sys.stderr)
            return
        try:
            async with scratch_database(uri) as url:
                print_latency(await run_consumer_latency_bench(url, BOOTSTRAP, consumer_rate))
        finally:
            if started:
                _kafka("stop")
