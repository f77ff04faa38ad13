"""Benchmark harness behind ``make bench`` (run as ``python -m tests.bench``).

It starts an embedded PostgreSQL, the taskstream server and two minimal reference apps
(``reference_apps``) on that same database, drives each with the same raw keep-alive HTTP load
(``http_client``, ``load``), and prints every figure beside the reference measured in the same run
(``report``), against the targets of DESIGN.md "Performance".

Modules:

- ``http_client`` — a minimal asyncio HTTP/1.1 keep-alive client, so the load generator costs little CPU.
- ``load`` — closed-loop load: N clients, warm-up then a measured window, per-call latencies.
- ``scenarios`` — ``Target`` (what is measured), ``Scenario`` (what is sent, and its goal) and the
  built-in scenarios; add a scenario by writing one class and listing it in ``SCENARIOS``.
- ``processes`` — embedded PostgreSQL and the server subprocesses: start, wait ready, RSS, stop.
- ``reference_apps`` — the two raw FastAPI + asyncpg apps the ratios are taken against.
- ``report`` — ``print_table`` and the RSS line.
- ``listing`` (get_all beside its own SQL), ``ingestion`` (events.add_batch beside COPY), ``consumer_latency``
  (command → Kafka consumer through ``taskstream relay``), ``replay_bench`` (replay beside one cursor), ``histogram``,
  ``startup`` (warm ``taskstream serve`` start) — the parts beyond the HTTP scenarios (``extra`` runs some).
- ``summary`` — the closing table: one line per target with its same-run reference and a PASS/MISS verdict.

Running is a report, not a test: the exit code is 0 even when a goal is missed, non-zero only when the
harness itself fails.
"""
