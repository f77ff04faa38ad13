"""`taskstream serve --workers 2`, as real processes: two workers answer on one port, a worker killed -9 is
replaced, the audit subscriber and watchdog run in exactly one of them (a standby takes over), metrics add up
across workers, and each request writes one JSON log line (issue 12)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from taskstream.projections.leadership import BACKGROUND_LOCK_KEY
from taskstream.projections.relay import RELAY_LOCK_KEY
from tests.api.test_database_unavailable import closed_port
from tests.serve_process import ServeProcess, scratch_database

LEADER_SQL = """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database
WHERE datname = current_database()) AND ((l.classid::bigint << 32) | l.objid::bigint) = $1"""


def run_sql(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """`sql` on its own connection, from a thread (callable from sync tests)."""

    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, fetch()).result()


def wait_for(condition: Callable[[], Any], seconds: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not met within {seconds} s")


def log_lines(server: ServeProcess) -> list[dict[str, Any]]:
    """The JSON lines of the server's log (the startup banner is plain text)."""
    lines = []
    for line in server.log.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def request_pids(server: ServeProcess, trxs: set[str]) -> dict[str, int]:
    """trx -> pid of the worker that answered, from the request lines of the log."""
    return {line["trx"]: line["pid"] for line in log_lines(server)
            if line.get("logger") == "taskstream.request" and line.get("trx") in trxs}


def fresh_connection_calls(server: ServeProcess, count: int, endpoint: str = "server.info") -> list[str]:
    """`count` calls, 8 at a time, each on a new connection (the kernel hands each to a worker); their trx."""

    def call(_: int) -> str:
        with httpx.Client(base_url=server.url, auth=server.auth, timeout=10) as client:
            response = client.post(f"/{endpoint}", json={})
        assert response.status_code == 200, response.text
        return str(response.json()["meta"]["trx"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(call, range(count)))


def answering_pids(server: ServeProcess, count: int = 120) -> set[int]:
    trxs = set(fresh_connection_calls(server, count))
    pids = wait_for(lambda: (found := request_pids(server, trxs)) and len(found) == len(trxs) and found,
                    10, "a log line for every request")
    return set(pids.values())


def metric_samples(server: ServeProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric_sum(server: ServeProcess, name: str, **labels: str) -> float:
    return sum(value for (sample, sample_labels), value in metric_samples(server).items()
               if sample == name and all(dict(sample_labels).get(k) == v for k, v in labels.items()))


def leader_pids(database_url: str) -> list[int]:
    return [int(r["application_name"].rsplit(":", 1)[1]) for r in run_sql(database_url, LEADER_SQL,
                                                                             BACKGROUND_LOCK_KEY)]


def relay_leaders(database_url: str) -> int:
    return len(run_sql(database_url, LEADER_SQL, RELAY_LOCK_KEY))


@pytest.fixture(scope="module")
def workers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, str]]:
    with scratch_database(database_url, "workers") as url:
        # A relay per worker, to a broker that is not there: only the election is looked at.
        server = ServeProcess(url, tmp_path_factory.mktemp("workers"), args=(
            "--workers", "2", "--log-format", "json", "--kafka", f"127.0.0.1:{closed_port()}"))
        server.start()
        try:
            wait_for(lambda: len(server.worker_pids()) == 2, what="two workers")
            yield server, url
        finally:
            server.stop()


def test_two_workers_answer_on_one_port(workers: tuple[ServeProcess, str]) -> None:
    server, _ = workers
    pids = wait_for(lambda: len(found := answering_pids(server)) == 2 and found, 60, "both workers answering")
    assert pids == server.worker_pids()


