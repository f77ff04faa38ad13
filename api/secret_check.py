"""Checking a secret against its stored scrypt hash without stalling the server.

* **Off the event loop**: scrypt (~100 ms of CPU) runs in a small thread pool (`TASKSTREAM_AUTH_HASH_THREADS`);
  `hashlib.scrypt` releases the GIL, so the loop keeps serving while it runs, and at most that many hashes run at
  once whatever the number of callers.
* **One hash in flight per key**: callers presenting the same secret for a key while it is being hashed await
  that hash (single flight); a different secret for the same key waits its turn, so guesses against one key are
  hashed one at a time and the per-key backoff (`admit`) is consulted before each.
* **Unknown keys cost the same**: a key that does not exist is hashed against `UNKNOWN_KEY_HASH`, with the same
  parameters, so neither the time nor the answer tells which keys exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from taskstream.commands.accounts import UNKNOWN_KEY_HASH, verify_secret


@dataclass(frozen=True)
class _Flight:
    fingerprint: bytes
    task: asyncio.Future[bool]


class SecretChecker:
    def __init__(self, threads: int, verify: Callable[[str, str], bool] = verify_secret) -> None:
        self._verify = verify
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="taskstream-scrypt")
        self._flights: dict[str, _Flight] = {}

    async def matches(self, access_key: str, fingerprint: bytes, secret: str, stored: str | None,
                      admit: Callable[[], None]) -> bool:
        """Whether `secret` (whose SHA-256 is `fingerprint`) matches `stored` (None: no such key). `admit` runs
        before this caller starts a hash of its own and may raise to refuse it."""
        while (flight := self._flights.get(access_key)) is not None:
            if flight.fingerprint == fingerprint:
                return await asyncio.shield(flight.task)
            await asyncio.wait([flight.task])
        admit()
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(self._threads, self._verify, secret, stored or UNKNOWN_KEY_HASH)
        mine = self._flights[access_key] = _Flight(fingerprint, task)
        task.add_done_callback(lambda _: self._flights.pop(access_key) if self._flights.get(access_key) is mine
                               else None)
        return await asyncio.shield(task)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
