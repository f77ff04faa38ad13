"""The task read model's bulk load (replay step 1), as a pipeline over several processes.

Each part of the log (a range of stream ids, `LogSnapshot.stream_bounds`) goes through one pipeline: PostgreSQL
reads it as stream rows (`LogSnapshot.streams`: each stream's events grouped into one JSON array), Python folds each
stream into its task row as the rows arrive, and the rows stream into one COPY into the shadow table. The read, the
fold and the write overlap (two PostgreSQL backends and one Python process per part).

Why several processes: the fold is the longest of the three and runs in one Python thread; with one part, the two
backends and the fold share the cores, and the fold waits for its turn while PostgreSQL waits for the fold. With a
part per process the cores stay busier (2 cores, 3·10^5 events, alternating runs: the load took 1.3-1.55 s in two
parts against 1.65-1.8 s in one; the fold is ~1 s of CPU per 3·10^5 events, PostgreSQL's read and COPY another
~1 s). The first part runs here;
the others in child processes forked from this one (no start-up: the code is already imported), each reading in the
snapshot this process exported (`imported_snapshot`), so all parts see exactly the same events. A child reports its
event count, or its error, through a pipe; any failure fails the load, and the children are stopped before
`replay_model` drops the shadows.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import AsyncIterator, Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import asyncpg
from tqdm import tqdm

from taskstream.commands.store import LogSnapshot, StreamRange, imported_snapshot, snapshot_of_log
from taskstream.projections.replay_models import TaskFolder

# Parts of the log folded at once: about one per two cores (each part keeps a Python process and two PostgreSQL
# backends busy), at least two (the fold and PostgreSQL overlap better in two pipelines even on 2 cores).
PARTS = min(max(2, (os.cpu_count() or 2) // 2), 8)


class _CopyStream:
    """One COPY into `table` for a whole part, fed rows as they are folded: PostgreSQL parses and stores them while
    Python folds the next ones, with no round trip or wait per chunk (a COPY per chunk waits for its end). At most
    DEPTH lists of rows wait in memory; a full queue makes the fold wait for PostgreSQL."""

    DEPTH = 8

    def __init__(self, conn: asyncpg.Connection, table: str, columns: tuple[str, ...]) -> None:
        self.queue: asyncio.Queue[list[tuple[Any, ...]] | None] = asyncio.Queue(self.DEPTH)
        self.copy = asyncio.create_task(conn.copy_records_to_table(table, records=self._records(), columns=columns))

    async def _records(self) -> AsyncIterator[tuple[Any, ...]]:
        while (rows := await self.queue.get()) is not None:
            for row in rows:
                yield row

    async def put(self, rows: list[tuple[Any, ...]] | None) -> None:
        """Queue `rows` (None: no more rows); raises the COPY's error if it ended early."""
        put = asyncio.ensure_future(self.queue.put(rows))
        await asyncio.wait((put, self.copy), return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            self.copy.result()
            raise RuntimeError("the COPY ended before its last rows")

    async def close(self) -> None:
        """Send the end and wait for PostgreSQL to have stored every row."""
        await self.put(None)
        await self.copy

    async def abandon(self) -> None:
        """On interruption: stop the COPY, so the connection is free to drop the shadows."""
        if not self.copy.done():
            self.copy.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
            await self.copy


async def load_part(log: LogSnapshot, write: asyncpg.Connection, table: str, types: list[str],
                    to_position: int | None, streams: StreamRange, progress: Callable[[int], None]) -> int:
    """Fold the part `streams` of the log into task rows COPYed into `table`; returns the events folded. Memory: two
    FETCHes of the read, one stream's document, DEPTH lists of rows."""
    folder = TaskFolder((table,))
    copy = _CopyStream(write, table, folder.copy_columns[table])
    count = 0

    try:
        async with contextlib.aclosing(log.streams(types, to_position, streams)) as batches:
            async for rows in batches:
                out: list[tuple[Any, ...]] = []
                folded = folder.fold_streams(rows, out)
                count += folded
                progress(folded)
                if out:
                    await copy.put(out)
        last: list[tuple[Any, ...]] = []
        folder.finish(last)
        if last:
            await copy.put(last)
        await copy.close()
    finally:
        await copy.abandon()
    return count


async def _child_part(database_url: str, exported: str, snapshot: str, table: str, types: list[str],
                      to_position: int | None, streams: StreamRange, folded: Synchronized[int]) -> int:
    read, write = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        def progress(events: int) -> None:
            folded.value += events

        async with imported_snapshot(read, exported, snapshot) as log:
            return await load_part(log, write, table, types, to_position, streams, progress)
    finally:
        await read.close()
        await write.close()


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child_main(results: Connection, *args: Any) -> None:
    """A child's body (forked): its part's event count and how much its peak memory grew (a forked process starts
    at the parent's), or its error as text, into `results`."""
    # The parent's SIGINT handler belongs to the parent's event loop: Ctrl-C must interrupt this process's own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        start = _peak_rss_kb()
        count = asyncio.run(_child_part(*args))
        results.send(("ok", (count, _peak_rss_kb() - start)))
    except BaseException as error:  # noqa: BLE001 - everything goes back to the parent, which raises it
        results.send(("error", f"{type(error).__name__}: {error}"))


class _Child:
    """A part loaded by a forked process."""

    def __init__(self, database_url: str, exported: str, snapshot: str, table: str, types: list[str],
                 to_position: int | None, streams: StreamRange) -> None:
        context = multiprocessing.get_context("fork")
        self.folded: Synchronized[int] = context.Value("q", 0, lock=False)
        self.results, sender = context.Pipe(duplex=False)
        self.process: BaseProcess = context.Process(
            target=_child_main, daemon=True,
            args=(sender, database_url, exported, snapshot, table, types, to_position, streams, self.folded))
        self.process.start()
        sender.close()

    async def wait(self, tick: Callable[[], None]) -> tuple[int, int]:
        """The child's event count and peak memory growth (kB) once it is done (`tick` is called every 0.2 s
        meanwhile: the progress bar); raises RuntimeError if it failed or died."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def readable() -> None:  # a result, or the end of the pipe (the child died)
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.results.fileno(), readable)
        try:
            while not ready.done():
                await asyncio.wait((ready,), timeout=0.2)
                tick()
        finally:
            loop.remove_reader(self.results.fileno())
        try:
            status, value = self.results.recv()
        except EOFError:
            raise RuntimeError("a replay process ended without its result") from None
        if status != "ok":
            raise RuntimeError(f"a replay process failed: {value}")
        count, growth = value
        return int(count), int(growth)

    def stop(self) -> None:
        """End the process (at once if it is still running) and release its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.results.close()


async def bulk_load(database_url: str, read: asyncpg.Connection, write: asyncpg.Connection, table: str,
                    types: list[str], to_position: int | None, progress: bool) -> tuple[str, int, int]:
    """Load every task of snapshot S0 into `table` (see the module comment); returns (S0, events read, the most a
    child process's memory grew, kB)."""
    async with snapshot_of_log(read) as log:
        total = await log.count(types, to_position) if progress else None
        bar = tqdm(total=total, unit="ev", unit_scale=True, desc="replay tasks", file=sys.stderr, disable=not progress)
        bounds: list[str | None] = [None, *await log.stream_bounds(PARTS), None]
        parts = list(itertools.pairwise(bounds))
        exported = await log.export() if len(parts) > 1 else ""
        children: list[_Child] = []
        try:
            children = [_Child(database_url, exported, log.snapshot, table, types, to_position, part)
                        for part in parts[1:]]
            seen = [0] * len(children)

            def advance(events: int) -> None:
                for n, child in enumerate(children):
                    folded = child.folded.value
                    events, seen[n] = events + folded - seen[n], folded
                bar.update(events)

            count = await load_part(log, write, table, types, to_position, parts[0], advance)
            growth = 0
            for child in children:
                events, child_growth = await child.wait(lambda: advance(0))
                count, growth = count + events, max(growth, child_growth)
            bar.close()
        finally:
            for child in children:
                child.stop()
    return log.snapshot, count, growth
