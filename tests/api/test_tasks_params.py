"""Hyper-parameters and configuration over HTTP (§5.35–§5.41), and tasks.get_types (§5.5), with their error paths."""

from __future__ import annotations

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def event_count(ctx: AppContext, stream_id: str) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


def param(section: str, name: str, value: str, **extra: str) -> dict[str, str]:
    return {"section": section, "name": name, "value": value, **extra}


async def task_doc(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def started_task(tenant: Tenant, **fields: object) -> str:
    task_id = await tenant.create_task(**fields)
    await tenant.call("tasks.started", task=task_id)
    return task_id


# get_hyper_params


async def test_get_hyper_params_lists_items_sorted_by_section_and_name(tenant: Tenant) -> None:
    with_params = await tenant.create_task(hyperparams={
        "b": {"z": param("b", "z", "1"), "a": param("b", "a", "2", type="int")},
        "Args": {"lr": param("Args", "lr", "0.1", description="rate")},
    })
    without = await tenant.create_task()
    params = (await tenant.call("tasks.get_hyper_params", tasks=[without, with_params]))["params"]
    by_task = {p["task"]: p["hyperparams"] for p in params}
    assert by_task[without] == []
    assert by_task[with_params] == [param("Args", "lr", "0.1", description="rate"),
                                    param("b", "a", "2", type="int"), param("b", "z", "1")]
    assert [p["task"] for p in params] == [with_params, without]


async def test_get_hyper_params_of_an_unknown_or_foreign_task_fails_naming_all_ids(
        tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await tenant.create_task()
    theirs = await other_tenant.create_task()
    failure = await tenant.fails("tasks.get_hyper_params", tasks=[mine, theirs])
    assert (failure.status, failure.subcode, failure.msg) == (400, 101, f"Invalid task id: ids=({mine}, {theirs})")
    empty = await tenant.fails("tasks.get_hyper_params", tasks=[])
    assert (empty.subcode, empty.msg) == (12, "Validation error (value '[]' length is lower than allowed minimum '1'.)")


async def test_public_tasks_hyper_params_are_readable_by_everyone(tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task(hyperparams={"s": {"p": param("s", "p", "v")}})
    await tenant.call("tasks.make_public", ids=[task_id])
    params = (await other_tenant.call("tasks.get_hyper_params", tasks=[task_id]))["params"]
    assert params == [{"task": task_id, "hyperparams": [param("s", "p", "v")]}]


# edit_hyper_params


async def test_edit_hyper_params_upserts_by_default(tenant: Tenant) -> None:
    task_id = await tenant.create_task(hyperparams={"s": {"a": param("s", "a", "1"), "b": param("s", "b", "2")}})
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.edit_hyper_params", task=task_id,
                                 hyperparams=[param("s", "a", "10"), param("t", "c", "3")])
    assert response == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert task["hyperparams"] == {"s": {"a": param("s", "a", "10"), "b": param("s", "b", "2")},
                                   "t": {"c": param("t", "c", "3")}}
    assert task["last_update"] > before["last_update"] and task["last_change"] > before["last_change"]


async def test_edit_hyper_params_replace_section_and_all(tenant: Tenant) -> None:
    task_id = await tenant.create_task(hyperparams={"s": {"a": param("s", "a", "1"), "b": param("s", "b", "2")},
                                                    "t": {"c": param("t", "c", "3")}})
    await tenant.call("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "n", "9")],
                      replace_hyperparams="section")
    assert (await task_doc(tenant, task_id))["hyperparams"] == {"s": {"n": param("s", "n", "9")},
                                                                "t": {"c": param("t", "c", "3")}}
    await tenant.call("tasks.edit_hyper_params", task=task_id, hyperparams=[param("u", "x", "0")],
                      replace_hyperparams="all")
    assert (await task_doc(tenant, task_id))["hyperparams"] == {"u": {"x": param("u", "x", "0")}}
    failure = await tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=[param("u", "x", "0")],
                                 replace_hyperparams="some")
    assert (failure.subcode, failure.msg) == (12, "Validation error (value 'some' is not a valid choice.)")


async def test_edit_hyper_params_status_rule_and_force(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await started_task(tenant)
    count = await event_count(ctx, task_id)
    failure = await tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "1")])
    assert (failure.status, failure.subcode, failure.msg) == (
        400, 110, "Invalid task status: expected=created, status=in_progress")
    assert await event_count(ctx, task_id) == count
    await tenant.call("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "1")], force=True)
    await tenant.call("tasks.stopped", task=task_id)
    stopped = await tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "2")],
                                 force=True)
    assert stopped.msg == "Invalid task status: expected=created, status=stopped"


async def test_properties_section_edits_in_any_status_without_touching_last_update(tenant: Tenant) -> None:
    task_id = await started_task(tenant)
    await tenant.call("tasks.stopped", task=task_id)
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.edit_hyper_params", task=task_id,
                                 hyperparams=[param("Properties", "k", "v")])
    assert response == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert task["hyperparams"] == {"properties": {"k": param("properties", "k", "v")}}
    assert task["last_update"] == before["last_update"] and task["last_change"] > before["last_change"]
    mixed = await tenant.fails("tasks.edit_hyper_params", task=task_id,
                               hyperparams=[param("properties", "k", "v"), param("Args", "a", "1")])
    assert mixed.subcode == 110
    await tenant.call("tasks.delete_hyper_params", task=task_id, hyperparams=[{"section": "PROPERTIES", "name": "k"}])
    assert (await task_doc(tenant, task_id))["hyperparams"] == {"properties": {}}


