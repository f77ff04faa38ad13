"""`for_version` (output conversions by requested version, §1.5, §3.3, §3.6) and `project` on plain documents."""

from __future__ import annotations

import copy
from typing import Any

from taskstream.projections.documents import for_version, project


def task(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "t1", "tags": ["b", "shared"], "system_tags": ["archived", "shared"],
        "execution": {"parameters": {}, "model_desc": {}, "test_split": 0},
        "output": {}, "container": {}, "models": {"input": [], "output": []},
        "hyperparams": {}, "configuration": {},
    }
    doc.update(fields)
    return doc


LEGACY = {
    "hyperparams": {
        "Args": {"lr": {"section": "Args", "name": "lr", "type": "legacy", "value": "0.1"},
                 "batch": {"section": "Args", "name": "batch", "value": "8"}},
        "TF_DEFINE": {"x": {"section": "TF_DEFINE", "name": "x", "type": "legacy", "value": "y"}},
    },
    "configuration": {"net": {"name": "net", "value": "resnet", "type": "legacy"},
                      "cfg": {"name": "cfg", "value": "a: 1"}},
}
MODELS = {"input": [{"name": "a", "model": "first"}, {"name": "b", "model": "second"}],
          "output": [{"name": "c", "model": "early"}, {"name": "d", "model": "last"}]}


def test_from_2_13_the_document_is_returned_as_is() -> None:
    doc = task(models=MODELS, container={"image": "img", "arguments": "x"}, **LEGACY)
    for version in ((2, 13), (2, 23), (9, 99)):
        assert for_version(doc, version) is doc


def test_below_2_13_models_and_container_show_as_old_fields_without_touching_the_input() -> None:
    doc = task(models=MODELS, container={"image": "img", "arguments": "--x 1"})
    original = copy.deepcopy(doc)
    converted = for_version(doc, (2, 12))
    assert doc == original
    assert converted["execution"]["model"] == "first" and converted["output"]["model"] == "last"
    assert converted["execution"]["docker_cmd"] == "img --x 1"
    assert converted["models"] == MODELS and converted["container"] == {"image": "img", "arguments": "--x 1"}


def test_old_fields_need_something_to_show() -> None:
    assert for_version(task(container={"image": "img"}), (2, 12))["execution"]["docker_cmd"] == "img"
    converted = for_version(task(container={"arguments": "--x"}), (2, 12))
    assert {"model", "docker_cmd"}.isdisjoint(converted["execution"]) and converted["output"] == {}


def test_old_fields_are_written_even_when_the_projection_left_out_their_parent() -> None:
    converted = for_version({"id": "t1", "models": MODELS, "container": {"image": "i"}}, (2, 12))
    assert converted["execution"] == {"model": "first", "docker_cmd": "i"}
    assert converted["output"] == {"model": "last"}
    assert for_version({"id": "t1"}, (2, 5)) == {"id": "t1"}


def test_below_2_9_legacy_maps_are_rebuilt_from_legacy_items_only() -> None:
    doc = task(**LEGACY)
    for version in ((1, 5), (2, 8)):
        execution = for_version(doc, version)["execution"]
        assert execution["parameters"] == {"lr": "0.1", "TF_DEFINE/x": "y"}
        assert execution["model_desc"] == {"net": "resnet"}
    assert for_version(doc, (2, 9))["execution"]["parameters"] == {}
    plain = task(hyperparams={"Args": {"b": {"section": "Args", "name": "b", "value": "1"}}})
    assert for_version(plain, (2, 8))["execution"]["parameters"] == {}
    only_hyperparams = {"hyperparams": LEGACY["hyperparams"]}
    assert for_version(only_hyperparams, (2, 8))["execution"] == {"parameters": {"lr": "0.1", "TF_DEFINE/x": "y"}}


def test_below_2_3_system_tags_are_merged_into_tags() -> None:
    doc = task()
    for version in ((1, 5), (2, 1)):
        converted = for_version(doc, version)
        assert converted["tags"] == ["archived", "b", "shared"]
        assert converted["system_tags"] == ["archived", "shared"]
    assert for_version(doc, (2, 3))["tags"] == ["b", "shared"]
    assert for_version(task(tags=["z", "z"], system_tags=[]), (2, 1))["tags"] == ["z", "z"]
    assert for_version({"id": "t1", "system_tags": ["archived"]}, (2, 1))["tags"] == ["archived"]


def test_project_keeps_included_paths_and_drops_excluded_ones() -> None:
    doc = task(unique_metrics=["m"], **LEGACY)
    assert project(doc, ["id", "execution.test_split"], True) == {"id": "t1", "execution": {"test_split": 0}}
    assert "unique_metrics" not in project(doc, None, True)
    assert "unique_metrics" in project(doc, None, False)
    assert "tags" not in project(doc, ["-tags"], True)
