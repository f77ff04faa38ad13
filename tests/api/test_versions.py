"""Requested-version conversions over HTTP (§1.5, §3.3 legacy input/output, §3.6): every conversion is driven
through `/v<version>/tasks.*` and read back through the API at another version."""

from __future__ import annotations

from typing import Any

from taskstream.api.context import AppContext
from tests.conftest import ApiFailure, Tenant


async def call(tenant: Tenant, version: str, endpoint: str, **body: Any) -> Any:
    """`data` of `/v<version>/<endpoint>`; raises ApiFailure on an error envelope."""
    response = await tenant.raw(f"/v{version}/{endpoint}", body)
    meta = response.json()["meta"]
    if meta["result_code"] != 200:
        raise ApiFailure(response.status_code, meta)
    return response.json()["data"]


async def create(tenant: Tenant, version: str, **fields: Any) -> str:
    data = await call(tenant, version, "tasks.create", name=fields.pop("name", "versioned"),
                      type=fields.pop("type", "training"), **fields)
    return str(data["id"])


async def task_at(tenant: Tenant, version: str, task_id: str) -> dict[str, Any]:
    return dict((await call(tenant, version, "tasks.get_by_id", task=task_id))["task"])


async def listed_at(tenant: Tenant, version: str, task_id: str, **body: Any) -> dict[str, Any]:
    tasks = (await call(tenant, version, "tasks.get_all", id=[task_id], **body))["tasks"]
    assert len(tasks) == 1
    return dict(tasks[0])


async def event_count(ctx: AppContext, stream_id: str) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


# < 2.1: versions echoed as JSON numbers


async def test_meta_versions_are_numbers_below_2_1_only(tenant: Tenant) -> None:
    for version, requested, actual in (("1.5", 1.5, 1.0), ("2.1", "2.1", "1.0"), ("2.23", "2.23", "1.0")):
        response = await tenant.raw(f"/v{version}/tasks.create", {"name": "numbers", "type": "training"})
        endpoint = response.json()["meta"]["endpoint"]
        assert (endpoint["requested_version"], endpoint["actual_version"]) == (requested, actual)
    failure = await tenant.raw("/v1.5/tasks.get_by_id", {"task": "missing"})
    assert failure.json()["meta"]["endpoint"]["requested_version"] == 1.5


# < 2.3: old-client tags


async def test_old_client_tags_are_split_into_system_tags_on_create(tenant: Tenant) -> None:
    tags = ["b", "archived", "a", "b", "-development", "Annotation Done", "-annotated", "active"]
    task_id = await create(tenant, "2.1", tags=tags)
    task = await task_at(tenant, "2.23", task_id)
    assert task["tags"] == ["a", "b"]
    assert task["system_tags"] == ["-annotated", "-development", "Annotation Done", "active", "archived"]


async def test_tags_are_not_split_when_system_tags_are_sent_or_from_2_3(tenant: Tenant) -> None:
    with_system = await create(tenant, "2.1", tags=["archived", "x"], system_tags=["pipeline"])
    task = await task_at(tenant, "2.23", with_system)
    assert (task["tags"], task["system_tags"]) == (["archived", "x"], ["pipeline"])
    for version in ("2.5", "2.23"):
        task = await task_at(tenant, "2.23", await create(tenant, version, tags=["archived", "x"]))
        assert (task["tags"], task["system_tags"]) == (["archived", "x"], [])


