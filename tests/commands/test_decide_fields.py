"""Given task documents, when an artifact, model, requirements, visibility, move or update_batch command is
decided, then these events (or this rejection). Pure: no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taskstream.commands import decide_fields as df
from taskstream.commands.evolve import evolve
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import (
    ArtifactsDeleted,
    ArtifactsUpdated,
    Event,
    ModelsEdited,
    RequirementsSet,
    TaskMadePrivate,
    TaskMadePublic,
    TaskMoved,
    TaskUpdated,
)

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
EARLIER = "2024-01-01T00:00:00+00:00"


def task(status: str = "created", task_id: str = "t1", **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "company": COMPANY, "status": status, "name": "a task", "last_update": EARLIER,
            "last_change": EARLIER, "last_iteration": 0, "execution": {"artifacts": []},
            "models": {"input": [], "output": []}, "script": {"binary": "python", "requirements": {}}, **fields}


def after(doc: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    state: dict[str, Any] | None = doc
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state


def artifact(key: str, mode: str = "output", **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": "t", "mode": mode, "display_data": [], **extra}


# artifacts


def test_add_or_update_artifacts_replaces_the_key_mode_slot_whole() -> None:
    doc = task(execution={"artifacts": [artifact("b", uri="s3://b"), artifact("a", "input")]})
    events = df.decide_add_or_update_artifacts(
        doc, df.AddOrUpdateArtifacts("t1", [{"key": "b", "type": "new"}, {"key": "a", "type": "t"}]), COMPANY, NOW)
    assert isinstance(events[0], ArtifactsUpdated)
    new = after(doc, events)
    assert new["execution"]["artifacts"] == [artifact("a", "input"), artifact("a"),
                                             {"key": "b", "type": "new", "mode": "output", "display_data": []}]
    assert new["last_update"] == new["last_change"] == iso(NOW)


@pytest.mark.parametrize(("status", "allowed"), [("created", True), ("in_progress", True), ("stopped", False),
                                                 ("queued", False), ("published", False)])
def test_artifact_and_model_status_rule(status: str, allowed: bool) -> None:
    calls = [
        lambda doc: df.decide_add_or_update_artifacts(doc, df.AddOrUpdateArtifacts("t1", [{"key": "k", "type": "t"}]),
                                                      COMPANY, NOW),
        lambda doc: df.decide_delete_artifacts(doc, df.DeleteArtifacts("t1", [{"key": "k"}]), COMPANY, NOW),
        lambda doc: df.decide_add_or_update_model(doc, df.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW),
        lambda doc: df.decide_delete_models(doc, df.DeleteModels("t1", [{"name": "m", "type": "input"}]),
                                            COMPANY, NOW),
    ]
    for decide in calls:
        if allowed:
            assert decide(task(status))
            continue
        with pytest.raises(ApiError) as error:
            decide(task(status))
        assert error.value.msg == f"Invalid task status: expected=created, status={status}"


def test_delete_artifacts_by_key_and_mode_ignores_unknown() -> None:
    doc = task(execution={"artifacts": [artifact("a"), artifact("a", "input"), artifact("b")]})
    events = df.decide_delete_artifacts(doc, df.DeleteArtifacts("t1", [{"key": "a"}, {"key": "zz", "mode": "input"}]),
                                        COMPANY, NOW)
    assert isinstance(events[0], ArtifactsDeleted)
    assert after(doc, events)["execution"]["artifacts"] == [artifact("a", "input"), artifact("b")]


# models


def test_add_or_update_model_replaces_the_first_item_of_that_name_or_appends() -> None:
    doc = task(models={"input": [], "output": [{"name": "m", "model": "1", "updated": EARLIER},
                                               {"name": "m", "model": "2", "updated": EARLIER}]})
    replaced = after(doc, df.decide_add_or_update_model(doc, df.AddOrUpdateModel("t1", "m", "3", "output", 5),
                                                        COMPANY, NOW))
    assert replaced["models"]["output"] == [{"name": "m", "model": "3", "updated": iso(NOW)},
                                            {"name": "m", "model": "2", "updated": EARLIER}]
    assert replaced["last_iteration"] == 5
    appended = after(replaced, df.decide_add_or_update_model(replaced, df.AddOrUpdateModel("t1", "n", "4", "output", 2),
                                                             COMPANY, NOW))
    assert [m["name"] for m in appended["models"]["output"]] == ["m", "m", "n"]
    assert appended["last_iteration"] == 5


def test_add_or_update_model_refreshes_active_duration_while_in_progress() -> None:
    doc = task("in_progress", started=iso(NOW - timedelta(seconds=42)))
    events = df.decide_add_or_update_model(doc, df.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW)
    assert isinstance(events[0], ModelsEdited) and events[0].set["active_duration"] == 42
    created = df.decide_add_or_update_model(task(), df.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW)
    assert "active_duration" not in created[0].set and "last_iteration" not in created[0].set


def test_delete_models_removes_names_per_type_and_sets_last_change_only() -> None:
    doc = task(models={"input": [{"name": "a", "model": "1"}, {"name": "b", "model": "2"}],
                       "output": [{"name": "a", "model": "3"}]})
    new = after(doc, df.decide_delete_models(doc, df.DeleteModels("t1", [{"name": "a", "type": "input"},
                                                                         {"name": "zz", "type": "output"}]),
                                             COMPANY, NOW))
    assert new["models"] == {"input": [{"name": "b", "model": "2"}], "output": [{"name": "a", "model": "3"}]}
    assert (new["last_update"], new["last_change"]) == (EARLIER, iso(NOW))


# requirements


def test_set_requirements_in_any_status() -> None:
    doc = task("published")
    events = df.decide_set_requirements(doc, df.SetRequirements("t1", {"pip": "x"}), COMPANY, NOW)
    assert isinstance(events[0], RequirementsSet)
    new = after(doc, events)
    assert new["script"] == {"binary": "python", "requirements": {"pip": "x"}} and new["last_update"] == iso(NOW)
    with pytest.raises(ApiError) as public:
        df.decide_set_requirements(task(company=""), df.SetRequirements("t1", {}), COMPANY, NOW)
    assert public.value.code == 403


# visibility


def test_make_public_then_private() -> None:
    doc = task()
    public = df.decide_make_public({"t1": doc}, COMPANY)
    assert isinstance(public["t1"][0], TaskMadePublic)
    shared = after(doc, public["t1"])
    assert (shared["company"], shared["company_origin"], shared["last_change"]) == ("", COMPANY, EARLIER)
    private = df.decide_make_private({"t1": shared}, COMPANY)
    assert isinstance(private["t1"][0], TaskMadePrivate)
    restored = after(shared, private["t1"])
    assert restored["company"] == COMPANY and "company_origin" not in restored


def test_make_public_and_private_reject_naming_the_invalid_ids() -> None:
    docs = {"t1": task(), "t2": task(company="else"), "t3": task(company=""), "t4": None}
    with pytest.raises(ApiError) as error:
        df.decide_make_public(docs, COMPANY)
    assert error.value.msg == "Invalid task id: ids=(t2, t3, t4)"
    shared = {"t3": task(company="", company_origin=COMPANY), "t5": task(company="", company_origin="else")}
    with pytest.raises(ApiError) as private:
        df.decide_make_private({**shared, "t1": task()}, COMPANY)
    assert private.value.msg == "Invalid task id: ids=(t5, t1)"


# move and update_batch


def test_move_skips_foreign_public_and_missing_tasks() -> None:
    docs = {"t1": task(), "t2": task(company="else"), "t3": task(company=""), "t4": None}
    decided = df.decide_move(docs, "p1", COMPANY, NOW)
    assert list(decided) == ["t1"] and isinstance(decided["t1"][0], TaskMoved)
    assert decided["t1"][0].set == {"project": "p1", "last_change": iso(NOW)}


def test_update_batch_public_first_then_missing() -> None:
    items = {"t1": {"name": "new name"}, "t2": {"name": "abc"}, "t3": {"name": "abc"}}
    with pytest.raises(ApiError) as public:
        df.decide_update_batch({"t1": task(), "t2": task(company=""), "t3": None}, items, COMPANY, NOW)
    assert public.value.msg == "Forbidden (modification not allowed) (cannot modify public task(s), ids=('t2',))"
    with pytest.raises(ApiError) as missing:
        df.decide_update_batch({"t1": task(), "t2": task(company="else"), "t3": None}, items, COMPANY, NOW)
    assert missing.value.msg == "Invalid task id: ids=(t2, t3)"


def test_update_batch_applies_the_update_whitelist_per_task() -> None:
    docs = {"t1": task(), "t2": task(task_id="t2")}
    decided = df.decide_update_batch(docs, {"t1": {"task": "t1", "comment": "c", "type": "x"},
                                            "t2": {"task": "t2", "type": "ignored"}}, COMPANY, NOW)
    assert list(decided) == ["t1"] and isinstance(decided["t1"][0], TaskUpdated)
    assert decided["t1"][0].set == {"comment": "c", "last_change": iso(NOW)}


def test_check_request_items() -> None:
    assert df.check_request_items([{"key": "k", "mode": "input"}], ("key",), {"mode": ("input", "output")})
    with pytest.raises(ApiError) as missing:
        df.check_request_items([{"mode": "input"}], ("key",), {})
    assert missing.value.msg == "Validation error (error for field 'key'. field is required!)"
    with pytest.raises(ApiError) as choice:
        df.check_request_items([{"key": "k", "mode": "x"}], ("key",), {"mode": ("input", "output")})
    assert choice.value.msg == "Validation error (value 'x' is not a valid choice.)"
