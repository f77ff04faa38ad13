"""The API's own Prometheus metrics, correct with several worker processes.

`taskstream serve` always runs prometheus-client in multiprocess mode: before any worker starts it creates a fresh
directory and names it in PROMETHEUS_MULTIPROC_DIR (removed again at exit); every process writes its values to
memory-mapped files there and `/metrics`, whichever worker answers it, adds up the files of all of them. So
counters and histograms add up across workers (a worker killed -9 keeps its counts), and the gauges are summed over
the live workers only (`livesum`: the supervisor forgets a dead worker's files). Without that variable (tests in one
process) the default in-process registry is used.

Per request the middleware (`api.observability`) makes three writes (the request counter, the histogram's bucket
and sum) through cached label children: no lookup by label values; the in-flight gauge is sampled instead. Labels
are bounded: `endpoint` is a known endpoint name (or one of a few fixed route names, else `unknown`), `code` the
HTTP status (equal to the envelope's result_code), `subcode` the envelope's result_subcode.

Beside them `/metrics` shows what the database knows (`projections.metrics`): the log head and each subscriber's
position and lag (the relay's is `subscriber="relay"`).
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from taskstream.projections.background import Background

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("taskstream_http_requests", "API requests answered, by endpoint, HTTP status and result subcode.",
                   ["endpoint", "code", "subcode"])
LATENCY = Histogram("taskstream_http_request_duration_seconds", "Time to answer an API request, by endpoint and "
                    "HTTP status.", ["endpoint", "code"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
IN_FLIGHT = Gauge("taskstream_http_requests_in_flight", "API requests being answered now.",
                  multiprocess_mode="livesum")


class Load:
    """Requests this process is answering now: a plain integer per request (no metrics file write), published
    to IN_FLIGHT by `sample` every second and at each scrape."""

    in_flight = 0
POOL_SIZE = Gauge("taskstream_db_pool_size", "Open connections of the API processes' PostgreSQL pools.",
                  multiprocess_mode="livesum")
POOL_IDLE = Gauge("taskstream_db_pool_idle", "Idle connections of the API processes' PostgreSQL pools.",
                  multiprocess_mode="livesum")
POOL_MAX = Gauge("taskstream_db_pool_max", "Most connections the API processes' pools may open.",
                 multiprocess_mode="livesum")
BACKGROUND_LEADERS = Gauge("taskstream_background_leaders", "API processes running the audit subscriber and the "
                           "watchdog (1 when they run; 0 while they run elsewhere or nowhere).",
                           multiprocess_mode="livesum")
RELAY_LEADERS = Gauge("taskstream_relay_leaders", "API processes publishing the log to Kafka (1 with --kafka).",
                      multiprocess_mode="livesum")
CONFLICTS = Counter("taskstream_command_conflicts", "Commands rolled back by a concurrent change (deadlock, or a "
                    "stale stream version), by reason.", ["reason"])
RETRIES = Counter("taskstream_command_retries", "Retried commands answered with their first answer (same "
                  "Idempotency-Key).")


def observe_command(outcome: str) -> None:
    """The unit of work's outcomes (`CommandContext.observe`): a replayed answer is a client's retry, the rest are
    conflicts."""
    if outcome == "replayed":
        RETRIES.inc()
    else:
        CONFLICTS.labels(outcome).inc()


@lru_cache(maxsize=4096)
def request_series(endpoint: str, code: int, subcode: int) -> tuple[Counter, Histogram]:
    """The label children of one (endpoint, code, subcode); cached, since the label sets are few and bounded."""
    return REQUESTS.labels(endpoint, str(code), str(subcode)), LATENCY.labels(endpoint, str(code))


def exposition() -> bytes:
    """Every process's metrics in the Prometheus text format (all workers' when in multiprocess mode)."""
    IN_FLIGHT.set(Load.in_flight)
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()



def sample(pool: asyncpg.Pool, background: Background) -> None:
    """Set this process's gauges that are states rather than events: its pool, whether it leads."""
    IN_FLIGHT.set(Load.in_flight)
    POOL_SIZE.set(pool.get_size())
    POOL_IDLE.set(pool.get_idle_size())
    POOL_MAX.set(pool.get_max_size())
    BACKGROUND_LEADERS.set(int(background.leadership is not None and background.leadership.leading.is_set()))
    RELAY_LEADERS.set(int(background.relay is not None and background.relay.leading.is_set()))


async def sample_forever(pool: asyncpg.Pool, background: Background, interval: float = 1.0) -> None:
    """`sample` every `interval` seconds until cancelled (each worker its own: a scrape reads them all)."""
    while True:
        sample(pool, background)
        await asyncio.sleep(interval)