async def test_old_client_tags_are_split_on_edit_and_validate(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", tags=["keep"], system_tags=["pipeline"])
    await call(tenant, "2.1", "tasks.edit", task=task_id, tags=["user", "development"])
    task = await task_at(tenant, "2.23", task_id)
    assert (task["tags"], task["system_tags"]) == (["user"], ["development"])
    failure = await tenant.raw("/v2.1/tasks.validate", {"name": "valid", "type": "training",
                                                         "tags": ["archived", "__$bad"]})
    meta = failure.json()["meta"]
    assert (meta["result_code"], meta["result_subcode"]) == (400, 16)
    assert await call(tenant, "2.1", "tasks.validate", name="valid", type="training", tags=["archived"]) == {}


async def test_system_tags_are_merged_into_tags_on_output_below_2_3(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", tags=["b", "shared"], system_tags=["shared", "archived"])
    for version in ("1.5", "2.1"):
        for task in (await task_at(tenant, version, task_id), await listed_at(tenant, version, task_id)):
            assert task["tags"] == ["archived", "b", "shared"]
            assert task["system_tags"] == ["archived", "shared"]
    for version in ("2.5", "2.23"):
        task = await task_at(tenant, version, task_id)
        assert (task["tags"], task["system_tags"]) == (["b", "shared"], ["archived", "shared"])
    plain = await create(tenant, "2.23", tags=["z", "z"])
    assert (await task_at(tenant, "2.1", plain))["tags"] == ["z", "z"]


# Legacy parameters and model_desc: input at every version, output below 2.9


async def test_legacy_parameters_become_legacy_hyperparams_at_every_version(tenant: Tenant) -> None:
    for version in ("1.5", "2.8", "2.12", "2.23"):
        task_id = await create(tenant, version, execution={"parameters": {"lr": 0.1, "TF_DEFINE/x": "y"},
                                                           "model_desc": {"net": {"layers": 2}}})
        task = await task_at(tenant, "2.23", task_id)
        assert task["hyperparams"] == {
            "Args": {"lr": {"section": "Args", "name": "lr", "type": "legacy", "value": "0.1"}},
            "TF_DEFINE": {"x": {"section": "TF_DEFINE", "name": "x", "type": "legacy", "value": "y"}},
        }
        assert task["configuration"] == {"net": {"name": "net", "value": "{'layers': 2}", "type": "legacy"}}
        assert (task["execution"]["parameters"], task["execution"]["model_desc"]) == ({}, {})


async def test_legacy_maps_are_rebuilt_from_legacy_items_below_2_9(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", execution={"parameters": {"lr": 0.1, "TF_DEFINE/x": "y"},
                                                      "model_desc": {"net": "resnet"}},
                           hyperparams={"General": {"batch": {"section": "General", "name": "batch", "value": "8"}}},
                           configuration={"cfg": {"name": "cfg", "value": "a: 1"}})
    for version in ("1.5", "2.5", "2.8"):
        for task in (await task_at(tenant, version, task_id), await listed_at(tenant, version, task_id)):
            assert task["execution"]["parameters"] == {"lr": "0.1", "TF_DEFINE/x": "y"}
            assert task["execution"]["model_desc"] == {"net": "resnet"}
            assert task["hyperparams"]["General"]["batch"]["value"] == "8"
    for version in ("2.12", "2.23"):
        task = await task_at(tenant, version, task_id)
        assert (task["execution"]["parameters"], task["execution"]["model_desc"]) == ({}, {})
    listed = await listed_at(tenant, "2.8", task_id, only_fields=["hyperparams"])
    assert listed["execution"]["parameters"] == {"lr": "0.1", "TF_DEFINE/x": "y"}


async def test_edit_with_legacy_parameters_only_replaces_the_legacy_items(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", execution={"parameters": {"old": 1, "TF_DEFINE/gone": 2},
                                                      "model_desc": {"old_cfg": "x"}},
                           hyperparams={"Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}}},
                           configuration={"kept_cfg": {"name": "kept_cfg", "value": "c"}})
    await call(tenant, "2.8", "tasks.edit", task=task_id, execution={"parameters": {"new": 2},
                                                                     "model_desc": {"new_cfg": "y"}})
    task = await task_at(tenant, "2.23", task_id)
    assert task["hyperparams"] == {
        "Args": {"kept": {"section": "Args", "name": "kept", "value": "k"},
                 "new": {"section": "Args", "name": "new", "type": "legacy", "value": "2"}},
    }
    assert task["configuration"] == {"kept_cfg": {"name": "kept_cfg", "value": "c"},
                                     "new_cfg": {"name": "new_cfg", "value": "y", "type": "legacy"}}
    old = await task_at(tenant, "2.8", task_id)
    assert (old["execution"]["parameters"], old["execution"]["model_desc"]) == ({"new": "2"}, {"new_cfg": "y"})


async def test_edit_with_legacy_parameters_and_hyperparams_merges_into_the_sent_ones(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", hyperparams={"Old": {"p": {"section": "Old", "name": "p", "value": "1"}}})
    await call(tenant, "2.23", "tasks.edit", task=task_id, execution={"parameters": {"lr": 0.5}},
               hyperparams={"Args": {"batch": {"section": "Args", "name": "batch", "value": "4"}}})
    task = await task_at(tenant, "2.23", task_id)
    assert task["hyperparams"] == {"Args": {
        "batch": {"section": "Args", "name": "batch", "value": "4"},
        "lr": {"section": "Args", "name": "lr", "type": "legacy", "value": "0.5"},
    }}


# < 2.13: execution.model / output.model ⇄ models, execution.docker_cmd ⇄ container


async def test_old_model_and_docker_fields_convert_on_input_below_2_13(tenant: Tenant) -> None:
    in_model = await tenant.create_model("in-model")
    for version in ("1.5", "2.12"):
        task_id = await create(tenant, version, execution={"model": in_model, "docker_cmd": "nvidia/cuda -e A=1 -v"},
                               output={"model": "out-model"})
        task = await task_at(tenant, "2.23", task_id)
        assert [(m["name"], m["model"]) for m in task["models"]["input"]] == [("Input Model", in_model)]
        assert [(m["name"], m["model"]) for m in task["models"]["output"]] == [("Output Model", "out-model")]
        assert all(m["updated"] for m in task["models"]["input"] + task["models"]["output"])
        assert task["container"] == {"image": "nvidia/cuda", "arguments": "-e A=1 -v"}
        assert "model" not in task["execution"] and "docker_cmd" not in task["execution"]
        assert "model" not in task["output"]


async def test_old_model_and_docker_fields_are_dropped_from_2_13(tenant: Tenant, ctx: AppContext) -> None:
    task_id = await create(tenant, "2.13", execution={"model": "in-model", "docker_cmd": "img arg", "test_split": 1},
                           output={"model": "out-model"})
    task = await task_at(tenant, "2.23", task_id)
    assert task["models"] == {"input": [], "output": []}
    assert task["container"] == {}
    assert task["execution"]["test_split"] == 1 and "model" not in task["execution"]
    assert "docker_cmd" not in task["execution"] and task["output"] == {}
    count = await event_count(ctx, task_id)
    await call(tenant, "2.23", "tasks.edit", task=task_id, execution={"model": "m", "docker_cmd": "img"})
    task = await task_at(tenant, "2.23", task_id)
    assert task["models"]["input"] == [] and task["container"] == {}
    assert "model" not in task["execution"] and "docker_cmd" not in task["execution"]
    assert await event_count(ctx, task_id) == count + 1


async def test_models_and_container_are_shown_as_old_fields_below_2_13(tenant: Tenant) -> None:
    first, second = await tenant.create_model("first"), await tenant.create_model("second")
    models = {"input": [{"name": "a", "model": first}, {"name": "b", "model": second}],
              "output": [{"name": "c", "model": "early"}, {"name": "d", "model": "last"}]}
    task_id = await create(tenant, "2.23", models=models, container={"image": "img", "arguments": "--x 1"})
    for version in ("1.5", "2.5", "2.12"):
        for task in (await task_at(tenant, version, task_id), await listed_at(tenant, version, task_id)):
            assert task["execution"]["model"] == first
            assert task["output"]["model"] == "last"
            assert task["execution"]["docker_cmd"] == "img --x 1"
            assert task["models"]["input"][0]["model"] == first
            assert task["container"] == {"image": "img", "arguments": "--x 1"}
    for version in ("2.13", "2.23"):
        task = await task_at(tenant, version, task_id)
        assert "model" not in task["execution"] and "docker_cmd" not in task["execution"]
        assert "model" not in task["output"]
    listed = await listed_at(tenant, "2.12", task_id, only_fields=["models"])
    assert (listed["execution"]["model"], listed["output"]["model"]) == (first, "last")


async def test_old_fields_are_absent_when_there_is_nothing_to_show(tenant: Tenant) -> None:
    image_only = await create(tenant, "2.23", container={"image": "img"})
    task = await task_at(tenant, "2.12", image_only)
    assert task["execution"]["docker_cmd"] == "img"
    assert "model" not in task["execution"] and "model" not in task["output"]
    no_image = await create(tenant, "2.23", container={"arguments": "--x"})
    assert "docker_cmd" not in (await task_at(tenant, "2.12", no_image))["execution"]


async def test_edit_below_2_13_converts_old_fields(tenant: Tenant) -> None:
    in1, in2 = await tenant.create_model("in1"), await tenant.create_model("in2")
    models = {"input": [{"name": "a", "model": in1}], "output": [{"name": "c", "model": "out1"}]}
    task_id = await create(tenant, "2.23", models=models, container={"image": "old", "arguments": "x"})
    await call(tenant, "2.12", "tasks.edit", task=task_id, execution={"model": in2, "docker_cmd": "new"})
    task = await task_at(tenant, "2.23", task_id)
    assert [(m["name"], m["model"]) for m in task["models"]["input"]] == [("Input Model", in2)]
    assert [m["model"] for m in task["models"]["output"]] == ["out1"]
    assert task["container"] == {"image": "new", "arguments": ""}
    await call(tenant, "2.12", "tasks.edit", task=task_id, execution={"model": ""}, output={"model": ""})
    task = await task_at(tenant, "2.23", task_id)
    assert task["models"] == {"input": [], "output": []}
    assert "model" not in (await task_at(tenant, "2.12", task_id))["execution"]


async def test_validate_accepts_old_fields_and_writes_nothing(tenant: Tenant, ctx: AppContext) -> None:
    in_model = await tenant.create_model("model m")
    before = int(await ctx.pool.fetchval("SELECT count(*) FROM tasks WHERE company = $1", tenant.company))
    for version in ("1.5", "2.12", "2.13", "2.23"):
        body = {"name": "valid", "type": "training", "tags": ["archived"], "output": {"model": "o"},
                "execution": {"model": in_model, "docker_cmd": "img a", "parameters": {"lr": 1}}}
        assert await call(tenant, version, "tasks.validate", **body) == {}
    assert int(await ctx.pool.fetchval("SELECT count(*) FROM tasks WHERE company = $1", tenant.company)) == before


async def test_one_old_client_round_trip_at_1_5(tenant: Tenant) -> None:
    in_model = await tenant.create_model("model in")
    task_id = await create(tenant, "1.5", tags=["mine", "development"], output={"model": "out"},
                           execution={"model": in_model, "docker_cmd": "img run", "parameters": {"lr": 0.1}})
    old = await task_at(tenant, "1.5", task_id)
    assert old["tags"] == ["development", "mine"] and old["system_tags"] == ["development"]
    assert (old["execution"]["model"], old["output"]["model"]) == (in_model, "out")
    assert old["execution"]["docker_cmd"] == "img run"
    assert old["execution"]["parameters"] == {"lr": "0.1"}
    new = await task_at(tenant, "2.23", task_id)
    assert (new["tags"], new["system_tags"]) == (["mine"], ["development"])
    assert new["execution"]["parameters"] == {} and "model" not in new["execution"]


async def test_edit_with_an_empty_legacy_map_removes_the_legacy_items(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23", execution={"parameters": {"lr": 1}, "model_desc": {"net": "a"}},
                           hyperparams={"Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}}})
    await call(tenant, "2.8", "tasks.edit", task=task_id, execution={"parameters": {}, "model_desc": {}})
    task = await task_at(tenant, "2.23", task_id)
    assert task["hyperparams"] == {"Args": {"kept": {"section": "Args", "name": "kept", "value": "k"}}}
    assert task["configuration"] == {}
    await call(tenant, "2.8", "tasks.edit", task=task_id, hyperparams={}, execution={"parameters": {"n": "v"}})
    task = await task_at(tenant, "2.23", task_id)
    assert set(task["hyperparams"]["Args"]) == {"kept", "n"}


async def test_legacy_input_errors(tenant: Tenant, ctx: AppContext) -> None:
    cases = [({"parameters": {"TF_DEFINE/": 1}}, 400, 12, "Validation error (Parameter name cannot be empty)"),
             ({"parameters": {"": 1}}, 400, 12, "Validation error (Empty parameter name is not allowed)"),
             ({"model_desc": {"": 1}}, 400, 12, "Validation error (Empty configuration name is not allowed)"),
             ({"parameters": "lr=1"}, 400, 800, None),
             ({"docker_cmd": 5}, 400, 800, None)]
    before = int(await ctx.pool.fetchval("SELECT count(*) FROM tasks WHERE company = $1", tenant.company))
    for execution, status, subcode, msg in cases:
        for endpoint in ("tasks.create", "tasks.validate"):
            response = await tenant.raw(f"/v2.8/{endpoint}", {"name": "bad", "type": "training",
                                                              "execution": execution})
            meta = response.json()["meta"]
            assert (response.status_code, meta["result_subcode"]) == (status, subcode), execution
            assert msg is None or meta["result_msg"] == msg
    assert int(await ctx.pool.fetchval("SELECT count(*) FROM tasks WHERE company = $1", tenant.company)) == before


async def test_docker_cmd_is_set_into_the_sent_container(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.12", container={"setup_shell_script": "apt update", "image": "old"},
                           execution={"docker_cmd": "new --gpus all"})
    task = await task_at(tenant, "2.23", task_id)
    assert task["container"] == {"setup_shell_script": "apt update", "image": "new", "arguments": "--gpus all"}
    await call(tenant, "2.12", "tasks.edit", task=task_id, execution={"docker_cmd": ""})
    task = await task_at(tenant, "2.12", task_id)
    assert task["container"] == {"image": "", "arguments": ""} and "docker_cmd" not in task["execution"]


async def test_null_old_model_fields_change_nothing(tenant: Tenant) -> None:
    in1 = await tenant.create_model("in1")
    task_id = await create(tenant, "2.23", models={"input": [{"name": "a", "model": in1}]})
    await call(tenant, "2.12", "tasks.edit", task=task_id, execution={"model": None, "test_split": 3})
    task = await task_at(tenant, "2.23", task_id)
    assert [m["model"] for m in task["models"]["input"]] == [in1] and task["execution"]["test_split"] == 3


async def test_old_client_tags_are_split_on_update_and_update_batch(tenant: Tenant) -> None:
    task_id = await create(tenant, "2.23")
    await call(tenant, "2.1", "tasks.update", task=task_id, tags=["archived", "mine"])
    task = await task_at(tenant, "2.23", task_id)
    assert (task["tags"], task["system_tags"]) == (["mine"], ["archived"])
    await call(tenant, "2.1", "tasks.update_batch", task=task_id, tags=["development", "b", "b"])
    task = await task_at(tenant, "2.23", task_id)
    assert (task["tags"], task["system_tags"]) == (["b"], ["development"])


async def test_old_client_tag_filters_are_split_on_get_all(tenant: Tenant) -> None:
    archived = await create(tenant, "2.23", system_tags=["archived"])
    plain = await create(tenant, "2.23", tags=["x"])
    for version, tags, expected in (("2.1", ["-archived"], {plain}), ("2.1", ["archived"], {archived}),
                                    ("2.5", ["-archived"], {archived, plain})):
        listed = await call(tenant, version, "tasks.get_all", id=[archived, plain], tags=tags, only_fields=["id"])
        assert {t["id"] for t in listed["tasks"]} == expected, (version, tags)
