"""`evolve`: a task's document is the fold of its events. Pure, deterministic, never mutates its inputs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taskstream.commands.decide_status import decide_reset, decide_status
from taskstream.commands.decide_task import decide_create
from taskstream.commands.evolve import evolve, set_path, unset_path
from taskstream.commands.messages import ChangeStatus, CreateTask, ResetTask
from taskstream.schemas.clock import iso
from taskstream.schemas.events import (
    Event,
    ProjectCreated,
    TaskChanged,
    TaskCreated,
    TaskDeleted,
    TaskEdited,
    TaskStarted,
    TaskUpdated,
    load_event,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def fold(events: list[Event], state: dict[str, Any] | None = None) -> dict[str, Any] | None:
    for event in events:
        state = evolve(state, event)
    return state


def test_set_path_creates_missing_parents_and_replaces_non_objects() -> None:
    doc: dict[str, Any] = {"a": 1}
    set_path(doc, "x.y.z", [1])
    set_path(doc, "a.b", 2)
    assert doc == {"a": {"b": 2}, "x": {"y": {"z": [1]}}}


def test_set_path_copies_the_value() -> None:
    value = {"k": [1]}
    doc: dict[str, Any] = {}
    set_path(doc, "v", value)
    value["k"].append(2)
    assert doc == {"v": {"k": [1]}}


def test_unset_path_tolerates_missing_parents() -> None:
    doc: dict[str, Any] = {"output": {"error": "e", "result": "r"}, "started": "s"}
    unset_path(doc, "output.error")
    unset_path(doc, "nothing.here")
    unset_path(doc, "started.deeper")
    unset_path(doc, "started")
    assert doc == {"output": {"result": "r"}}


def test_created_then_changed_then_deleted() -> None:
    doc = fold([TaskCreated(task={"id": "t", "status": "created", "execution": {"queue": "q"}})])
    assert doc == {"id": "t", "status": "created", "execution": {"queue": "q"}}
    doc = fold([TaskEdited(set={"status": "stopped", "execution.framework": "f"}, unset=["execution.queue"])], doc)
    assert doc == {"id": "t", "status": "stopped", "execution": {"framework": "f"}}
    assert evolve(doc, TaskDeleted()) is None


def test_evolve_never_mutates_state_or_event() -> None:
    state = {"id": "t", "tags": ["a"], "execution": {"queue": "q"}}
    before = copy.deepcopy(state)
    event = TaskUpdated(set={"tags": ["b"], "execution.queue": "r"})
    new = evolve(state, event)
    assert state == before and event.set == {"tags": ["b"], "execution.queue": "r"}
    assert new is not state
    created = TaskCreated(task={"id": "t", "tags": []})
    fresh = evolve(None, created)
    assert fresh is not None
    fresh["tags"].append("x")
    assert created.task == {"id": "t", "tags": []}


def test_change_on_missing_stream_is_an_error() -> None:
    with pytest.raises(ValueError, match="TaskChanged on a stream with no state"):
        evolve(None, TaskChanged(set={"a": 1}))


def test_project_created_is_its_document() -> None:
    assert evolve(None, ProjectCreated(project={"id": "p", "name": "P"})) == {"id": "p", "name": "P"}


def test_fold_of_decided_events_create_start_reset() -> None:
    created = decide_create(CreateTask({"name": "run", "type": "training",
                                        "execution": {"artifacts": [{"key": "i", "type": "t", "mode": "input"},
                                                                    {"key": "o", "type": "t"}]}}),
                            "t1", "c", "u", NOW)
    doc = fold(created)
    assert doc is not None
    started_at = NOW + timedelta(seconds=1)
    doc = fold(decide_status(doc, ChangeStatus("started", "t1"), "c", started_at), doc)
    assert doc is not None and doc["started"] == iso(started_at) and doc["status"] == "in_progress"
    doc = fold(decide_reset(doc, ResetTask("t1"), "c", NOW + timedelta(seconds=2)), doc)
    assert doc is not None
    assert doc["status"] == "created" and "started" not in doc
    assert (doc["status_reason"], doc["status_message"]) == ("reset", "reset")
    assert [a["key"] for a in doc["execution"]["artifacts"]] == ["i"]


def test_events_round_trip_through_storage_form() -> None:
    for event in (TaskCreated(task={"id": "t"}),
                  TaskStarted(set={"status": "in_progress"}, status="in_progress", previous_status="created",
                              force=True),
                  TaskDeleted(force=True)):
        stored = event.model_dump(mode="json")
        assert load_event(event.type_name(), event.schema_version, stored) == event
