"""What is measured: targets (the systems under load), scenarios (the load and its goal).

A scenario prepares, per target and unmeasured, whatever it needs (e.g. tasks to edit) and returns the
operation the load generator repeats. Both targets get the same operation on the same wire protocol, so
the ratio compares like with like. To add a scenario: subclass ``Scenario``, list it in ``SCENARIOS``.

Scenarios share each target's pool of task ids: ``create`` harvests the ids it creates, and the
later scenarios take from them, creating more (unmeasured) only when short.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .load import Client, LoadResult, Op, run_count
from .processes import ServerProcess

CREATE_BODY = {"name": "bench task", "type": "training"}


@dataclass(frozen=True)
class Settings:
    """How hard and how long to push each target in each scenario.

    ``seconds`` are measured in total, split over ``rounds`` runs that alternate between the server and
    the reference (ABBA...), each run after ``warmup`` unmeasured seconds; alternating cancels most of
    the drift of a shared machine.
    """

    clients: int = 32
    warmup: float = 2.0
    seconds: float = 8.0
    rounds: int = 2

    @property
    def busy_seconds(self) -> float:
        """Wall time one target is loaded per scenario, warm-ups included."""
        return self.rounds * self.warmup + self.seconds


@dataclass
class Target:
    """One system under measurement: where commands and queries go, its process, its task ids."""

    name: str
    command_port: int
    query_port: int
    authorization: str | None
    process: ServerProcess | None = None
    stateful: bool = True  # False for the reference apps: any id may be reused, nothing needs pre-creating
    fresh_ids: list[str] = field(default_factory=list)  # status "created", untouched by state changes
    all_ids: list[str] = field(default_factory=list)
    results: dict[str, LoadResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pids: dict[int, int] = field(default_factory=dict)  # port → the pid of the process answering there


@dataclass(frozen=True)
class Goal:
    """A scenario's target: throughput ratio to the reference, and optionally a p99 ceiling as a multiple of the
    reference's p99 in the same run (never an absolute time: the machine's speed varies by several times)."""

    min_ratio: float
    max_p99_factor: float | None = None

    def describe(self) -> str:
        text = f"ratio>={self.min_ratio:g}"
        return text + (f", p99<={self.max_p99_factor:g}x ref" if self.max_p99_factor is not None else "")


class Scenario(ABC):
    """One row of the table. ``kind`` picks the reference app: ``command`` or ``query``.

    A scenario with ``reference_scenario`` set is measured on the server only: its reference is the server's own
    result of that scenario in the same run (``get_all`` pages against ``get_by_id``), which must run before it.
    """

    name: str
    kind: Literal["command", "query"]
    goal: Goal
    unit: str = "call"  # what one counted request is; throughput is in these per second
    reference_scenario: str | None = None

    def authorization(self, target: Target) -> str | None:
        """The Authorization header of the load's calls (the target's own unless the scenario needs another)."""
        return target.authorization

    @abstractmethod
    async def prepare(self, target: Target, settings: Settings) -> Op:
        """Set up (unmeasured) on ``target`` and return the operation to repeat under load."""

    def finish(self, target: Target) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Called after the measured run on ``target``: add notes to ``target.notes`` if any."""

    def port(self, target: Target) -> int:
        return target.command_port if self.kind == "command" else target.query_port


def _create_op(target: Target) -> Op:
    async def create(client: Client, seq: int) -> None:
        data = await client.call("/tasks.create", CREATE_BODY)
        if data and data.get("id"):
            target.fresh_ids.append(data["id"])
            target.all_ids.append(data["id"])

    return create


async def ensure_fresh_tasks(target: Target, count: int, settings: Settings) -> None:
    """Create tasks (unmeasured) until ``target`` has ``count`` fresh ids; RuntimeError if creation fails."""
    missing = count - len(target.fresh_ids)
    if missing > 0:
        op = _create_op(target)
        await run_count("127.0.0.1", target.command_port, target.authorization, op, settings.clients, missing)
    if len(target.fresh_ids) < count:
        raise RuntimeError(f"{target.name}: could only create {len(target.fresh_ids)} of {count} tasks")


def take_fresh(target: Target, count: int) -> list[str]:
    """Remove and return ``count`` fresh ids, so no other scenario changes their state."""
    taken = target.fresh_ids[-count:]
    del target.fresh_ids[-count:]
    return taken


class Create(Scenario):
    name, kind, goal = "create", "command", Goal(0.8, 1.5)

    async def prepare(self, target: Target, settings: Settings) -> Op:
        return _create_op(target)


class Edit(Scenario):
    """``tasks.edit`` of a comment; each client edits only its own few tasks, so clients never race."""

    name, kind, goal = "edit", "command", Goal(0.8, 1.5)
    tasks_per_client = 4

    async def prepare(self, target: Target, settings: Settings) -> Op:
        await ensure_fresh_tasks(target, settings.clients * self.tasks_per_client, settings)
        ids = take_fresh(target, settings.clients * self.tasks_per_client)
        per_client = self.tasks_per_client

        async def edit(client: Client, seq: int) -> None:
            task = ids[client.index * per_client + seq % per_client]
            await client.call("/tasks.edit", {"task": task, "comment": f"bench edit {seq}"})

        return edit


