"""Closed-loop load: N clients, each on its own keep-alive connection, each repeating an operation.

An operation (``Op``) is any coroutine that makes one or more calls through a ``Client``; every call is
timed on its own. Calls that complete inside the measured window (after the warm-up) are counted;
throughput counts successful calls only, so fast failures cannot inflate it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .http_client import Connection, json_dumps

MAX_ERROR_SAMPLES = 3


@dataclass
class LoadResult:
    """What one load run measured; latencies in milliseconds, sorted."""

    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    generator_cpu: float = 0.0  # CPU seconds this process spent per wall second, warm-up included
    other_cpu: float = 0.0  # cores used by unrelated processes meanwhile (set by the caller, if measured)

    @property
    def ok(self) -> int:
        return len(self.latencies_ms) - self.errors

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of all measured call latencies (NaN when there are none)."""
        values = self.latencies_ms
        if not values:
            return float("nan")
        rank = max(1, -(-len(values) * p // 100))  # ceil without float error
        return values[int(rank) - 1]


def merge(results: list[LoadResult]) -> LoadResult:
    """One result from several runs of the same thing (rounds): durations add, latencies pool."""
    merged = LoadResult(seconds=sum(r.seconds for r in results))
    for result in results:
        merged.latencies_ms += result.latencies_ms
        merged.errors += result.errors
        merged.error_samples += result.error_samples[: MAX_ERROR_SAMPLES - len(merged.error_samples)]
    merged.latencies_ms.sort()
    merged.generator_cpu = max((r.generator_cpu for r in results), default=0.0)
    merged.other_cpu = max((r.other_cpu for r in results), default=0.0)
    return merged


class _Recorder:
    """Collects the calls that complete inside [start, end]."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.result = LoadResult(seconds=end - start)

    def record(self, t0: float, t1: float, error: str | None) -> None:
        if not self.start <= t1 <= self.end:
            return
        self.result.latencies_ms.append((t1 - t0) * 1000.0)
        if error is not None:
            self.result.errors += 1
            if len(self.result.error_samples) < MAX_ERROR_SAMPLES:
                self.result.error_samples.append(error)


class Client:
    """What an operation calls through: one connection plus the recorder of its run."""

    def __init__(self, connection: Connection, recorder: _Recorder | None, index: int) -> None:
        self.connection, self.index = connection, index
        self._recorder = recorder

    async def call(self, path: str, payload: dict[str, Any]) -> Any:
        """POST ``payload`` to ``path``; returns the envelope's ``data``, or None on any error.

        A call is an error unless HTTP 200 and ``meta.result_code == 200``.
        """
        return await self.call_raw(path, json_dumps(payload))

    async def call_raw(self, path: str, body: bytes) -> Any:
        """POST the bytes ``body`` to ``path``, as ``call`` does (e.g. JSON lines on a connection made for them)."""
        t0 = time.perf_counter()
        data, error = None, None
        try:
            response = await self.connection.post(path, body)
            envelope = response.json()
            if response.status != 200 or envelope.get("meta", {}).get("result_code") != 200:
                error = f"{path}: HTTP {response.status} {response.body[:300]!r}"
            else:
                data = envelope.get("data")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            error = f"{path}: {type(exc).__name__}: {exc}"
        if self._recorder is not None:
            self._recorder.record(t0, time.perf_counter(), error)
        return data


Op = Callable[[Client, int], Awaitable[None]]
"""An operation: ``await op(client, seq)``; ``seq`` is a sequence number (per client in timed runs)."""


async def run_timed(
    host: str, port: int, authorization: str | None, op: Op, clients: int, warmup: float, seconds: float
) -> LoadResult:
    """Run ``op`` from ``clients`` clients for ``warmup + seconds``; measure the last ``seconds``."""
    now, cpu = time.perf_counter(), time.process_time()
    recorder = _Recorder(now + warmup, now + warmup + seconds)

    async def worker(index: int) -> None:
        client = Client(Connection(host, port, authorization), recorder, index)
        seq = 0
        try:
            while time.perf_counter() < recorder.end:
                await op(client, seq)
                seq += 1
        finally:
            client.connection.close()

    await asyncio.gather(*(worker(i) for i in range(clients)))
    recorder.result.latencies_ms.sort()
    recorder.result.generator_cpu = (time.process_time() - cpu) / (time.perf_counter() - now)
    return recorder.result


async def run_count(host: str, port: int, authorization: str | None, op: Op, clients: int, total: int) -> None:
    """Run ``op`` exactly ``total`` times spread over ``clients`` clients, unmeasured (set-up)."""
    remaining = iter(range(total))

    async def worker(index: int) -> None:
        client = Client(Connection(host, port, authorization), None, index)
        try:
            for seq in remaining:
                await op(client, seq)
        finally:
            client.connection.close()

    await asyncio.gather(*(worker(i) for i in range(clients)))
