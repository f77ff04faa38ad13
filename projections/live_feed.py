"""The web UI's live feed: ONE follower of the log per process, fanning what it reads out to the connected
browsers in memory (never a poller per browser).

The follower reads the log behind the writers (`commands.store.read_after`: no event skipped, per-task order kept)
from where the log stood when it started, keeps the last `keep` messages in memory, and hands each message to
the listeners of its company (or of its task). A listener that reconnects after a position still in memory gets
every message after it (SSE `Last-Event-ID`); an older position answers `None` and the browser reloads the page
(which then renders the current read model). A listener whose queue overflows (a stalled browser) is dropped
and reloads the same way. Nothing is written: this subscriber has no checkpoint, a restarted process starts at
the log's end.

When nobody watches (no listener, and no page rendered for `grace` seconds) the follower rests: it reads no events,
only moves its position to the log's end once per `idle_interval`, with nothing in memory. A page rendered wakes it
(`wake`, before the page's reads) at the position it then stands at, so the page's stream finds every later event.
Why: following in full costs every event's decoding in each API process (about 6% of a process under a command
load, py-spy), for nobody on a server only the SDK and agents talk to.

Telemetry (scalars and log lines of `events.add_batch`) is not in the log: each batch is one `MetricsReported`
event of its task, so when one arrives for a task some browser watches, the follower reads that task's new rows
of `task_events` once (after the last row it read) and hands them to all of that task's listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from taskstream.commands.store import LogPosition, RecordedEvent, latest_readable, read_after
from taskstream.projections.kafka_codec import family_of

log = logging.getLogger("taskstream.live_feed")
# The task fields a message carries (what the tasks table and the task page's header show).
TASK_FIELDS = ("name", "status", "type", "tags", "system_tags", "user", "project", "started", "completed",
               "last_update", "last_iteration", "status_reason", "status_message", "last_worker", "comment")
TELEMETRY_TYPES = ("training_stats_scalar", "log")
TELEMETRY_BATCH = 2000
CATCH_UP_POLLS = 40  # a resume position ahead of this process's follower is waited for up to 2 s


def format_position(position: LogPosition) -> str:
    """A log position as an SSE event id."""
    return f"{position.txid}-{position.position}"


def parse_position(text: str | None) -> LogPosition | None:
    """An SSE event id back to a log position; None for anything else (bounded: at most two 19-digit numbers)."""
    if not text or len(text) > 41:
        return None
    txid, sep, position = text.partition("-")
    if not (sep and text.isascii() and txid.isdigit() and position.isdigit()):
        return None
    return LogPosition(int(txid), int(position))


@dataclass(frozen=True)
class LiveMessage:
    """One change pushed to browsers: `kind` is task, queue, project, model or telemetry."""

    position: LogPosition
    company: str
    kind: str
    stream: str
    type: str
    data: dict[str, Any]

    def payload(self) -> str:
        return json.dumps({"kind": self.kind, "id": self.stream, "type": self.type, **self.data}, default=str)


def to_message(event: RecordedEvent) -> LiveMessage:
    """The message of a log event: for a task, the whitelisted fields it set (all of them for a new task)."""
    family = family_of(event.type).rstrip("s")
    company = str(event.metadata.get("company", ""))
    data: dict[str, Any] = {}
    if family == "task":
        written = event.data.get("task") or event.data.get("set") or {}
        data = {"fields": {k: written[k] for k in TASK_FIELDS if k in written}}
        if event.type == "TaskCreated":
            company = str(written.get("company", company))
    elif family == "queue":
        data = {"task": event.data.get("task")}
    return LiveMessage(event.log_position, company, family, event.stream_id, event.type, data)


@dataclass(eq=False)
class Listener:
    """One connected browser: its company, and either every task of the company (`tasks` None) or those tasks."""

    company: str
    tasks: frozenset[str] | None = None
    telemetry: bool = False
    owner: str = ""  # who connected it (the connection limit per caller)
    queue: asyncio.Queue[LiveMessage | None] = field(default_factory=lambda: asyncio.Queue(1000))
    dropped: bool = False

    def wants(self, message: LiveMessage) -> bool:
        if self.tasks is not None:
            return message.stream in self.tasks and (message.kind != "telemetry" or self.telemetry)
        return message.company == self.company and message.kind != "telemetry"


class LiveFeed:
    """The follower and its listeners; `run()` follows the log until cancelled."""

    def __init__(self, pool: asyncpg.Pool, poll_interval: float = 0.05, idle_interval: float = 1.0,
                 keep: int = 5000, grace: float = 30.0) -> None:
        self.pool = pool
        self.poll_interval = poll_interval
        self.idle_interval = idle_interval
        self.grace = grace
        self.resting = False  # True while nobody watches: nothing in memory, `floor == position`
        self._active_until = 0.0  # loop time until which the follower reads in full without listeners
        self._wakes = 0
        self.buffer: deque[LiveMessage] = deque(maxlen=keep)
        self.floor = LogPosition()  # every message after this position is in `buffer` (until it overflows)
        self.position = LogPosition()  # the last position read
        self.listeners: set[Listener] = set()
        self.started = asyncio.Event()
        self._wake = asyncio.Event()
        self._telemetry_seq: dict[str, int] = {}  # watched task → last task_events row read

    async def run(self) -> None:
        async with self.pool.acquire() as conn:
            start = await latest_readable(conn) or LogPosition()
        self.floor = self.position = start
        self.started.set()
        while True:
            if not self.listeners and asyncio.get_running_loop().time() >= self._active_until:
                await self._rest()
                continue
            self.resting = False
            try:
                read = await self.step()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("live feed: reading the log failed (%r); retrying", exc)
                read = 0
                await asyncio.sleep(1)
            if not read:
                await self._pause(self.poll_interval if self.listeners else self.idle_interval)

    def wake(self) -> LogPosition:
        """Follow in full for the next `grace` seconds (a page is being rendered); the position to render it at."""
        self._active_until = asyncio.get_running_loop().time() + self.grace
        self._wakes += 1
        self._wake.set()
        return self.position

    async def _rest(self) -> None:
        """One resting round: the position moved to the log's end (nothing read, nothing kept), then a wait."""
        wakes = self._wakes
        try:
            async with self.pool.acquire() as conn:
                head = await latest_readable(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("live feed: reading the log's end failed (%r); retrying", exc)
            head = None
        # Only if nothing woke the follower meanwhile: a page may have been given the position it stood at.
        if head is not None and head > self.position and wakes == self._wakes and not self.listeners:
            self.buffer.clear()
            self.floor = self.position = head
        self.resting = wakes == self._wakes and not self.listeners
        await self._pause(self.idle_interval)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` or until woken. Why not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that
        arrives as the event is set (it returns the result instead), and the follower would then never stop."""
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            waiter.cancel()
        self._wake.clear()

    async def step(self) -> int:
        """Read one batch of the log and hand it out; the number of events read."""
        async with self.pool.acquire() as conn:
            events = await read_after(conn, self.position, 500)
        for event in events:
            message = to_message(event)
            if len(self.buffer) == self.buffer.maxlen:
                self.floor = self.buffer[0].position
            self.buffer.append(message)
            self.position = event.log_position
            self._deliver(message)
            if event.type == "MetricsReported" and event.stream_id in self._telemetry_seq:
                await self._telemetry(message)
        return len(events)

    def _deliver(self, message: LiveMessage) -> None:
        for listener in list(self.listeners):
            if listener.wants(message):
                try:
                    listener.queue.put_nowait(message)
                except asyncio.QueueFull:
                    self._drop(listener)

    def _drop(self, listener: Listener) -> None:
        listener.dropped = True
        self.listeners.discard(listener)
        with contextlib.suppress(asyncio.QueueFull):
            listener.queue.put_nowait(None)

    async def _telemetry(self, message: LiveMessage) -> None:
        task = message.stream
        rows = await telemetry_after(self.pool, task, self._telemetry_seq[task], TELEMETRY_BATCH)
        if rows:
            self._telemetry_seq[task] = rows[-1]["seq"]
            self._deliver(LiveMessage(message.position, message.company, "telemetry", task, "telemetry",
                                      {"events": rows}))

    async def subscribe(self, listener: Listener, after: LogPosition | None) -> bool:
        """Register `listener`, first queueing the messages after `after` still in memory; False (not registered)
        when `after` is older than the memory (or from another process's log end): the browser reloads."""
        await self.started.wait()
        self.wake()
        if self.resting and after is not None and after > self.position:
            # A page from a process ahead of this resting follower: nothing is kept here, so start reading there —
            # if the log has reached it (the position is the browser's to send: one made up past the log's end would
            # otherwise leave this follower skipping every change until the log got there).
            async with self.pool.acquire() as conn:
                log_end = await latest_readable(conn)
            if self.resting and not self.listeners and log_end is not None and self.position < after <= log_end:
                self.buffer.clear()
                self.floor = self.position = after
        # Why wait: with several server processes the page may come from one whose follower is a little ahead of
        # this one's (positions are the shared log's); a position this process never reaches is another log's.
        for _ in range(CATCH_UP_POLLS):
            if after is None or after <= self.position:
                break
            self._wake.set()
            await asyncio.sleep(0.05)
        if after is not None and (after < self.floor or after > self.position):
            return False
        if listener.telemetry and listener.tasks:
            head = await telemetry_head(self.pool)
            for task in listener.tasks - self._telemetry_seq.keys():
                self._telemetry_seq[task] = head
        for message in list(self.buffer):
            if after is not None and message.position > after and listener.wants(message):
                listener.queue.put_nowait(message)
        self.listeners.add(listener)
        self._wake.set()
        return True

    def unsubscribe(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        self._active_until = max(self._active_until, asyncio.get_running_loop().time() + self.grace)
        if listener.tasks:
            watched = {t for other in self.listeners if other.tasks and other.telemetry for t in other.tasks}
            for task in listener.tasks - watched:
                self._telemetry_seq.pop(task, None)

    def count(self, key: str) -> int:
        """How many listeners a caller (`Listener.owner`) has connected."""
        return sum(1 for listener in self.listeners if listener.owner == key)


async def telemetry_head(pool: asyncpg.Pool) -> int:
    """The last telemetry row of any task (0 when there is none): a new watcher of a task starts after it.
    Why not the task's own last row: the primary key answers this at once, whatever the task's size."""
    return int(await pool.fetchval("SELECT coalesce(max(seq), 0) FROM task_events") or 0)


async def telemetry_after(pool: asyncpg.Pool, task: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """The task's scalar and log rows after row `after_seq`, in report order (at most `limit`). Why by `seq`
    without the company: task ids are unique, and the primary key's range after a recent row is small, so this
    reads only the rows reported since, however many the task has."""
    rows = await pool.fetch(
        """SELECT seq, type, timestamp, iter, metric, variant, value, msg, level FROM task_events
           WHERE task = $1 AND seq > $2 AND type = ANY($3::text[]) ORDER BY seq LIMIT $4""",
        task, after_seq, list(TELEMETRY_TYPES), limit)
    return [dict(r) for r in rows]
