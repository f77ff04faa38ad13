"""Kill -9 under load (issue 9, "Proof, in the suite"): 32 clients send commands with an `Idempotency-Key` to a
real `taskstream serve`; the server is killed with SIGKILL mid-run (its database connections die with it, and
PostgreSQL rolls back what they had not committed) and started again on the same database; each client re-sends
what was not acknowledged, with the same key, until it is. Then: every acknowledged command is in the log exactly
once, no retried command was applied twice, nothing acknowledged is lost, and every read model equals its replay.

The database is one of its own on the test session's PostgreSQL, which survives the kill (an embedded server's
postmaster would outlive its parent too, holding the data directory; a given PostgreSQL is the deployment this
drill is about). Bounded: about 20-40 s on the project's 2-core machine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from taskstream.commands.store import read_stream
from taskstream.projections.replay import replay
from tests.projections.test_replay import MODELS, snapshot
from tests.serve_process import ServeProcess, scratch_database

CLIENTS = 32
TASKS_PER_CLIENT = 6
# Each task's commands, in order; each is one command, decided on the task's latest version.
SCRIPT = ("tasks.create", "tasks.edit", "tasks.started", "tasks.stopped", "tasks.reset")
KILL_AFTER_ACKS = CLIENTS * TASKS_PER_CLIENT * len(SCRIPT) // 3
DEADLINE = 90


@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    acknowledged_before_kill: int = 0
    retried: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    killed: bool = False
    # idempotency key -> (endpoint, task id) of every acknowledged command
    acks: dict[str, tuple[str, str]] = field(default_factory=dict)


def _body(endpoint: str, client: int, number: int, task: str | None) -> dict[str, Any]:
    if endpoint == "tasks.create":
        return {"name": f"drill-{client}-{number}", "type": "training"}
    body: dict[str, Any] = {"task": task}
    if endpoint == "tasks.edit":
        body["comment"] = f"edited by client {client}"
    return body


async def _send_until_acknowledged(http: httpx.AsyncClient, tally: Tally, endpoint: str, body: dict[str, Any]
                                   ) -> dict[str, Any]:
    """Send with one key until the server answers; a lost connection (the kill) means: send again, same key."""
    key = uuid.uuid4().hex
    tally.sent += 1
    while True:
        try:
            response = await http.post(f"/{endpoint}", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            tally.retried.add(key)
            await asyncio.sleep(0.1)
            continue
        meta = response.json()["meta"]
        if meta["result_code"] != 200:
            tally.failures.append(f"{endpoint} {body}: {meta['result_code']}/{meta['result_subcode']} "
                                  f"{meta['result_msg']}")
            return {}
        data: dict[str, Any] = response.json()["data"]
        tally.acknowledged += 1
        if not tally.killed:
            tally.acknowledged_before_kill += 1
        tally.acks[key] = (endpoint, str(data.get("id") or body.get("task")))
        return data


async def _client(server: ServeProcess, tally: Tally, client: int) -> list[str]:
    tasks = []
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=server.url, auth=server.auth, timeout=30, limits=limits) as http:
        for number in range(TASKS_PER_CLIENT):
            task: str | None = None
            for endpoint in SCRIPT:
                data = await _send_until_acknowledged(http, tally, endpoint, _body(endpoint, client, number, task))
                task = task or data.get("id")
            if task:
                tasks.append(task)
    return tasks


async def _kill_and_restart_mid_run(server: ServeProcess, tally: Tally) -> float:
    while tally.acknowledged < KILL_AFTER_ACKS:
        await asyncio.sleep(0.01)
    tally.killed = True
    server.kill()
    started = time.monotonic()
    await asyncio.to_thread(server.start)
    return time.monotonic() - started


async def _streams(conn: asyncpg.Connection, tasks: list[str]) -> dict[str, list[str]]:
    """Each task's commands as the log has them: the endpoint of each distinct request, in stream order."""
    commands: dict[str, list[str]] = {}
    for task in tasks:
        requests: dict[str, str] = {}
        for event in await read_stream(conn, task):
            requests.setdefault(event.metadata["request_id"], event.metadata["endpoint"])
        commands[task] = list(requests.values())
    return commands


async def test_kill_9_under_load_loses_and_duplicates_no_acknowledged_command(
        database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with scratch_database(database_url, "drill") as url:
        server = ServeProcess(url, tmp_path, TASKSTREAM_SUBSCRIBERS="")
        server.start()
        tally = Tally()
        try:
            began = time.monotonic()
            killer = asyncio.create_task(_kill_and_restart_mid_run(server, tally))
            per_client = await asyncio.wait_for(
                asyncio.gather(*(_client(server, tally, c) for c in range(CLIENTS))), DEADLINE)
            downtime = await killer
            elapsed = time.monotonic() - began
        finally:
            server.stop()

        conn = await asyncpg.connect(url)
        try:
            tasks = [t for tasks in per_client for t in tasks]
            streams = await _streams(conn, tasks)
            names = Counter(r["name"] for r in await conn.fetch("SELECT name FROM tasks WHERE name LIKE 'drill-%'"))
            recorded = {r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")}
            live = await snapshot(conn, tuple(t for m in ("tasks", "projects", "queues") for t in MODELS[m]))
            await replay(url, ["tasks", "projects", "queues"], progress=False)
            rebuilt = await snapshot(conn, tuple(live))
        finally:
            await conn.close()

    applied_once = sum(1 for commands in streams.values() if commands == list(SCRIPT)) * len(SCRIPT)
    duplicates = sum(n - 1 for n in names.values()) + sum(
        max(0, len(commands) - len(SCRIPT)) for commands in streams.values())
    lost = len(set(tally.acks) - recorded) + sum(
        max(0, len(SCRIPT) - len(commands)) for commands in streams.values())
    with capsys.disabled():  # the figures show in every run's output, not only when the test fails
        print(f"\nkill -9 drill: {CLIENTS} clients, sent {tally.sent}, acknowledged before the kill "
              f"{tally.acknowledged_before_kill}, retried {len(tally.retried)}, acknowledged {tally.acknowledged}, "
              f"applied once {applied_once}, duplicates {duplicates}, lost {lost}; restart took {downtime:.1f} s, "
              f"run {elapsed:.1f} s; read models equal their replay: {rebuilt == live}")

    assert tally.failures == []
    assert tally.retried, "the kill interrupted no command: the drill proved nothing"
    assert tally.acknowledged == tally.sent == CLIENTS * TASKS_PER_CLIENT * len(SCRIPT)
    assert len(tasks) == CLIENTS * TASKS_PER_CLIENT
    assert {name: n for name, n in names.items() if n != 1} == {}
    assert {task: commands for task, commands in streams.items() if commands != list(SCRIPT)} == {}
    assert set(tally.acks) <= recorded
    assert (duplicates, lost, applied_once) == (0, 0, tally.acknowledged)
    assert rebuilt == live
