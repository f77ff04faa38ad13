"""Given a task document, when a create/edit/update/ping command is decided, then these events (or this rejection).
Pure: no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taskstream.commands.decide_task import decide_create, decide_edit, decide_ping, decide_update
from taskstream.commands.evolve import evolve
from taskstream.commands.messages import CreateTask, EditTask, PingTask, UpdateTask
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import Event, TaskCreated, TaskEdited, TaskPinged, TaskUpdated

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
LATER = NOW + timedelta(seconds=90)


def created(**fields: Any) -> dict[str, Any]:
    events = decide_create(CreateTask({"name": "a task", "type": "training", **fields}), "t1", COMPANY, "u1", NOW)
    assert len(events) == 1 and isinstance(events[0], TaskCreated)
    return events[0].task


def after(doc: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    state: dict[str, Any] | None = doc
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state


def rejection(run: Any) -> ApiError:
    with pytest.raises(ApiError) as raised:
        run()
    return raised.value


# --- create -----------------------------------------------------------------------------------------------------

def test_create_minimal_document_has_the_reference_shape() -> None:
    stamp = iso(NOW)
    assert created() == {
        "id": "t1", "company": COMPANY, "user": "u1", "name": "a task", "type": "training", "status": "created",
        "created": stamp, "last_update": stamp, "last_change": stamp, "last_iteration": 0,
        "tags": [], "system_tags": [], "configuration": {}, "hyperparams": {}, "container": {}, "runtime": {},
        "last_metrics": {}, "metric_stats": {}, "unique_metrics": [], "output": {},
        "execution": {"artifacts": [], "model_desc": {}, "model_labels": {}, "parameters": {}, "test_split": 0},
        "models": {"input": [], "output": []},
        "script": {"binary": "python", "entry_point": "", "repository": "", "requirements": {}},
    }


def test_create_strips_name_sorts_tags_and_maps_output_dest() -> None:
    doc = created(name="  spaced  ", tags=["b", "a", "a"], output_dest="  s3://bucket  ", comment=" kept ")
    assert doc["name"] == "spaced"
    assert doc["tags"] == ["a", "a", "b"]
    assert doc["output"] == {"destination": "s3://bucket"}
    assert doc["comment"] == " kept "


def test_create_ignores_server_owned_fields() -> None:
    doc = created(status="published", created="2000-01-01T00:00:00+00:00")
    assert doc["status"] == "created"
    assert doc["created"] == iso(NOW)


def test_create_short_name_is_data_validation_error() -> None:
    error = rejection(lambda: created(name=" ab "))
    assert (error.code, error.subcode, error.msg) == (400, 800, "Data validation error: name=String value is too short")


def test_create_reserved_tag_prefix_is_rejected() -> None:
    error = rejection(lambda: created(tags=[], system_tags=["ok", "__$all"]))
    assert (error.code, error.subcode) == (400, 16)
    assert error.msg == "Invalid value for fields (unsupported tag prefix): values=(__$all)"
    assert created(system_tags=["ok", "__$all"])["system_tags"] == ["__$all", "ok"], "checked only with tags"


def test_create_converts_legacy_parameters_and_model_desc() -> None:
    doc = created(execution={"parameters": {"lr": 0.1, "TF_DEFINE/x": "y"}, "model_desc": {"net": 3}})
    assert doc["hyperparams"] == {
        "Args": {"lr": {"section": "Args", "name": "lr", "type": "legacy", "value": "0.1"}},
        "TF_DEFINE": {"x": {"section": "TF_DEFINE", "name": "x", "type": "legacy", "value": "y"}},
    }
    assert doc["configuration"] == {"net": {"name": "net", "value": "3", "type": "legacy"}}
    assert doc["execution"]["parameters"] == {} and doc["execution"]["model_desc"] == {}


def test_create_strips_script_strings_except_diff_and_drops_unknown_keys() -> None:
    doc = created(script={"repository": " repo ", "diff": " d ", "bogus": 1}, execution={"foo": 1, "framework": "x"})
    assert doc["script"]["repository"] == "repo" and doc["script"]["diff"] == " d "
    assert "bogus" not in doc["script"] and "foo" not in doc["execution"]
    assert doc["execution"]["framework"] == "x"


def test_create_artifacts_sorted_by_key_with_defaults() -> None:
    doc = created(execution={"artifacts": [{"key": "b", "type": "t"}, {"key": "a", "type": "t", "mode": "input"}]})
    assert doc["execution"]["artifacts"] == [
        {"key": "a", "type": "t", "mode": "input", "display_data": []},
        {"key": "b", "type": "t", "mode": "output", "display_data": []},
    ]
    error = rejection(lambda: created(execution={"artifacts": [{"key": "a"}]}))
    assert (error.code, error.subcode) == (400, 800)


def test_create_hyperparam_value_must_be_a_string() -> None:
    error = rejection(lambda: created(hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": 1}}}))
    assert (error.code, error.subcode) == (400, 800)
    assert rejection(lambda: created(hyperparams={" ": {}})).subcode == 12


# --- edit -------------------------------------------------------------------------------------------------------

def edit(doc: dict[str, Any] | None, force: bool = False, **fields: Any) -> list[Event]:
    return decide_edit(doc, EditTask("t1", fields, force), COMPANY, LATER)


def test_edit_requires_created_status_unless_forced() -> None:
    running = {**created(), "status": "in_progress"}
    error = rejection(lambda: edit(running, comment="x"))
    assert (error.code, error.subcode, error.msg) == (400, 110, "Invalid task status: expected=created, "
                                                                "status=in_progress")
    events = edit(running, force=True, comment="x")
    assert events == [TaskEdited(set={"comment": "x", "last_change": iso(LATER)}, force=True)]


def test_edit_missing_foreign_and_public_tasks() -> None:
    assert rejection(lambda: edit(None, comment="x")).msg == f"Invalid task id: id=t1, company={COMPANY}"
    assert rejection(lambda: edit({**created(), "company": "other"}, comment="x")).subcode == 101
    public = rejection(lambda: edit({**created(), "company": ""}, comment="x"))
    assert (public.code, public.subcode) == (403, 21)
    assert public.msg == "Forbidden (modification not allowed) (cannot modify public task(s), ids=('t1',))"


def test_edit_user_settable_fields_leave_last_update() -> None:
    doc = created()
    new = after(doc, edit(doc, name="renamed", tags=["x"], comment="c"))
    assert new["last_change"] == iso(LATER) and new["last_update"] == iso(NOW)
    new = after(doc, edit(doc, script={"branch": "b2"}))
    assert new["last_update"] == iso(LATER)


def test_edit_merges_embedded_objects_one_level_and_replaces_the_rest() -> None:
    doc = created(script={"repository": "r", "branch": "b1"},
                  hyperparams={"A": {"x": {"section": "A", "name": "x", "value": "1"}}}, execution={"framework": "f"})
    new = after(doc, edit(doc, script={"branch": "b2"},
                          hyperparams={"B": {"y": {"section": "B", "name": "y", "value": "2"}}},
                          execution={"test_split": 3}))
    assert new["script"]["repository"] == "r" and new["script"]["branch"] == "b2"
    assert new["hyperparams"] == {"B": {"y": {"section": "B", "name": "y", "value": "2"}}}
    assert new["execution"]["framework"] == "f" and new["execution"]["test_split"] == 3


def test_edit_legacy_parameters_replace_only_legacy_items() -> None:
    doc = created(execution={"parameters": {"old": 1}},
                  hyperparams={"Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}}})
    assert set(doc["hyperparams"]["Args"]) == {"kept", "old"}
    new = after(doc, edit(doc, execution={"parameters": {"new": 2}}))
    assert set(new["hyperparams"]["Args"]) == {"kept", "new"}


def test_edit_accepts_any_status_and_type_string() -> None:
    doc = created()
    new = after(doc, edit(doc, force=True, status="publishing", type="whatever"))
    assert (new["status"], new["type"]) == ("publishing", "whatever")


def test_edit_with_nothing_to_edit_writes_nothing() -> None:
    assert edit(created(), unknown_field=1) == []


# --- update -----------------------------------------------------------------------------------------------------

def update(doc: dict[str, Any] | None, **fields: Any) -> list[Event]:
    return decide_update(doc, UpdateTask("t1", fields), COMPANY, LATER)


def test_update_applies_only_its_whitelist_in_any_status() -> None:
    doc = {**created(), "status": "published"}
    events = update(doc, name=" new name ", output__error="boom", status="failed", type="qc", created="x",
                    project="anything", status_reason="r")
    assert events == [TaskUpdated(set={"name": "new name", "project": "anything", "output.error": "boom",
                                       "last_change": iso(LATER)})]
    new = after(doc, events)
    assert new["output"] == {"error": "boom"} and new["status"] == "published" and new["type"] == "training"
    assert new["last_update"] == iso(NOW)


def test_update_nothing_applicable_writes_nothing() -> None:
    assert update(created(), type="qc") == []


def test_update_checks_name_tags_and_access() -> None:
    assert rejection(lambda: update(created(), name="ab")).subcode == 800
    assert rejection(lambda: update(created(), tags=["__$x"])).subcode == 16
    assert rejection(lambda: update(None, name="abc")).subcode == 101
    assert rejection(lambda: update({**created(), "company": ""}, name="abc")).code == 403


# --- ping -------------------------------------------------------------------------------------------------------

def ping(doc: dict[str, Any] | None) -> list[Event]:
    return decide_ping(doc, PingTask("t1"), COMPANY, LATER)


def test_ping_ignores_missing_foreign_and_public_tasks() -> None:
    assert ping(None) == []
    assert ping({**created(), "company": "other"}) == []
    assert ping({**created(), "company": ""}) == []


def test_ping_touches_timestamps() -> None:
    assert ping(created()) == [TaskPinged(set={"last_update": iso(LATER), "last_change": iso(LATER)})]


def test_ping_of_running_task_sets_active_duration() -> None:
    doc = {**created(), "status": "in_progress", "started": iso(NOW)}
    new = after(doc, ping(doc))
    assert new["active_duration"] == 90
