"""Given a source task, when a clone is planned and stamped, then this first document (or this rejection).
Pure: no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from taskstream.commands.decide_clone import clone_events, plan_clone
from taskstream.commands.messages import CloneTask
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import TaskCreated

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
EARLIER = "2024-01-01T00:00:00+00:00"


def source(**fields: Any) -> dict[str, Any]:
    return {
        "id": "src", "company": COMPANY, "user": "someone", "name": "source", "type": "testing", "comment": "c",
        "status": "stopped", "created": EARLIER, "started": EARLIER, "last_update": EARLIER, "last_iteration": 9,
        "tags": ["t"], "system_tags": ["archived", "development", "keep"], "project": "p0",
        "script": {"binary": "python", "repository": "r", "entry_point": "e", "requirements": {"pip": "x"}},
        "output": {"destination": "s3://d", "result": "success"}, "runtime": {"k": "v"},
        "hyperparams": {"s": {"a": {"section": "s", "name": "a", "value": "1"}}},
        "configuration": {"c": {"name": "c", "value": "1"}}, "container": {"image": "img"},
        "models": {"input": [{"name": "in", "model": "m1"}], "output": [{"name": "out", "model": "m2"}]},
        "execution": {"queue": "q", "framework": "f", "parameters": {}, "model_desc": {}, "model_labels": {},
                      "test_split": 0, "artifacts": [{"key": "a", "type": "t", "mode": "input"},
                                                     {"key": "b", "type": "t", "mode": "output"}]},
        "last_metrics": {"x": {}}, "status_message": "m", **fields,
    }


def clone(src: dict[str, Any] | None = None, new_project: str | None = None, **overrides: Any) -> dict[str, Any]:
    planned = plan_clone(source() if src is None else src, CloneTask("src", **overrides), COMPANY, NOW)
    events = clone_events(planned, new_project, "new", "src", COMPANY, "me", NOW)
    assert len(events) == 1 and isinstance(events[0], TaskCreated) and events[0].cloned_from == "src"
    return events[0].task


def test_a_plain_clone_copies_the_definition_only() -> None:
    doc = clone()
    assert (doc["id"], doc["company"], doc["user"], doc["status"]) == ("new", COMPANY, "me", "created")
    assert doc["created"] == doc["last_update"] == doc["last_change"] == iso(NOW)
    assert (doc["name"], doc["type"], doc["comment"], doc["tags"], doc["project"]) == (
        "source", "testing", "c", ["t"], "p0")
    assert doc["system_tags"] == ["keep"] and doc["parent"] == "src"
    assert doc["output"] == {"destination": "s3://d"} and doc["runtime"] == {} and doc["last_metrics"] == {}
    assert doc["models"] == {"input": [{"name": "in", "model": "m1"}], "output": []}
    assert doc["execution"]["artifacts"] == [{"key": "a", "type": "t", "mode": "input"}]
    assert "queue" not in doc["execution"] and doc["execution"]["framework"] == "f"
    assert doc["script"]["requirements"] == {"pip": "x"} and doc["last_iteration"] == 0
    for absent in ("started", "status_message", "status_changed", "company_origin"):
        assert absent not in doc


def test_parent_rule() -> None:
    assert clone(source(parent="gp"))["parent"] == "gp"
    assert clone(source(parent="__DELETED__gp"))["parent"] == "src"
    assert clone(source(parent="gp"), parent="explicit")["parent"] == "explicit"


def test_project_rule() -> None:
    assert clone(project="explicit")["project"] == "explicit"
    assert clone(new_project="by-name")["project"] == "by-name"
    assert "project" not in clone(source(project=None))


def test_overrides_replace_and_empty_ones_fall_back() -> None:
    doc = clone(name=" renamed ", comment="new", tags=["b", "a"], system_tags=["x"],
                hyperparams={"n": {"p": {"section": "n", "name": "p", "value": "2"}}},
                configuration={"k": {"name": "k", "value": "v"}}, container={"image": "other"},
                input_models=[{"name": "i", "model": "m9"}])
    assert (doc["name"], doc["comment"], doc["tags"], doc["system_tags"]) == ("renamed", "new", ["a", "b"], ["x"])
    assert doc["hyperparams"] == {"n": {"p": {"section": "n", "name": "p", "value": "2"}}}
    assert doc["configuration"] == {"k": {"name": "k", "value": "v"}} and doc["container"] == {"image": "other"}
    assert doc["models"]["input"] == [{"name": "i", "model": "m9", "updated": iso(NOW)}]
    fallback = clone(name="", tags=[], hyperparams={}, configuration={}, container={}, input_models=[])
    assert (fallback["name"], fallback["tags"], fallback["container"]) == ("source", ["t"], {"image": "img"})
    assert fallback["hyperparams"] == source()["hyperparams"]


def test_execution_overrides_overlay_with_the_reference_quirks() -> None:
    doc = clone(execution_overrides={
        "framework": "g", "parameters": {"lr": 1}, "configuration": {"x": 1}, "model_desc": {"raw": 1},
        "model": "m-x", "docker_cmd": "image:1 --flag value", "queue": "other",
        "artifacts": [{"key": "o", "type": "t"}, {"key": "i", "type": "t", "mode": "input"}]})
    execution = doc["execution"]
    assert execution["framework"] == "g" and execution["parameters"] == {} and "configuration" not in execution
    assert execution["model_desc"] == {"raw": 1} and "queue" not in execution
    assert execution["artifacts"] == [{"key": "i", "type": "t", "mode": "input", "display_data": []}]
    assert doc["models"]["input"] == [{"name": "Input Model", "model": "m-x"}]
    assert doc["container"] == {"image": "image:1", "arguments": "--flag value"}
    assert doc["hyperparams"] == source()["hyperparams"]
    explicit = clone(execution_overrides={"model": "m-x", "docker_cmd": "img2"}, container={"image": "c"},
                     input_models=[{"name": "n", "model": "m"}])
    assert explicit["container"] == {"image": "c"} and explicit["models"]["input"][0]["model"] == "m"


def test_a_public_source_is_cloned_into_the_callers_company() -> None:
    doc = clone(source(company=""))
    assert doc["company"] == COMPANY


@pytest.mark.parametrize(("src", "overrides", "expected"), [
    (None, {}, (400, 101, "Invalid task id: id=src")),
    (source(company="else"), {}, (400, 101, "Invalid task id: id=src")),
    (None, {"tags": ["__$x"]}, (400, 16, "Invalid value for fields (unsupported tag prefix): values=(__$x)")),
    (source(), {"name": " ab "}, (400, 800, "Data validation error: name=String value is too short")),
    (source(), {"configuration": {"": {}}}, (400, 12, "Validation error (Empty configuration name is not allowed)")),
    (source(), {"execution_overrides": {"artifacts": [{"key": "k"}]}}, (400, 800, None)),
])
def test_rejections(src: dict[str, Any] | None, overrides: dict[str, Any],
                    expected: tuple[int, int, str | None]) -> None:
    with pytest.raises(ApiError) as error:
        plan_clone(src, CloneTask("src", **overrides), COMPANY, NOW)
    assert (error.value.code, error.value.subcode) == expected[:2]
    if expected[2] is not None:
        assert error.value.msg == expected[2]


def test_the_tag_check_comes_before_the_source_check() -> None:
    with pytest.raises(ApiError) as error:
        plan_clone(None, CloneTask("src", system_tags=["__$x"]), COMPANY, NOW)
    assert error.value.subcode == 16