def test_request_counts_add_up_across_workers(workers: tuple[ServeProcess, str]) -> None:
    server, _ = workers
    before = metric_sum(server, "taskstream_http_requests_total", endpoint="server.info", code="200")
    trxs = set(fresh_connection_calls(server, 100))
    assert len(set(wait_for(lambda: (f := request_pids(server, trxs)) and len(f) == 100 and f, 10).values())) == 2
    after = metric_sum(server, "taskstream_http_requests_total", endpoint="server.info", code="200")
    assert after - before == 100
    assert metric_sum(server, "taskstream_http_request_duration_seconds_count", endpoint="server.info") >= 100
    # Gauges are summed over the live workers: both pools (16 connections each at most), one background leader.
    assert wait_for(lambda: metric_sum(server, "taskstream_db_pool_max") == 32, 10, "both pools reported")
    assert metric_sum(server, "taskstream_background_leaders") == 1
    assert metric_sum(server, "taskstream_relay_leaders") == 1
    assert metric_sum(server, "taskstream_subscriber_lag", subscriber="audit") >= 0


def test_one_json_line_per_request_with_its_trx_company_endpoint_and_result(workers: tuple[ServeProcess, str]
                                                                            ) -> None:
    server, url = workers
    with httpx.Client(base_url=server.url, auth=server.auth, timeout=10) as client:
        created = client.post("/tasks.create", json={"name": "logged", "type": "training"}).json()
        missing = client.post("/tasks.get_by_id", json={"task": uuid.uuid4().hex})
        unknown = client.post("/no.such_endpoint", json={})
    company = run_sql(url, "SELECT metadata->>'company' AS company FROM events WHERE stream_id = $1",
                      created["data"]["id"])[0]["company"]
    assert missing.status_code == 400 and unknown.status_code == 404
    trxs = {created["meta"]["trx"], missing.json()["meta"]["trx"], unknown.json()["meta"]["trx"]}
    lines = wait_for(lambda: (found := {line["trx"]: line for line in log_lines(server) if line.get("trx") in trxs})
                     and len(found) == 3 and found, 10, "three request lines")
    line = lines[created["meta"]["trx"]]
    assert {k: line[k] for k in ("logger", "level", "message", "company", "endpoint", "method", "status",
                                 "result_code", "result_subcode")} == {
        "logger": "taskstream.request", "level": "info", "message": "request", "company": company,
        "endpoint": "tasks.create", "method": "POST", "status": 200, "result_code": 200, "result_subcode": 0}
    assert line["duration_ms"] > 0 and line["pid"] in server.worker_pids() and line["time"].endswith("+00:00")
    failed = lines[missing.json()["meta"]["trx"]]
    assert (failed["endpoint"], failed["status"], failed["result_code"], failed["result_subcode"]) == (
        "tasks.get_by_id", 400, 400, missing.json()["meta"]["result_subcode"])
    # An unknown endpoint is answered before authentication: no company.
    assert (lines[unknown.json()["meta"]["trx"]]["endpoint"], lines[unknown.json()["meta"]["trx"]]["company"]) == (
        "unknown", None)
    text = server.log.read_text()
    assert server.secret_key not in text and "Authorization" not in text and "authorization" not in text


def test_a_killed_worker_is_replaced_and_a_standby_takes_over_the_background_work(
        workers: tuple[ServeProcess, str]) -> None:
    server, url = workers
    leaders = wait_for(lambda: leader_pids(url), 15, "a background leader")
    assert len(leaders) == 1 and leaders[0] in server.worker_pids()
    before = server.worker_pids()
    killed = leaders[0]
    os.kill(killed, signal.SIGKILL)
    # Requests keep succeeding: the other worker accepts every new connection meanwhile.
    fresh_connection_calls(server, 40)
    workers_now = wait_for(lambda: len(p := server.worker_pids()) == 2 and killed not in p and p, 30,
                           "a replacement worker")
    assert len(workers_now - before) == 1
    new_leaders = wait_for(lambda: (found := leader_pids(url)) and found[0] != killed and found, 15,
                           "a new background leader")
    assert len(new_leaders) == 1 and new_leaders[0] in workers_now
    # The dead worker's gauges are forgotten: one leader is counted, not two.
    wait_for(lambda: metric_sum(server, "taskstream_background_leaders") == 1, 10, "one leader in the metrics")
    wait_for(lambda: relay_leaders(url) == 1 and metric_sum(server, "taskstream_relay_leaders") == 1, 15,
             "one relay leading")
    assert wait_for(lambda: len(found := answering_pids(server)) == 2 and found, 60, "both workers answering") \
        == workers_now
    assert "killed by SIGKILL" in Path(server.log).read_text()
