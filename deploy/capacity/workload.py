"""The realistic sample: what the ClearML SDK and agent send for one task's life, over the HTTP API of a running
`taskstream serve`, so every figure is taken through the real code paths (envelope, auth, command handlers, inline
projections, the audit subscriber behind the log).

One task's commands (LIFECYCLE, 11 calls): create it, edit its script (what `Task.init` records: repository,
entry point, requirements, uncommitted diff), set 20 hyper-parameters and a 1 KB configuration, enqueue it, an
agent dequeues it, marks it started and reports its status, pings it twice and completes it.

Telemetry (`events.add_batch`): JSON lines of `training_stats_scalar` events as the SDK sends them, spread over
`series` metric/variant pairs, iterations increasing.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

REQUIREMENTS = "\n".join(f"package-{n}=={n % 7}.{n % 13}.{n % 5}" for n in range(40))
DIFF = "".join(f"@@ -{n},3 +{n},4 @@\n-    lr = 0.{n}\n+    lr = 0.0{n}\n+    # tuned\n" for n in range(8))
CONFIGURATION = "\n".join(f"section_{n} {{ key_{n}: value_{n}, size: {n * 17}, enabled: true }}" for n in range(24))
LIFECYCLE = ("tasks.create", "tasks.edit", "tasks.edit_hyper_params", "tasks.edit_configuration", "tasks.enqueue",
             "queues.get_next_task", "tasks.started", "workers.status_report", "tasks.ping", "tasks.ping",
             "tasks.completed")


class CallFailed(Exception):
    pass


@dataclass
class Client:
    """An API client of one company (the key pair `taskstream serve` was started with)."""

    http: httpx.AsyncClient
    calls: int = 0

    async def call(self, endpoint: str, body: dict[str, Any]) -> Any:
        response = await self.http.post(f"/v2.23/{endpoint}", json=body)
        self.calls += 1
        meta = response.json()["meta"]
        if meta["result_code"] != 200:
            raise CallFailed(f"{endpoint}: {meta['result_code']}/{meta['result_subcode']} {meta['result_msg']}")
        return response.json()["data"]

    async def add_batch(self, lines: list[dict[str, Any]]) -> None:
        content = "\n".join(json.dumps(line) for line in lines).encode()
        response = await self.http.post("/v2.23/events.add_batch", content=content,
                                        headers={"Content-Type": "application/json-lines"})
        self.calls += 1
        if response.json()["meta"]["result_code"] != 200:
            raise CallFailed(f"events.add_batch: {response.text[:200]}")


def client(base_url: str, auth: tuple[str, str], concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base_url, auth=auth, limits=limits, timeout=60)


@dataclass
class Fixture:
    """The project and queue every task of the sample belongs to."""

    project: str
    queue: str
    worker: str = "capacity-agent:gpu0"


async def fixture(api: Client) -> Fixture:
    project = (await api.call("projects.create", {"name": f"capacity {random.getrandbits(32):x}"}))["id"]
    queue = (await api.call("queues.create", {"name": f"capacity-{random.getrandbits(32):x}"}))["id"]
    await api.call("workers.register", {"worker": Fixture(project, queue).worker, "queues": [queue]})
    return Fixture(project, queue)


def _body(endpoint: str, task: str, number: int, where: Fixture) -> dict[str, Any]:
    bodies: dict[str, dict[str, Any]] = {
        "tasks.edit": {"script": {"repository": "https://github.com/example/vision-models.git", "branch": "main",
                                  "version_num": f"{number:040x}", "entry_point": "train.py",
                                  "working_dir": "projects/classifier", "requirements": {"pip": REQUIREMENTS},
                                  "diff": DIFF}},
        "tasks.edit_hyper_params": {"hyperparams": [
            {"section": "Args", "name": f"param_{n}", "value": str(round(random.random(), 6)), "type": "float"}
            for n in range(20)]},
        "tasks.edit_configuration": {"configuration": [{"name": "General", "value": CONFIGURATION,
                                                        "type": "dictionary"}]},
        "tasks.enqueue": {"queue": where.queue},
        "queues.get_next_task": {"queue": where.queue},
        "workers.status_report": {"worker": where.worker, "task": task, "timestamp": int(time.time() * 1000)},
        "tasks.started": {"force": True},  # the agent's dequeue may have gone to another client's task
        "tasks.ping": {},
        "tasks.completed": {"force": True},
    }
    body = bodies[endpoint]
    if endpoint in ("queues.get_next_task", "workers.status_report"):
        return body
    return {"task": task, **body}


async def task_lifecycle(api: Client, where: Fixture, number: int, until: str = "tasks.completed") -> str:
    """One task through LIFECYCLE (up to and including `until`); returns its id."""
    task = (await api.call("tasks.create", {"name": f"train resnet {number}", "type": "training",
                                            "project": where.project, "comment": "capacity sample"}))["id"]
    for endpoint in LIFECYCLE[1:LIFECYCLE.index(until) + 1]:
        await api.call(endpoint, _body(endpoint, task, number, where))
    return str(task)


async def run_concurrently(count: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """`job(0..count-1)`, at most `concurrency` at a time; the results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int) -> Any:
        async with gate:
            return await job(number)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


@dataclass
class Telemetry:
    """Scalar series of running tasks: each batch reports `batch_size` points for one task, round-robin over the
    task's `series` metric/variant pairs, iterations increasing."""

    tasks: list[str]
    series: int = 12
    iteration: dict[str, int] = field(default_factory=dict)

    def batch(self, task: str, batch_size: int) -> list[dict[str, Any]]:
        start = self.iteration.get(task, 0)
        per_series = max(batch_size // self.series, 1)
        self.iteration[task] = start + per_series
        now = int(time.time() * 1000)
        lines = []
        for n in range(batch_size):
            series = n % self.series
            lines.append({"timestamp": now, "type": "training_stats_scalar", "task": task,
                          "iter": start + n // self.series, "metric": ("loss", "accuracy", "lr")[series % 3],
                          "variant": f"{('train', 'val')[series % 2]}_{series // 6}",
                          "value": random.random(), "allow_locked": False, "model_event": False, "method": "get"})
        return lines


async def report_scalars(api: Client, telemetry: Telemetry, batches: int, batch_size: int, concurrency: int) -> None:
    """`batches` calls of events.add_batch with `batch_size` scalars each, spread over the telemetry's tasks."""
    tasks = telemetry.tasks
    await run_concurrently(batches, concurrency,
                           lambda n: api.add_batch(telemetry.batch(tasks[n % len(tasks)], batch_size)))
