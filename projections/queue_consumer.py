"""Queue consumers (push delivery): follow a queue's events and claim each entry added to it, in order, through the
same exactly-once claim as `queues.get_next_task` (G10), then hand the task to a callback.

Where the events come from: the log itself (`LogSubscription`, the embedded default) or the Kafka topic
`taskstream.queues` in a consumer group of the consumer's own (`KafkaSubscription`). The subscription runner keeps
the consumer's progress under its name, so a restarted consumer resumes where it stopped.

Why a task is never run twice, however many consumers and `get_next_task` callers share the queue: a claim is
`get_next_task`'s own command on the queue's stream (`commands.handlers.queues.claim`, given the entry). It takes
the queue stream's lock (the lock `get_next_task` claims under), checks under it that the very entry of the event
(task and position) is still in the queue, and appends the same `TaskUnqueued(reason="claimed")` event. Claims
therefore serialise, and an entry that another consumer or agent took, or that was removed, is skipped. A
redelivered event (runner restart, Kafka duplicate) finds its entry gone.

When a claim happens: only when the consumer is ready for the task (its previous callback returned), never ahead,
so a busy consumer does not hoard entries that a free one could run. The subscriber itself only notes each new
entry (it never waits: the runner's transaction must stay short, an open transaction holds the log's horizon back
for every reader). The entries noted but not yet claimed when a consumer stops are still in the queue, and a
consumer sweeps its queue's current entries when it starts, so none is left behind by a restart.

Why the claim runs in its own transaction, not in the runner's: the runner's transaction has already locked its
checkpoint row (which gives it a transaction id), and a transaction that appends to a stream must take the stream's
lock before it gets a transaction id, or log order could disagree with the stream's version order (`commands.store`).

The callback runs after the claim committed, outside any transaction, one task at a time in claim order. It runs
at most once per claim: a consumer that dies during a callback leaves that task claimed and not finished, the same
window as an agent dying right after `get_next_task`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from taskstream.commands.handlers import queues
from taskstream.commands.handlers.context import Caller, CommandContext
from taskstream.commands.messages import ClaimTask
from taskstream.commands.session import Actor
from taskstream.commands.store import RecordedEvent, latest_readable
from taskstream.projections.inline import command_context
from taskstream.projections.kafka_codec import TOPIC_PREFIX
from taskstream.projections.subscription import KafkaSubscription, LogSubscription, save_checkpoint
from taskstream.schemas.queue_events import QueueDeleted, TaskQueued

log = logging.getLogger("taskstream.queue_consumer")

OnTask = Callable[[dict[str, Any]], Awaitable[None]]
Candidate = tuple[str, int]  # (task, position) of an entry added to the queue


async def claim_entry(ctx: CommandContext, caller: Caller, queue_id: str, task_id: str,
                      position: int) -> dict[str, Any] | None:
    """Claim the entry (task, position) of the queue if it is still there: `{task, added}`, else None.

    The claim command of `get_next_task` (`commands.handlers.queues.claim`) for this very entry: one transaction,
    under the queue stream's lock, re-reading the entry under it; an entry already claimed or removed (or a
    deleted queue) yields None and writes nothing.
    """
    result = await queues.claim(ctx, caller, ClaimTask(queue_id, task_id, position))
    return result.get("entry")


class _Watcher:
    """The subscriber: notes each entry added to its queue, in log order (which is the queue's entry order)."""

    def __init__(self, name: str, queue_id: str) -> None:
        self.name = name
        self.queue_id = queue_id
        self.candidates: asyncio.Queue[Candidate | None] = asyncio.Queue()

    async def handle(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.stream_id != self.queue_id:
            return
        if event.type == TaskQueued.__name__:
            self.candidates.put_nowait((event.data["task"], int(event.data["position"])))
        elif event.type == QueueDeleted.__name__:
            self.candidates.put_nowait(None)  # the end of the queue: nothing can be added any more


async def _start_at_present(pool: asyncpg.Pool, name: str) -> None:
    """A new log consumer starts at the present: older entries still waiting come from the start-up sweep, which
    runs after this, and every event above this point is read from the log (no gap between the two)."""
    async with pool.acquire() as conn:
        if await conn.fetchval("INSERT INTO checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING true",
                               name) is None:
            return  # not new: resume from its checkpoint
        last = await latest_readable(conn)
        if last is not None:
            await save_checkpoint(conn, name, last)


class QueueConsumer:
    """Claims the entries added to `queue_id` and calls `on_task(entry)` for each, in order.

    `name` identifies the consumer across restarts (its checkpoint and consumer group); consumers with different
    names all see every entry, and exactly one of them (or a `get_next_task` caller) claims it. With `bootstrap`
    the events come from Kafka (a relay must be publishing to `topic_prefix`+queues), otherwise from the log.
    """

    def __init__(self, pool: asyncpg.Pool, queue_id: str, name: str, on_task: OnTask, *,
                 bootstrap: str | None = None, topic_prefix: str = TOPIC_PREFIX, poll_interval: float = 0.05) -> None:
        self.pool = pool
        self.commands = command_context(pool)
        self.queue_id = queue_id
        self.on_task = on_task
        self.watcher = _Watcher(f"queue-consumer:{queue_id}:{name}", queue_id)
        self.metadata: dict[str, Any] = {"endpoint": "queues.get_next_task", "consumer": name}
        self.claimed = 0
        self.source: LogSubscription | KafkaSubscription
        if bootstrap:
            self.source = KafkaSubscription(pool, self.watcher, bootstrap, [topic_prefix + "queues"],
                                            group_id=f"taskstream-{self.watcher.name}")
        else:
            self.source = LogSubscription(pool, self.watcher, poll_interval=poll_interval)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Follow the queue until cancelled or the queue is deleted; `ready` is set once new entries are watched.

        Raises LookupError for an unknown queue, and whatever the source (`SubscriberFailed`) or `on_task`
        raises; either stops the consumer.
        """
        company = await self.pool.fetchval("SELECT company FROM queues WHERE id = $1", self.queue_id)
        if company is None:
            raise LookupError(f"queue {self.queue_id} does not exist")
        self.metadata["company"] = company
        if isinstance(self.source, LogSubscription):
            await _start_at_present(self.pool, self.watcher.name)
        watching = asyncio.Event()
        source = asyncio.create_task(self._follow(watching), name=f"{self.watcher.name}:source")
        try:
            waiter = asyncio.ensure_future(watching.wait())
            try:
                await asyncio.wait({source, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if source.done():
                source.result()  # it stopped before watching: re-raise its failure
                return
            # After the source watches: an entry added from now on is an event, an older one is in the sweep.
            sweep = await self.pool.fetch(
                "SELECT task, position FROM queue_entries WHERE queue = $1 ORDER BY position", self.queue_id)
            if ready is not None:
                ready.set()
            for row in sweep:
                await self._take((row["task"], row["position"]))
            await self._deliver(source)
        finally:
            source.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await source

    async def _follow(self, watching: asyncio.Event) -> None:
        if isinstance(self.source, KafkaSubscription):
            await self.source.run(watching)
            return
        watching.set()
        await self.source.run()

    async def _deliver(self, source: asyncio.Task[None]) -> None:
        while True:
            getter = asyncio.ensure_future(self.watcher.candidates.get())
            try:
                await asyncio.wait({getter, source}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                getter.cancel()  # a no-op once it has its candidate
            if not getter.done() or getter.cancelled():
                source.result()  # the source stopped: re-raise its failure
                return
            candidate = getter.result()
            if candidate is None:
                log.info("%s: queue deleted; stopping", self.watcher.name)
                return
            await self._take(candidate)

    async def _take(self, candidate: Candidate) -> None:
        caller = Caller(Actor(self.metadata["company"], ""), self.metadata)
        entry = await claim_entry(self.commands, caller, self.queue_id, candidate[0], candidate[1])
        if entry is not None:
            self.claimed += 1
            await self.on_task(entry)
