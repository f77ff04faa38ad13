"""tasks.clone over HTTP (§5.6): what is copied, every override, new_project_name, references, errors."""

from __future__ import annotations

import re
from typing import Any

from taskstream.api.context import AppContext
from tests.conftest import Tenant

SOURCE: dict[str, Any] = {
    "comment": "the source", "tags": ["t"], "system_tags": ["archived", "development", "keep"],
    "output_dest": "s3://out", "script": {"repository": "git@x", "entry_point": "train.py"},
    "hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
    "configuration": {"cfg": {"name": "cfg", "value": "a: 1"}},
    "container": {"image": "python:3.11"},
    "runtime": {"gpu": "0"},
    "models": {"input": [{"name": "in", "model": "m-in"}], "output": [{"name": "out", "model": "m-out"}]},
    "execution": {"framework": "pytorch", "artifacts": [{"key": "data", "type": "csv", "mode": "input"},
                                                        {"key": "result", "type": "csv"}]},
}


async def task_doc(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def event_count(ctx: AppContext) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events"))


async def source_task(tenant: Tenant, **fields: Any) -> str:
    """A started task made of SOURCE, its input model "m-in" a real model of the tenant (input models are checked;
    output models are not)."""
    models = {**SOURCE["models"], "input": [{"name": "in", "model": await tenant.create_model("m-in")}]}
    task_id = await tenant.create_task("source task", type="testing", **{**SOURCE, "models": models, **fields})
    await tenant.call("tasks.started", task=task_id)
    return task_id


async def test_clone_copies_the_definition_and_starts_fresh(tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    response = await tenant.call("tasks.clone", task=source_id)
    assert set(response) == {"id"} and re.fullmatch(r"[0-9a-f]{32}", response["id"])
    source, clone = await task_doc(tenant, source_id), await task_doc(tenant, response["id"])
    assert (clone["name"], clone["type"], clone["comment"], clone["tags"]) == (
        "source task", "testing", "the source", ["t"])
    assert clone["system_tags"] == ["keep"]
    assert (clone["status"], clone["parent"], clone["user"], clone["company"]) == (
        "created", source_id, tenant.user, tenant.company)
    assert clone["script"] == source["script"] and clone["output"] == {"destination": "s3://out"}
    assert clone["hyperparams"] == source["hyperparams"] and clone["configuration"] == source["configuration"]
    assert clone["container"] == {"image": "python:3.11"} and clone["runtime"] == {}
    assert clone["models"]["output"] == [] and [m["model"] for m in clone["models"]["input"]] == [
        m["model"] for m in source["models"]["input"]]
    assert clone["execution"]["framework"] == "pytorch"
    assert [(a["key"], a["mode"]) for a in clone["execution"]["artifacts"]] == [("data", "input")]
    assert clone["created"] == clone["last_update"] == clone["last_change"] > source["created"]
    assert "started" not in clone and "status_changed" not in clone and clone["last_iteration"] == 0


async def test_clone_is_recorded_as_task_created_from_the_source(ctx: AppContext, tenant: Tenant) -> None:
    source_id = await tenant.create_task()
    clone_id = (await tenant.call("tasks.clone", task=source_id))["id"]
    rows = await ctx.pool.fetch("SELECT type, data->>'cloned_from' AS source FROM events WHERE stream_id = $1",
                                clone_id)
    assert [(r["type"], r["source"]) for r in rows] == [("TaskCreated", source_id)]


async def test_clone_keeps_the_source_parent_unless_it_was_deleted(tenant: Tenant) -> None:
    grandparent = await tenant.create_task()
    source_id = await tenant.create_task(parent=grandparent)
    clone = await task_doc(tenant, (await tenant.call("tasks.clone", task=source_id))["id"])
    assert clone["parent"] == grandparent
    await tenant.call("tasks.delete", task=grandparent)
    orphan = await task_doc(tenant, (await tenant.call("tasks.clone", task=source_id))["id"])
    assert orphan["parent"] == source_id


async def test_clone_overrides(tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    m2 = await tenant.create_model("model m2")
    parent = await tenant.create_task()
    project = (await tenant.call("projects.create", name="clone target", description=""))["id"]
    response = await tenant.call(
        "tasks.clone", task=source_id, new_task_name=" new name ", new_task_comment="new comment",
        new_task_tags=["z", "y"], new_task_system_tags=["archived"], new_task_parent=parent,
        new_task_project=project, new_task_container={"image": "ubuntu"},
        new_task_hyperparams={"New": {"p": {"section": "New", "name": "p", "value": "1"}}},
        new_task_configuration={"c2": {"name": "c2", "value": "v"}},
        new_task_input_models=[{"name": "in2", "model": m2}])
    assert set(response) == {"id"}
    clone = await task_doc(tenant, response["id"])
    assert (clone["name"], clone["comment"], clone["tags"], clone["system_tags"]) == (
        "new name", "new comment", ["y", "z"], ["archived"])
    assert (clone["parent"], clone["project"], clone["container"]) == (parent, project, {"image": "ubuntu"})
    assert clone["hyperparams"] == {"New": {"p": {"section": "New", "name": "p", "value": "1"}}}
    assert clone["configuration"] == {"c2": {"name": "c2", "value": "v"}}
    assert [(m["name"], m["model"]) for m in clone["models"]["input"]] == [("in2", m2)]
    assert "updated" in clone["models"]["input"][0]


async def test_clone_empty_overrides_fall_back_to_the_source(tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    response = await tenant.call("tasks.clone", task=source_id, new_task_name="", new_task_tags=[],
                                 new_task_hyperparams={}, new_task_container={}, new_task_input_models=[])
    clone = await task_doc(tenant, response["id"])
    assert (clone["name"], clone["tags"], clone["container"]) == ("source task", ["t"], {"image": "python:3.11"})
    assert clone["hyperparams"] == SOURCE["hyperparams"]


async def test_clone_execution_overrides(tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    override = await tenant.create_model("m-override")
    response = await tenant.call("tasks.clone", task=source_id, execution_overrides={
        "framework": "keras", "model": override, "docker_cmd": "nvidia/cuda:11 --gpus all",
        "parameters": {"lr": 0.5}, "model_desc": {"legacy": "kept verbatim"}, "queue": "q",
        "artifacts": [{"key": "new-in", "type": "t", "mode": "input"}, {"key": "new-out", "type": "t"}]})
    clone = await task_doc(tenant, response["id"])
    execution = clone["execution"]
    assert execution["framework"] == "keras" and "queue" not in execution
    assert execution["model_desc"] == {"legacy": "kept verbatim"} and execution["parameters"] == {}
    assert [a["key"] for a in execution["artifacts"]] == ["new-in"]
    assert clone["hyperparams"] == SOURCE["hyperparams"]
    assert [(m["name"], m["model"]) for m in clone["models"]["input"]] == [("Input Model", override)]
    assert clone["container"] == {"image": "nvidia/cuda:11", "arguments": "--gpus all"}


async def test_clone_into_a_new_project_by_name(tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    response = await tenant.call("tasks.clone", task=source_id, new_project_name="Clones/Nested")
    projects = {p["name"]: p["id"] for p in (await tenant.call("projects.get_all"))["projects"]}
    assert response["new_project"] == {"id": projects["Clones/Nested"], "name": "Clones/Nested"}
    assert "Clones" in projects
    assert (await task_doc(tenant, response["id"]))["project"] == projects["Clones/Nested"]
    again = await tenant.call("tasks.clone", task=source_id, new_project_name="Clones/Nested")
    assert again["new_project"] == response["new_project"]
    explicit = await tenant.call("tasks.clone", task=source_id, new_project_name="Ignored",
                                 new_task_project=projects["Clones"])
    assert set(explicit) == {"id"}
    assert "Ignored" not in {p["name"] for p in (await tenant.call("projects.get_all"))["projects"]}


async def test_clone_a_public_task_into_the_callers_company(tenant: Tenant, other_tenant: Tenant) -> None:
    source_id = await other_tenant.create_task("shared task")
    await other_tenant.call("tasks.make_public", ids=[source_id])
    clone_id = (await tenant.call("tasks.clone", task=source_id))["id"]
    clone = await task_doc(tenant, clone_id)
    assert (clone["company"], clone["name"], clone["parent"]) == (tenant.company, "shared task", source_id)
    await tenant.call("tasks.edit", task=clone_id, name="mine now")


async def test_clone_errors_write_nothing(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    source_id = await source_task(tenant)
    foreign = await other_tenant.create_task()
    foreign_project = (await other_tenant.call("projects.create", name="not yours", description=""))["id"]
    count = await event_count(ctx)
    cases: list[tuple[dict[str, Any], tuple[int, int, str]]] = [
        ({"task": "nope"}, (400, 101, "Invalid task id: id=nope")),
        ({"task": foreign}, (400, 101, f"Invalid task id: id={foreign}")),
        ({"task": source_id, "new_task_tags": ["__$bad"]},
         (400, 16, "Invalid value for fields (unsupported tag prefix): values=(__$bad)")),
        ({"task": "nope", "new_task_system_tags": ["__$bad"]}, (400, 16, "Invalid value for fields "
                                                                         "(unsupported tag prefix): values=(__$bad)")),
        ({"task": source_id, "new_task_name": "ab"},
         (400, 800, "Data validation error: name=String value is too short")),
        ({"task": source_id, "new_task_parent": "nope", "new_project_name": "never made"},
         (400, 101, "Invalid task id (invalid parent): parent=nope")),
        ({"task": source_id, "new_task_parent": foreign},
         (400, 101, f"Invalid task id (invalid parent): parent={foreign}")),
        ({"task": source_id, "new_task_project": "nope"}, (400, 401, "Invalid project id: id=nope")),
        ({"task": source_id, "new_task_project": foreign_project},
         (400, 401, f"Invalid project id: id={foreign_project}")),
        ({"task": source_id, "new_project_name": "///"}, (400, 407, "Invalid project name: name=///")),
        ({"task": source_id, "new_task_hyperparams": {"": {}}},
         (400, 12, "Validation error (Empty section name is not allowed)")),
        ({}, (400, 12, "Validation error (error for field 'task'. field is required!)")),
    ]
    for body, (status, subcode, msg) in cases:
        failure = await tenant.fails("tasks.clone", **body)
        assert (failure.status, failure.subcode, failure.msg) == (status, subcode, msg), body
    assert await event_count(ctx) == count
    assert "never made" not in {p["name"] for p in (await tenant.call("projects.get_all"))["projects"]}


async def test_clone_validate_references_accepts_valid_copied_references(tenant: Tenant) -> None:
    parent = await tenant.create_task()
    project = (await tenant.call("projects.create", name="validated", description=""))["id"]
    source_id = await tenant.create_task(parent=parent, project=project)
    clone_id = (await tenant.call("tasks.clone", task=source_id, validate_references=True))["id"]
    assert ((await task_doc(tenant, clone_id))["parent"], (await task_doc(tenant, clone_id))["project"]) == (
        parent, project)


async def test_clone_works_at_old_api_versions(tenant: Tenant) -> None:
    source_id = await tenant.create_task()
    response = await tenant.raw("/v2.1/tasks.clone", {"task": source_id})
    meta = response.json()["meta"]
    assert (meta["result_code"], meta["endpoint"]["actual_version"]) == (200, "1.0")
