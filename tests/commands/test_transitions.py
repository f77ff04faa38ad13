"""G9: guarded transitions as data. The §4.1 table through `check_transition`, and the §4.3 matrix of every status
call through its pure `decide_*` function, forced and not (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from typing import Any

import pytest

from taskstream.commands.decide_status import decide_delete, decide_publish, decide_reset, decide_status, decide_stop
from taskstream.commands.decide_task import decide_create, decide_edit
from taskstream.commands.evolve import evolve
from taskstream.commands.messages import ChangeStatus, CreateTask, DeleteTask, EditTask, ResetTask
from taskstream.commands.transitions import ALLOWED, check_transition
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import Event, TaskDeleted, TaskEdited, TaskStatusChanged
from tests.status_matrix import DELETED, OK_EDIT, STATUSES, cases

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

# tasks-behaviour.md §4.1, written out independently of commands/transitions.py.
SPEC_ALLOWED = {
    "created": {"queued", "in_progress"},
    "queued": {"created", "in_progress", "stopped"},
    "in_progress": {"stopped", "failed", "created", "completed"},
    "stopped": {"closed", "created", "failed", "queued", "in_progress", "published", "publishing", "completed"},
    "closed": {"created", "failed", "published", "publishing", "stopped"},
    "failed": {"created", "stopped", "published"},
    "publishing": {"published"},
    "published": set(),
    "completed": {"published", "in_progress", "created"},
}


def test_allowed_table_is_the_spec_table() -> None:
    assert {k: set(v) for k, v in ALLOWED.items()} == SPEC_ALLOWED


@pytest.mark.parametrize(("current", "new"), list(product(STATUSES, STATUSES)))
def test_check_transition_unforced(current: str, new: str) -> None:
    if current == new or new in SPEC_ALLOWED[current]:
        check_transition(current, new, force=False)
        return
    with pytest.raises(ApiError) as raised:
        check_transition(current, new, force=False)
    assert (raised.value.code, raised.value.subcode) == (400, 110)
    assert raised.value.msg == f"Invalid task status (Invalid status change): current_status={current}, " \
                               f"new_status={new}"


@pytest.mark.parametrize(("current", "new"), list(product((*STATUSES, "unknown"), (*STATUSES, "unknown"))))
def test_check_transition_forced_allows_everything(current: str, new: str) -> None:
    check_transition(current, new, force=True)


def test_same_status_refused_when_not_allowed() -> None:
    with pytest.raises(ApiError) as raised:
        check_transition("queued", "queued", force=False, allow_same=False)
    assert raised.value.msg == "Invalid task status (Task already in requested status): current_status=queued, " \
                               "new_status=queued"


def test_unknown_current_status_is_internal_error() -> None:
    with pytest.raises(ApiError) as raised:
        check_transition("unknown", "stopped", force=False)
    assert (raised.value.code, raised.value.subcode) == (500, 1)
    assert raised.value.msg == "Internal server error (Current status unknown not supported by state machine)"


def task_in(status: str, **extra: Any) -> dict[str, Any]:
    created = decide_create(CreateTask({"name": "matrix", "type": "training"}), "t1", COMPANY, "u1", NOW)
    doc = evolve(None, created[0])
    assert doc is not None
    return {**doc, "status": status, **extra}


def decide(call: str, doc: dict[str, Any], force: bool) -> list[Event]:
    if call == "stop":
        return decide_stop(doc, ChangeStatus("stop", "t1", force), COMPANY, "tests", NOW)
    if call == "publish":
        return decide_publish(doc, ChangeStatus("publish", "t1", force), COMPANY, NOW)
    if call == "reset":
        return decide_reset(doc, ResetTask("t1", force), COMPANY, NOW)
    if call == "delete":
        return decide_delete(doc, DeleteTask("t1", force), COMPANY)
    if call == "edit":
        return decide_edit(doc, EditTask("t1", {"comment": "edited"}, force), COMPANY, NOW)
    return decide_status(doc, ChangeStatus(call, "t1", force), COMPANY, NOW)


def outcome(call: str, status: str, force: bool) -> tuple[str | int, list[Event]]:
    try:
        events = decide(call, task_in(status), force)
    except ApiError as error:
        return error.subcode, []
    doc: dict[str, Any] | None = task_in(status)
    for event in events:
        doc = evolve(doc, event)
    if doc is None:
        return DELETED, events
    if call == "edit":
        assert doc["comment"] == "edited"
        return OK_EDIT, events
    return doc["status"], events


@pytest.mark.parametrize(("call", "status", "expected"), cases(forced=False))
def test_matrix_unforced(call: str, status: str, expected: str | int) -> None:
    result, events = outcome(call, status, force=False)
    assert result == expected
    for event in events:
        assert getattr(event, "force", False) is False


@pytest.mark.parametrize(("call", "status", "expected"), cases(forced=True))
def test_matrix_forced_records_force(call: str, status: str, expected: str | int) -> None:
    result, events = outcome(call, status, force=True)
    assert result == expected
    assert events
    for event in events:
        assert isinstance(event, TaskStatusChanged | TaskDeleted | TaskEdited)
        assert event.force is True
        if isinstance(event, TaskStatusChanged):
            assert event.previous_status == status


@pytest.mark.parametrize("call", ["started", "stop", "stopped", "failed", "close", "completed", "publish", "reset"])
def test_unknown_status_unforced_is_internal_error(call: str) -> None:
    with pytest.raises(ApiError) as raised:
        decide(call, task_in("unknown"), force=False)
    assert (raised.value.code, raised.value.subcode) == (500, 1)


def test_rejections_carry_reference_messages() -> None:
    messages = {}
    for call, status in (("started", "published"), ("reset", "published"), ("reset", "publishing"),
                         ("delete", "in_progress"), ("edit", "stopped"), ("publish", "published")):
        with pytest.raises(ApiError) as raised:
            decide(call, task_in(status), force=False)
        messages[(call, status)] = raised.value.msg
    assert messages == {
        ("started", "published"):
            "Invalid task status (Invalid status change): current_status=published, new_status=in_progress",
        ("reset", "published"): "Invalid task status: task_id=t1, status=published",
        ("reset", "publishing"): f"Invalid task id (or task published): company={COMPANY}, id=t1",
        ("delete", "in_progress"):
            "Task cannot be deleted (due to status, use force=True): task=t1, expected=created, current=in_progress",
        ("edit", "stopped"): "Invalid task status: expected=created, status=stopped",
        ("publish", "published"):
            "Invalid task status (Invalid status change): current_status=published, new_status=published",
    }


@pytest.mark.parametrize("status", STATUSES)
def test_archived_task_deletes_without_force_unless_published(status: str) -> None:
    doc = task_in(status, system_tags=["archived"])
    if status in ("published", "publishing"):
        with pytest.raises(ApiError) as raised:
            decide_delete(doc, DeleteTask("t1"), COMPANY)
        assert (raised.value.code, raised.value.subcode) == (400, 101)
    else:
        assert decide_delete(doc, DeleteTask("t1"), COMPANY) == [TaskDeleted()]


def test_published_children_block_reset_and_delete_unless_forced() -> None:
    for run in (lambda force: decide_reset(task_in("stopped"), ResetTask("t1", force), COMPANY, NOW, 2),
                lambda force: decide_delete(task_in("created"), DeleteTask("t1", force), COMPANY, 2)):
        with pytest.raises(ApiError) as raised:
            run(False)
        assert raised.value.msg == "Task cannot be deleted (has children, use force=True): task=t1, children=2"
        assert run(True)