async def test_edit_hyper_params_item_errors(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    cases = [
        ([param("s", "a", 5)], 'Validation error (value is wrong, expected type "str" 5)'),  # type: ignore[arg-type]
        ([param("", "a", "1")], "Validation error (value '' length is lower than allowed minimum '1'.)"),
        ([param("s", " ", "1")], "Validation error (Empty parameter name is not allowed)"),
        ([{"section": "s", "value": "1"}], "Validation error (error for field 'name'. field is required!)"),
        ([], "Validation error (value '[]' length is lower than allowed minimum '1'.)"),
    ]
    for items, msg in cases:
        failure = await tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=items)
        assert (failure.status, failure.subcode, failure.msg) == (400, 12, msg), items


async def test_edit_hyper_params_of_public_and_foreign_tasks(tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    failure = await other_tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "1")])
    assert (failure.subcode, failure.msg) == (101, f"Invalid task id: id={task_id}, company={other_tenant.company}")
    await tenant.call("tasks.make_public", ids=[task_id])
    public = await tenant.fails("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "1")])
    assert (public.status, public.subcode, public.msg) == (
        403, 21, f"Forbidden (modification not allowed) (cannot modify public task(s), ids=('{task_id}',))")


# delete_hyper_params


async def test_delete_hyper_params_leaves_an_empty_section_and_deletes_whole_sections(tenant: Tenant) -> None:
    task_id = await tenant.create_task(hyperparams={"s": {"a": param("s", "a", "1")},
                                                    "t": {"b": param("t", "b", "2"), "c": param("t", "c", "3")}})
    response = await tenant.call("tasks.delete_hyper_params", task=task_id,
                                 hyperparams=[{"section": "s", "name": "a"}, {"section": "t", "name": "nope"},
                                              {"section": "gone", "name": "x"}])
    assert response == {"deleted": 1}
    assert (await task_doc(tenant, task_id))["hyperparams"] == {
        "s": {}, "t": {"b": param("t", "b", "2"), "c": param("t", "c", "3")}}
    await tenant.call("tasks.delete_hyper_params", task=task_id, hyperparams=[{"section": "t"}])
    assert (await task_doc(tenant, task_id))["hyperparams"] == {"s": {}}


async def test_delete_hyper_params_conflict_writes_nothing(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task(hyperparams={"s": {"a": param("s", "a", "1")}})
    failure = await tenant.fails("tasks.delete_hyper_params", task=task_id,
                                 hyperparams=[{"section": "s"}, {"section": "s", "name": "a"}])
    assert (failure.status, failure.subcode, failure.msg) == (
        400, 15, "Conflicting fields (Cannot delete section field if the whole section was scheduled for deletion)")
    assert await event_count(ctx, task_id) == 1
    status = await tenant.fails("tasks.delete_hyper_params", task=await started_task(tenant),
                                hyperparams=[{"section": "s"}])
    assert status.subcode == 110


# configurations


async def test_get_configurations_sorted_by_name_and_filtered_by_names(tenant: Tenant) -> None:
    task_id = await tenant.create_task(configuration={"b": {"name": "b", "value": "2"},
                                                      "a": {"name": "a", "value": "1", "type": "yaml"}})
    bare = await tenant.create_task()
    everything = (await tenant.call("tasks.get_configurations", tasks=[task_id, bare]))["configurations"]
    assert everything == [{"task": task_id, "configuration": [{"name": "a", "value": "1", "type": "yaml"},
                                                              {"name": "b", "value": "2"}]},
                          {"task": bare, "configuration": []}]
    named = (await tenant.call("tasks.get_configurations", tasks=[task_id], names=["b", "nope"]))["configurations"]
    assert named == [{"task": task_id, "configuration": [{"name": "b", "value": "2"}]}]
    failure = await tenant.fails("tasks.get_configurations", tasks=[task_id, "nope"])
    assert (failure.subcode, failure.msg) == (101, f"Invalid task id: ids=({task_id}, nope)")


async def test_get_configuration_names_list_form_and_skip_empty(tenant: Tenant) -> None:
    full = await tenant.create_task(configuration={"z": {"name": "z", "value": "1"}, "e": {"name": "e", "value": ""},
                                                   "a": {"name": "a", "value": "x"}})
    only_empty = await tenant.create_task(configuration={"e": {"name": "e", "value": ""}})
    bare = await tenant.create_task()
    ids = [full, only_empty, bare, "unknown"]
    skipped = (await tenant.call("tasks.get_configuration_names", tasks=ids))["configurations"]
    assert skipped == [{"task": full, "names": ["a", "z"]}]
    kept = (await tenant.call("tasks.get_configuration_names", tasks=ids, skip_empty=False))["configurations"]
    assert kept == [{"task": full, "names": ["a", "e", "z"]}, {"task": only_empty, "names": ["e"]}]


async def test_edit_configuration_upserts_or_replaces(tenant: Tenant) -> None:
    task_id = await tenant.create_task(configuration={"a": {"name": "a", "value": "1"},
                                                      "b": {"name": "b", "value": "2"}})
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.edit_configuration", task=task_id,
                                 configuration=[{"name": "a", "value": "10", "description": "d"},
                                                {"name": "c", "value": "3"}])
    assert response == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert task["configuration"] == {"a": {"name": "a", "value": "10", "description": "d"},
                                     "b": {"name": "b", "value": "2"}, "c": {"name": "c", "value": "3"}}
    assert task["last_update"] > before["last_update"]
    await tenant.call("tasks.edit_configuration", task=task_id, configuration=[{"name": "n", "value": "v"}],
                      replace_configuration=True)
    assert (await task_doc(tenant, task_id))["configuration"] == {"n": {"name": "n", "value": "v"}}


async def test_edit_configuration_errors(tenant: Tenant) -> None:
    task_id = await started_task(tenant)
    status = await tenant.fails("tasks.edit_configuration", task=task_id, configuration=[{"name": "a", "value": "1"}])
    assert (status.subcode, status.msg) == (110, "Invalid task status: expected=created, status=in_progress")
    await tenant.call("tasks.edit_configuration", task=task_id, configuration=[{"name": "a", "value": "1"}],
                      force=True)
    properties = await tenant.fails("tasks.edit_configuration", task=await started_task(tenant),
                                    configuration=[{"name": "properties", "value": "1"}])
    assert properties.subcode == 110
    empty = await tenant.fails("tasks.edit_configuration", task=task_id, configuration=[{"name": "", "value": "1"}])
    assert empty.msg == "Validation error (value '' length is lower than allowed minimum '1'.)"
    missing = await tenant.fails("tasks.edit_configuration", task="nope", configuration=[{"name": "a", "value": "1"}])
    assert (missing.subcode, missing.msg) == (101, f"Invalid task id: id=nope, company={tenant.company}")


async def test_delete_configuration_removes_names_and_ignores_unknown(tenant: Tenant) -> None:
    task_id = await tenant.create_task(configuration={"a": {"name": "a", "value": "1"},
                                                      "b": {"name": "b", "value": "2"}})
    response = await tenant.call("tasks.delete_configuration", task=task_id, configuration=["a", "nope"])
    assert response == {"deleted": 1}
    assert (await task_doc(tenant, task_id))["configuration"] == {"b": {"name": "b", "value": "2"}}
    failure = await tenant.fails("tasks.delete_configuration", task=task_id, configuration=[])
    assert failure.subcode == 12


async def test_param_endpoints_exist_from_api_2_9(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    response = await tenant.raw("/v2.9/tasks.get_hyper_params", {"tasks": [task_id]})
    assert response.json()["meta"]["endpoint"]["actual_version"] == "1.0"
    assert response.json()["data"] == {"params": [{"task": task_id, "hyperparams": []}]}


async def test_each_edit_is_one_named_event(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    await tenant.call("tasks.edit_hyper_params", task=task_id, hyperparams=[param("s", "a", "1")])
    await tenant.call("tasks.delete_hyper_params", task=task_id, hyperparams=[{"section": "s"}])
    await tenant.call("tasks.edit_configuration", task=task_id, configuration=[{"name": "c", "value": "1"}])
    await tenant.call("tasks.delete_configuration", task=task_id, configuration=["c"])
    rows = await ctx.pool.fetch("SELECT type FROM events WHERE stream_id = $1 ORDER BY version", task_id)
    assert [r["type"] for r in rows] == ["TaskCreated", "HyperParamsEdited", "HyperParamsDeleted",
                                         "ConfigurationEdited", "ConfigurationDeleted"]


# get_types


async def test_get_types_excludes_hidden_unless_projects_are_given(tenant: Tenant) -> None:
    parent = (await tenant.call("projects.create", name="types parent", description=""))["id"]
    child = (await tenant.call("projects.create", name="types parent/child", description=""))["id"]
    await tenant.create_task(type="testing", project=parent)
    await tenant.create_task(type="qc", project=child, system_tags=["hidden"])
    await tenant.create_task(type="inference")
    everywhere = (await tenant.call("tasks.get_types"))["types"]  # public tasks of other tests may add types
    assert {"inference", "testing"} <= set(everywhere) and "qc" not in everywhere
    in_projects = (await tenant.call("tasks.get_types", projects=[parent]))["types"]
    assert sorted(in_projects) == ["qc", "testing"]
    assert (await tenant.call("tasks.get_types", projects=["unknown"]))["types"] == []


async def test_get_types_includes_public_tasks_once(tenant: Tenant, other_tenant: Tenant) -> None:
    public = await other_tenant.create_task(type="controller")
    await other_tenant.call("tasks.make_public", ids=[public])
    await tenant.create_task(type="controller")
    types = (await tenant.call("tasks.get_types"))["types"]
    assert types.count("controller") == 1
