"""Pure queue decisions and the fold of queue streams: given a state, when a command is decided, then events or
a rejection (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from taskstream.commands.decide_queue import (
    decide_add_entry,
    decide_archive,
    decide_claim,
    decide_create_queue,
    decide_dequeue,
    decide_enqueue,
    decide_move_entry,
)
from taskstream.commands.evolve import evolve
from taskstream.commands.messages import CreateQueue, DequeueTask, EnqueueTask
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import TaskArchived, TaskDequeued, TaskEnqueued
from taskstream.schemas.queue_events import QueueDeleted, TaskQueued, TaskUnqueued

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def a_task(status: str = "created", **extra: Any) -> dict[str, Any]:
    return {"id": "t", "company": "c", "status": status, "system_tags": ["development"], **extra}


def a_queue() -> dict[str, Any]:
    return {"id": "q", "company": "c", "name": "queue", "last_update": "old"}


def test_enqueue_sets_status_enqueue_status_and_queue_and_drops_development_quietly() -> None:
    [event] = decide_enqueue(a_task(), EnqueueTask("t"), "q", "c", NOW)
    assert isinstance(event, TaskEnqueued) and event.previous_status == "created"
    assert (event.set["status"], event.set["enqueue_status"], event.set["execution.queue"]) == (
        "queued", "created", "q")
    assert event.set["system_tags"] == [] and event.quiet == ["system_tags"]


@pytest.mark.parametrize(("force", "subcode"), [(False, 110), (True, 706)])
def test_enqueue_of_a_queued_task_is_refused(force: bool, subcode: int) -> None:
    with pytest.raises(ApiError) as raised:
        decide_enqueue(a_task("queued"), EnqueueTask("t", force=force), "q", "c", NOW)
    assert raised.value.subcode == subcode


def test_dequeue_rejections() -> None:
    with pytest.raises(ApiError) as not_queued:
        decide_dequeue(a_task(), DequeueTask("t"), "c", NOW)
    assert not_queued.value.msg == "Invalid task id: status=created, expected=queued"
    with pytest.raises(ApiError) as no_queue:
        decide_dequeue(a_task("queued"), DequeueTask("t"), "c", NOW)
    assert no_queue.value.subcode == 11


def test_archive_of_a_queued_task_dequeues_then_tags() -> None:
    task = a_task("queued", execution={"queue": "q"}, enqueue_status="stopped")
    dequeued, archived = decide_archive(task, "t", "c", None, None, NOW)
    assert isinstance(dequeued, TaskDequeued) and dequeued.status == "stopped"
    assert isinstance(archived, TaskArchived) and archived.dequeued
    assert archived.set["system_tags"] == ["development", "archived"]


def test_entries_carry_their_position_and_are_refused_twice() -> None:
    [event] = decide_add_entry(a_queue(), "q", "c", "t", False, 7, NOW)
    assert isinstance(event, TaskQueued) and event.position == 8
    with pytest.raises(ApiError) as twice:
        decide_add_entry(a_queue(), "q", "c", "t", True, 7, NOW)
    assert twice.value.subcode == 706
    with pytest.raises(ApiError) as foreign:
        decide_claim({**a_queue(), "company": "other"}, "q", "c", None, NOW)
    assert foreign.value.subcode == 701


def test_a_queue_stream_folds_to_its_document_and_ends_on_delete() -> None:
    [created] = decide_create_queue(CreateQueue(" name "), None, "q", "c", "u", NOW)
    doc = evolve(None, created)
    assert doc is not None and doc["name"] == "name" and doc["system_tags"] == []
    doc = evolve(doc, TaskQueued(task="t", at="later", position=2))
    assert doc is not None and doc["last_update"] == "later" and "entries" not in doc
    doc = evolve(doc, TaskUnqueued(task="t", at="last", reason="claimed"))
    assert doc is not None and doc["last_update"] == "last"
    assert evolve(doc, QueueDeleted()) is None


def test_a_moved_entry_leaves_and_comes_back_before_the_first_or_after_the_last() -> None:
    front = decide_move_entry(a_queue(), "q", "c", "t", True, (3, 9), True, 9, NOW)
    assert [type(e) for e in front] == [TaskUnqueued, TaskQueued]
    assert front[0].reason == "moved" and front[1].position == 2  # type: ignore[attr-defined]
    back = decide_move_entry(a_queue(), "q", "c", "t", True, (3, 9), False, 9, NOW)
    assert back[1].position == 11  # type: ignore[attr-defined]  (the version the TaskQueued is appended at)


def test_moving_a_task_that_is_not_in_the_queue_is_refused() -> None:
    with pytest.raises(ApiError) as refused:
        decide_move_entry(a_queue(), "q", "c", "t", False, (3, 9), True, 9, NOW)
    assert refused.value.subcode == 703
    with pytest.raises(ApiError) as foreign:
        decide_move_entry(a_queue(), "q", "other", "t", True, (3, 9), True, 9, NOW)
    assert foreign.value.subcode == 701