class StartedStopped(Scenario):
    """``tasks.started`` then ``tasks.stopped`` on a fresh task; each of the two calls counts as one.

    On a stateful target, fresh tasks are pre-created for three times the best command rate measured on
    it so far; if they still run out, stopped tasks are restarted with ``force: true`` and a note says
    how often. The reference apps keep no state, so there any id is simply reused.
    """

    name, kind, goal = "started/stopped", "command", Goal(0.8, 1.5)
    default_rps = 2000.0
    safety = 3.0

    def __init__(self) -> None:
        self._forced: dict[str, list[int]] = {}

    def pairs_needed(self, target: Target, settings: Settings) -> int:
        """Tasks to pre-create: pairs/s is half the call rate, times the busy seconds, times ``safety``."""
        if not target.stateful:
            return settings.clients
        scenarios = {s.name for s in SCENARIOS if s.kind == "command"}
        rates = [r.rps for name, r in target.results.items() if name in scenarios and r.rps > 0]
        rps = max(rates, default=self.default_rps)
        return math.ceil(rps / 2 * settings.busy_seconds * self.safety) + settings.clients

    async def prepare(self, target: Target, settings: Settings) -> Op:
        pairs = self.pairs_needed(target, settings)
        await ensure_fresh_tasks(target, pairs, settings)
        fresh = take_fresh(target, pairs)
        # Why each client restarts only its own last task: two clients on one task would contend for
        # its row (and, on the server, conflict), which neither side of the comparison should pay for.
        last: dict[int, str] = {} if target.stateful else dict(enumerate(fresh))
        if not target.stateful:
            fresh.clear()
        self._forced[target.name] = forced = [0]

        async def started_stopped(client: Client, seq: int) -> None:
            if fresh:
                task, extra = fresh.pop(), {}
            else:
                task, extra = last.get(client.index) or random.choice(list(last.values())), {"force": True}
                forced[0] += 1
            if await client.call("/tasks.started", {"task": task, **extra}) is not None:
                await client.call("/tasks.stopped", {"task": task})
            last[client.index] = task

        return started_stopped

    def finish(self, target: Target) -> None:
        forced = self._forced.pop(target.name, [0])[0]
        if forced and target.stateful:
            target.notes.append(f"{self.name}: fresh tasks ran out, {forced} restarts used force=true")


class GetById(Scenario):
    """``tasks.get_by_id`` of a random task among those created so far."""

    name, kind, goal = "get_by_id", "query", Goal(0.9)
    min_tasks = 1000

    async def prepare(self, target: Target, settings: Settings) -> Op:
        missing = self.min_tasks - len(target.all_ids)
        if missing > 0:
            await ensure_fresh_tasks(target, len(target.fresh_ids) + missing, settings)
        ids = list(target.all_ids)

        async def get_by_id(client: Client, seq: int) -> None:
            await client.call("/tasks.get_by_id", {"task": random.choice(ids)})

        return get_by_id


LISTING_AUTHORIZATION: dict[str, str] = {}  # "authorization": a key pair of the listing company, when it is loaded


class ListingPages(Scenario):
    """``tasks.get_all`` 50-row pages over the listing company (``--listing-rows`` tasks, loaded before the servers
    start), 32 clients; the reference is the server's own ``get_by_id`` throughput of the same run (issue 13)."""

    kind, goal, reference_scenario = "query", Goal(0.5), "get_by_id"

    def __init__(self, name: str, make: Callable[[random.Random, list[str]], dict[str, Any]]) -> None:
        self.name, self.make = name, make

    def authorization(self, target: Target) -> str | None:
        return LISTING_AUTHORIZATION.get("authorization")

    async def prepare(self, target: Target, settings: Settings) -> Op:
        from .generate import project_ids

        projects = project_ids()
        rng = random.Random(hash(self.name))

        async def page(client: Client, seq: int) -> None:
            await client.call("/tasks.get_all", self.make(rng, projects))

        return page


def _status_page(rng: random.Random, projects: list[str]) -> dict[str, Any]:
    return {"status": rng.sample(["created", "stopped", "completed", "failed", "in_progress", "published"],
                                 rng.randint(1, 2)), "system_tags": ["-archived"], "order_by": ["-last_update"],
            "page": rng.choice([0, 0, 1]), "page_size": 50,
            "only_fields": ["id", "name", "status", "type", "last_update", "tags", "user", "project"]}


def _project_tags_page(rng: random.Random, projects: list[str]) -> dict[str, Any]:
    from .generate import TAGS

    return {"project": [rng.choice(projects)], "tags": [rng.choice(TAGS)], "system_tags": ["-archived"],
            "order_by": ["-last_update"], "page": 0, "page_size": 50,
            "only_fields": ["id", "name", "status", "type", "last_update", "tags", "user", "project"]}


SCENARIOS: list[Scenario] = [Create(), Edit(), StartedStopped(), GetById(),
                             ListingPages("get_all status", _status_page),
                             ListingPages("get_all proj+tags", _project_tags_page)]

