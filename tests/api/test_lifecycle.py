"""A real `taskstream serve`'s lifecycle (issue 12): SIGTERM drains (ready answers 503 `draining`), lets a slow
request in flight finish and exits 0; a request that outlives TASKSTREAM_SHUTDOWN_TIMEOUT is cancelled (its command
rolls back) and the server still exits 0 in bounded time; when PostgreSQL stops and starts again under a running
server, calls answer 503 in the envelope meanwhile and 200 again afterwards, without a restart."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from taskstream.api.database import EmbeddedPostgres
from taskstream.commands.store import stream_lock_key
from tests.api.test_serve_workers import leader_pids, run_sql, wait_for
from tests.serve_process import ServeProcess, scratch_database


class StreamLockHolder:
    """Holds a task's stream lock in an open transaction (what a concurrent command does), so a command on that
    task waits: a real slow request. `release()` commits."""

    def __init__(self, database_url: str, task_id: str) -> None:
        self.held, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._hold(database_url, task_id),), daemon=True)
        self.thread.start()
        assert self.held.wait(10)

    async def _hold(self, database_url: str, task_id: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", stream_lock_key(task_id))
                self.held.set()
                while not self.released.is_set():
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    def release(self) -> None:
        self.released.set()
        self.thread.join(10)


class Call(threading.Thread):
    """One API call in a thread of its own; `result` is the response or the transport error."""

    def __init__(self, server: ServeProcess, endpoint: str, body: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.server, self.endpoint, self.body = server, endpoint, body
        self.result: httpx.Response | Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            self.result = httpx.post(f"{self.server.url}/{self.endpoint}", json=self.body, auth=self.server.auth,
                                     timeout=60)
        except httpx.HTTPError as error:
            self.result = error


def waiting_on_a_lock(database_url: str) -> bool:
    return bool(run_sql(database_url, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database() AND pid <> pg_backend_pid()"))


def create_task(server: ServeProcess) -> str:
    response = httpx.post(f"{server.url}/tasks.create", json={"name": "slow", "type": "training"}, auth=server.auth)
    return str(response.json()["data"]["id"])


def versions(database_url: str, task_id: str) -> int:
    return int(run_sql(database_url, "SELECT count(*) AS n FROM events WHERE stream_id = $1", task_id)[0]["n"])


@pytest.fixture
def scratch(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "lifecycle") as url:
        yield url


def test_sigterm_drains_lets_the_slow_request_finish_and_exits_0(scratch: str, tmp_path: Path) -> None:
    server = ServeProcess(scratch, tmp_path, args=("--workers", "2"), TASKSTREAM_DRAIN_SECONDS="2",
                          TASKSTREAM_SHUTDOWN_TIMEOUT="30")
    server.start()
    try:
        task = create_task(server)
        lock = StreamLockHolder(scratch, task)
        edit = Call(server, "tasks.edit", {"task": task, "comment": "finished while draining"})
        wait_for(lambda: waiting_on_a_lock(scratch), 10, "the edit waiting for the task's lock")
        terminated = time.monotonic()
        server.terminate()
        ready = wait_for(lambda: (r := httpx.get(f"{server.url}/health/ready", timeout=5)).status_code == 503 and r,
                         5, "ready answering 503 while draining")
        assert ready.json() == {"status": "draining"}
        time.sleep(max(0.0, terminated + 3 - time.monotonic()))  # past the drain: no longer accepting
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.url}/health/live", timeout=5)
        assert edit.is_alive() and server.process is not None and server.process.poll() is None
        lock.release()
        edit.join(30)
        assert isinstance(edit.result, httpx.Response) and edit.result.status_code == 200, edit.result
        assert server.process.wait(30) == 0
        assert versions(scratch, task) == 2  # the edit committed
    finally:
        server.stop()


def test_a_request_past_the_shutdown_timeout_is_cancelled_and_the_server_exits_0(scratch: str,
                                                                                 tmp_path: Path) -> None:
    server = ServeProcess(scratch, tmp_path, TASKSTREAM_SHUTDOWN_TIMEOUT="2")  # one process: the in-process path
    server.start()
    lock = None
    try:
        task = create_task(server)
        lock = StreamLockHolder(scratch, task)
        edit = Call(server, "tasks.edit", {"task": task, "comment": "never finishes"})
        wait_for(lambda: waiting_on_a_lock(scratch), 10, "the edit waiting for the task's lock")
        started = time.monotonic()
        server.terminate()
        assert server.process is not None and server.process.wait(20) == 0
        assert time.monotonic() - started < 10
        edit.join(10)
        assert not (isinstance(edit.result, httpx.Response) and edit.result.status_code == 200)
        lock.release()
        lock = None
        assert versions(scratch, task) == 1  # the cancelled edit rolled back
    finally:
        if lock is not None:
            lock.release()
        server.stop()


def _call(server: ServeProcess) -> httpx.Response | None:
    try:
        return httpx.post(f"{server.url}/tasks.get_all", json={"only_fields": ["id"]}, auth=server.auth, timeout=10)
    except httpx.TransportError:
        return None


def test_a_database_restart_answers_503_meanwhile_and_200_after(tmp_path: Path) -> None:
    database = EmbeddedPostgres(tmp_path / "db")
    url = database.url
    server = ServeProcess(url, tmp_path / "serve", args=("--workers", "2"))
    (tmp_path / "serve").mkdir()
    try:
        server.start()
        assert _call(server) is not None and _call(server).status_code == 200  # type: ignore[union-attr]
        database.stop()
        answer = wait_for(lambda: (r := _call(server)) is not None and r.status_code == 503 and r, 20, "a 503")
        meta = answer.json()["meta"]
        assert (meta["result_code"], answer.headers["retry-after"]) == (503, "1")
        assert httpx.get(f"{server.url}/health/ready", timeout=10).status_code == 503
        database = EmbeddedPostgres(tmp_path / "db")
        assert database.url == url
        wait_for(lambda: (r := _call(server)) is not None and r.status_code == 200, 30, "a 200 again")
        for _ in range(20):
            response = _call(server)
            assert response is not None and response.status_code == 200
        assert httpx.get(f"{server.url}/health/ready", timeout=10).status_code == 200
        # The background work is led again, by exactly one worker.
        assert len(wait_for(lambda: leader_pids(url), 15, "a background leader")) == 1
    finally:
        server.stop()
        database.stop()
