"""Events of queue streams (one stream per queue, stream id = queue id).

A queue's document (name, tags, ...) is the fold of `QueueCreated` and the entry events; its entries are the
`TaskQueued` events not yet followed by a `TaskUnqueued` of the same task, in `position` order. `position` is
written into the event (the stream version the entry was added at), so FIFO order is a fact of the log and
survives replay.
"""

from __future__ import annotations

from typing import Any

from taskstream.schemas.event_base import Event


class QueueCreated(Event):
    """A queue came to be: `queue` is its whole first document (without entries)."""

    queue: dict[str, Any]


class QueueEntryChanged(Event):
    """Base of the entry events: which task, and when (`at` becomes the queue's `last_update`)."""

    task: str
    at: str


class TaskQueued(QueueEntryChanged):
    """An entry `{task, added: at}` appended at the end of the queue."""

    position: int


class TaskUnqueued(QueueEntryChanged):
    """The task's entry left the queue. `reason`: dequeued, claimed (get_next_task), removed (remove_task),
    stopped, reset, deleted, archived, queue deleted, moved (followed by its `TaskQueued` at the new position)."""

    reason: str


class QueueDeleted(Event):
    force: bool = False


# Registered by `schemas.events` (this module cannot import it: it imports this one).
QUEUE_EVENTS: tuple[type[Event], ...] = (QueueCreated, TaskQueued, TaskUnqueued, QueueDeleted)
