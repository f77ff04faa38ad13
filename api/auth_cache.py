"""A small cache of what authentication reads from the database (key pairs, the token signing secret).

Why each rule:
* **ttl** — a revoked key or a rotated secret must stop working within `ttl` seconds on every replica, without
  any message between replicas: each re-reads the row at least that often.
* **single flight** — concurrent misses of one name share one load, so the expiry of a busy key costs one query,
  not one per request in flight.
* **refresh ahead** — a hit in the last third of an entry's life starts a reload in the background and answers
  from the entry meanwhile, so a name in steady use never waits for a load.
* **bounded** — at most `max_entries` names (the oldest loaded go first): a caller inventing names cannot grow it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("taskstream.api.auth")
V = TypeVar("V")
REFRESH_AFTER = 2 / 3  # of the ttl


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    loaded: float  # timer value when its load started: the conservative age


class RefreshingCache(Generic[V]):
    def __init__(self, load: Callable[[str], Awaitable[V]], ttl: float, timer: Callable[[], float],
                 max_entries: int = 10_000) -> None:
        self._load = load
        self.ttl = ttl
        self._timer = timer
        self._max_entries = max_entries
        self._entries: dict[str, _Entry[V]] = {}
        self._loads: dict[str, asyncio.Task[V]] = {}

    async def get(self, name: str) -> V:
        """The value of `name`, at most `ttl` seconds old; a failed load raises to the callers waiting for it."""
        entry = self._entries.get(name)
        age = self._timer() - entry.loaded if entry is not None else self.ttl
        if entry is not None and age < self.ttl:
            if age >= self.ttl * REFRESH_AFTER:
                self._start_load(name)
            return entry.value
        return await asyncio.shield(self._start_load(name))

    def seed(self, name: str, value: V) -> None:
        """Start `name` with a value known now (no load)."""
        self._store(name, _Entry(value, self._timer()))

    def peek(self, name: str) -> V | None:
        entry = self._entries.get(name)
        return entry.value if entry is not None else None

    async def settle(self) -> None:
        """Wait for the loads in flight (background refreshes included); their failures are theirs."""
        while self._loads:
            await asyncio.wait(list(self._loads.values()))

    async def close(self) -> None:
        for task in list(self._loads.values()):
            task.cancel()
        await asyncio.gather(*self._loads.values(), return_exceptions=True)

    def _start_load(self, name: str) -> asyncio.Task[V]:
        task = self._loads.get(name)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load_and_store(name))
            self._loads[name] = task
            task.add_done_callback(lambda done: self._finished(name, done))
        return task

    async def _load_and_store(self, name: str) -> V:
        started = self._timer()
        value = await self._load(name)
        self._store(name, _Entry(value, started))
        return value

    def _finished(self, name: str, task: asyncio.Task[V]) -> None:
        if self._loads.get(name) is task:
            del self._loads[name]
        # A failed background refresh keeps the old entry until it expires; whoever loads next sees the error.
        if not task.cancelled() and task.exception() is not None:
            log.warning("loading %r for authentication failed: %r", name, task.exception())

    def _store(self, name: str, entry: _Entry[V]) -> None:
        self._entries.pop(name, None)  # re-inserted last: the dict's order is the eviction order
        self._entries[name] = entry
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]
