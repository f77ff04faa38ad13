"""Given / when / then for the pure decisions on one task's artifacts, models and requirements."""

from __future__ import annotations

from datetime import timedelta

import pytest

from taskstream.commands import decide_outputs as dout
from taskstream.commands import messages as msg
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import (
    ArtifactsDeleted,
    ArtifactsUpdated,
    ModelsEdited,
    RequirementsSet,
)
from tests.commands.task_docs import COMPANY, EARLIER, NOW, after, artifact, task


def test_add_or_update_artifacts_replaces_the_key_mode_slot_whole() -> None:
    doc = task(execution={"artifacts": [artifact("b", uri="s3://b"), artifact("a", "input")]})
    events = dout.decide_add_or_update_artifacts(
        doc, msg.AddOrUpdateArtifacts("t1", [{"key": "b", "type": "new"}, {"key": "a", "type": "t"}]), COMPANY, NOW)
    assert isinstance(events[0], ArtifactsUpdated)
    new = after(doc, events)
    assert new["execution"]["artifacts"] == [artifact("a", "input"), artifact("a"),
                                             {"key": "b", "type": "new", "mode": "output", "display_data": []}]
    assert new["last_update"] == new["last_change"] == iso(NOW)


@pytest.mark.parametrize(("status", "allowed"), [("created", True), ("in_progress", True), ("stopped", False),
                                                 ("queued", False), ("published", False)])
def test_artifact_and_model_status_rule(status: str, allowed: bool) -> None:
    calls = [
        lambda doc: dout.decide_add_or_update_artifacts(
            doc, msg.AddOrUpdateArtifacts("t1", [{"key": "k", "type": "t"}]),
                                                      COMPANY, NOW),
        lambda doc: dout.decide_delete_artifacts(doc, msg.DeleteArtifacts("t1", [{"key": "k"}]), COMPANY, NOW),
        lambda doc: dout.decide_add_or_update_model(doc, msg.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW),
        lambda doc: dout.decide_delete_models(doc, msg.DeleteModels("t1", [{"name": "m", "type": "input"}]),
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
    events = dout.decide_delete_artifacts(
        doc, msg.DeleteArtifacts("t1", [{"key": "a"}, {"key": "zz", "mode": "input"}]),
                                        COMPANY, NOW)
    assert isinstance(events[0], ArtifactsDeleted)
    assert after(doc, events)["execution"]["artifacts"] == [artifact("a", "input"), artifact("b")]


def test_add_or_update_model_replaces_the_first_item_of_that_name_or_appends() -> None:
    doc = task(models={"input": [], "output": [{"name": "m", "model": "1", "updated": EARLIER},
                                               {"name": "m", "model": "2", "updated": EARLIER}]})
    replaced = after(doc, dout.decide_add_or_update_model(doc, msg.AddOrUpdateModel("t1", "m", "3", "output", 5),
                                                        COMPANY, NOW))
    assert replaced["models"]["output"] == [{"name": "m", "model": "3", "updated": iso(NOW)},
                                            {"name": "m", "model": "2", "updated": EARLIER}]
    assert replaced["last_iteration"] == 5
    appended = after(replaced, dout.decide_add_or_update_model(
        replaced, msg.AddOrUpdateModel("t1", "n", "4", "output", 2),
                                                             COMPANY, NOW))
    assert [m["name"] for m in appended["models"]["output"]] == ["m", "m", "n"]
    assert appended["last_iteration"] == 5


def test_add_or_update_model_refreshes_active_duration_while_in_progress() -> None:
    doc = task("in_progress", started=iso(NOW - timedelta(seconds=42)))
    events = dout.decide_add_or_update_model(doc, msg.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW)
    assert isinstance(events[0], ModelsEdited) and events[0].set["active_duration"] == 42
    created = dout.decide_add_or_update_model(task(), msg.AddOrUpdateModel("t1", "m", "x", "input"), COMPANY, NOW)
    assert "active_duration" not in created[0].set and "last_iteration" not in created[0].set


def test_delete_models_removes_names_per_type_and_sets_last_change_only() -> None:
    doc = task(models={"input": [{"name": "a", "model": "1"}, {"name": "b", "model": "2"}],
                       "output": [{"name": "a", "model": "3"}]})
    new = after(doc, dout.decide_delete_models(doc, msg.DeleteModels("t1", [{"name": "a", "type": "input"},
                                                                         {"name": "zz", "type": "output"}]),
                                             COMPANY, NOW))
    assert new["models"] == {"input": [{"name": "b", "model": "2"}], "output": [{"name": "a", "model": "3"}]}
    assert (new["last_update"], new["last_change"]) == (EARLIER, iso(NOW))


def test_set_requirements_in_any_status() -> None:
    doc = task("published")
    events = dout.decide_set_requirements(doc, msg.SetRequirements("t1", {"pip": "x"}), COMPANY, NOW)
    assert isinstance(events[0], RequirementsSet)
    new = after(doc, events)
    assert new["script"] == {"binary": "python", "requirements": {"pip": "x"}} and new["last_update"] == iso(NOW)
    with pytest.raises(ApiError) as public:
        dout.decide_set_requirements(task(company=""), msg.SetRequirements("t1", {}), COMPANY, NOW)
    assert public.value.code == 403


def test_check_request_items() -> None:
    assert dout.check_request_items([{"key": "k", "mode": "input"}], ("key",), {"mode": ("input", "output")})
    with pytest.raises(ApiError) as missing:
        dout.check_request_items([{"mode": "input"}], ("key",), {})
    assert missing.value.msg == "Validation error (error for field 'key'. field is required!)"
    with pytest.raises(ApiError) as choice:
        dout.check_request_items([{"key": "k", "mode": "x"}], ("key",), {"mode": ("input", "output")})
    assert choice.value.msg == "Validation error (value 'x' is not a valid choice.)"
