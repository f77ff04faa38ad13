"""The drill's load: clients that drive tasks through their life through HAProxy, every command with an
`Idempotency-Key`, re-sent with the same key on a 5xx or a lost connection until it is answered, and a record of
what each client saw (`Tally`): every command acknowledged, and every stretch of time a call kept failing."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

# Each task's commands, in order; each is one command decided on the task's latest version.
SCRIPT = ("tasks.create", "tasks.edit", "tasks.enqueue", "tasks.dequeue", "tasks.started", "tasks.stopped",
          "tasks.reset", "tasks.edit")
# How long one call may keep failing before the client gives up on it (counted as failed after retries).
GIVE_UP_SECONDS = 90.0


@dataclass
class Outage:
    """A call that failed at least once: from its first failed attempt's start until it was answered."""

    began: float
    failed_at: float  # when the first failure was seen (which fault it belongs to)
    ended: float
    attempts: int
    reason: str  # what the first failed attempt got: a status code or the connection error


@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    reads: int = 0
    failed: list[str] = field(default_factory=list)
    retried_keys: set[str] = field(default_factory=set)
    outages: list[Outage] = field(default_factory=list)
    # task id -> endpoints of its acknowledged commands, in the order sent
    acked: dict[str, list[str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500


async def call(http: httpx.AsyncClient, tally: Tally, endpoint: str, body: dict[str, Any], command: bool
               ) -> dict[str, Any] | None:
    """One call, re-sent (same key for a command) while it fails with a 5xx or a lost connection; its data, or
    None when the server refused it (a 4xx) or it kept failing for GIVE_UP_SECONDS."""
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key} if command else {}
    first_failure: float | None = None
    failed_at, reason = 0.0, ""
    attempts = 0
    while True:
        started = time.monotonic()
        attempts += 1
        try:
            response = await http.post(f"/{endpoint}", json=body, headers=headers)
            failed, why = _retryable(response), str(response.status_code)
        except httpx.TransportError as error:
            response, failed, why = None, True, type(error).__name__
        if not failed:
            break
        if first_failure is None:
            first_failure, failed_at, reason = started, time.monotonic(), why
        if command:
            tally.retried_keys.add(key)
        if time.monotonic() - first_failure > GIVE_UP_SECONDS:
            tally.failed.append(f"{endpoint}: no answer after {attempts} attempts")
            return None
        await asyncio.sleep(0.1 + random.random() * 0.2)
    assert response is not None
    if first_failure is not None:
        tally.outages.append(Outage(first_failure, failed_at, time.monotonic(), attempts, reason))
    meta = response.json()["meta"]
    if meta["result_code"] != 200:
        tally.failed.append(f"{endpoint} {body}: {meta['result_code']}/{meta['result_subcode']} {meta['result_msg']}")
        return None
    if command:
        tally.acknowledged += 1
        tally.keys.add(key)
    else:
        tally.reads += 1
    data: dict[str, Any] = response.json()["data"]
    return data


def _body(endpoint: str, client: int, number: int, task: str | None) -> dict[str, Any]:
    if endpoint == "tasks.create":
        return {"name": f"drill-{client}-{number}", "type": "training"}
    body: dict[str, Any] = {"task": task}
    if endpoint == "tasks.edit":
        body["comment"] = f"edited by client {client} at {time.time():.3f}"
    return body


async def client(url: str, auth: tuple[str, str], tally: Tally, number: int, stop: asyncio.Event) -> None:
    """Create tasks and run each through SCRIPT, with reads between commands, until `stop` is set."""
    mine: list[str] = []
    async with httpx.AsyncClient(base_url=url, auth=auth, timeout=30, limits=httpx.Limits(max_connections=1)) as http:
        count = 0
        while not stop.is_set():
            task: str | None = None
            for endpoint in SCRIPT:
                if stop.is_set():
                    break
                tally.sent += 1
                data = await call(http, tally, endpoint, _body(endpoint, number, count, task), command=True)
                if data is None:
                    break
                task = task or data.get("id")
                if task is None:
                    break
                tally.acked.setdefault(task, []).append(endpoint)
                await _read(http, tally, task, mine)
            if task:
                mine.append(task)
            count += 1


async def _read(http: httpx.AsyncClient, tally: Tally, task: str, mine: list[str]) -> None:
    if random.random() < 0.5:
        await call(http, tally, "tasks.get_by_id", {"task": task}, command=False)
    elif mine:
        await call(http, tally, "tasks.get_all", {"id": mine[-10:], "only_fields": ["id", "status"]}, command=False)
