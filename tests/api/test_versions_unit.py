"""`conform_task_input` and `conform_tags` (input conversions by requested version, §1.5, §3.6) without a
database."""

from __future__ import annotations

import copy

import pytest

from taskstream.api.versions import conform_tags, conform_task_input
from taskstream.schemas.errors import ApiError

OLD_FIELDS = {"name": "t", "execution": {"model": "in", "docker_cmd": "img -e A=1 -v", "test_split": 1},
              "output": {"model": "out"}}


def test_below_2_13_old_model_and_docker_fields_become_models_and_container() -> None:
    original = copy.deepcopy(OLD_FIELDS)
    for version in ((1, 5), (2, 12)):
        data = conform_task_input(OLD_FIELDS, version)
        assert data["models"] == {"input": [{"name": "Input Model", "model": "in"}],
                                  "output": [{"name": "Output Model", "model": "out"}]}
        assert data["container"] == {"image": "img", "arguments": "-e A=1 -v"}
        assert data["execution"] == {"test_split": 1} and data["output"] == {}
    assert original == OLD_FIELDS


def test_from_2_13_old_fields_are_dropped() -> None:
    data = conform_task_input(OLD_FIELDS, (2, 13))
    assert data["execution"] == {"test_split": 1}
    assert "models" not in data and "container" not in data
    assert conform_task_input({"name": "t", "tags": ["archived"]}, (2, 23)) == {"name": "t", "tags": ["archived"]}


def test_empty_old_values_clear_and_null_ones_change_nothing() -> None:
    data = conform_task_input({"execution": {"model": ""}, "output": {"model": None},
                               "models": {"output": [{"name": "o", "model": "kept"}]}}, (2, 12))
    assert data["models"] == {"input": [], "output": [{"name": "o", "model": "kept"}]}
    assert conform_task_input({"execution": {"docker_cmd": ""}}, (2, 12))["container"] == {"image": "",
                                                                                          "arguments": ""}
    assert "container" not in conform_task_input({"execution": {"docker_cmd": None}}, (2, 12))


def test_docker_cmd_is_set_into_the_sent_container() -> None:
    data = conform_task_input({"execution": {"docker_cmd": "new"}, "container": {"image": "old", "env": "x"}}, (2, 5))
    assert data["container"] == {"image": "new", "arguments": "", "env": "x"}
    with pytest.raises(ApiError) as failure:
        conform_task_input({"execution": {"docker_cmd": 5}}, (2, 5))
    assert (failure.value.code, failure.value.subcode) == (400, 800)


def test_below_2_3_tags_without_system_tags_are_partitioned() -> None:
    tags = ["b", "archived", "a", "b", "-development", "Annotation Done", "-annotated", "active"]
    for data in (conform_task_input({"tags": tags}, (2, 1)), conform_tags({"tags": tags, "system_tags": []}, (1, 5))):
        assert data["tags"] == ["a", "b"]
        assert data["system_tags"] == ["-annotated", "-development", "Annotation Done", "active", "archived"]
    kept = {"tags": ["archived"], "system_tags": ["x"]}
    assert conform_tags(kept, (2, 1)) == kept
    assert conform_tags({"tags": ["archived"]}, (2, 3)) == {"tags": ["archived"]}
    assert conform_tags({"tags": ["a", 5]}, (2, 1)) == {"tags": ["a", 5]}
    assert conform_tags({"name": "no tags"}, (2, 1)) == {"name": "no tags"}
