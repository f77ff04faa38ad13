"""Artifacts, models and requirements over HTTP (§5.7, §5.8, §5.29, §5.32, §5.33), with their error paths."""

from __future__ import annotations

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def event_count(ctx: AppContext, stream_id: str) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


async def task_doc(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def stopped_task(tenant: Tenant) -> str:
    task_id = await tenant.create_task()
    await tenant.call("tasks.started", task=task_id)
    await tenant.call("tasks.stopped", task=task_id)
    return task_id


# add_or_update_artifacts / delete_artifacts


async def test_artifacts_are_identified_by_key_and_mode_and_replaced_whole(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.add_or_update_artifacts", task=task_id, artifacts=[
        {"key": "b", "type": "csv", "uri": "s3://b", "content_size": 10},
        {"key": "a", "type": "json", "mode": "input"},
    ])
    assert response == {"updated": 1}
    await tenant.call("tasks.add_or_update_artifacts", task=task_id, artifacts=[
        {"key": "b", "type": "image"}, {"key": "a", "type": "txt", "mode": "output"}])
    task = await task_doc(tenant, task_id)
    artifacts = task["execution"]["artifacts"]
    assert [(a["key"], a["mode"]) for a in artifacts] == [("a", "input"), ("a", "output"), ("b", "output")]
    assert artifacts[2] == {"key": "b", "type": "image", "mode": "output", "display_data": []}
    assert task["last_update"] > before["last_update"] and task["last_change"] > before["last_change"]


async def test_artifacts_status_rule_ignores_force(ctx: AppContext, tenant: Tenant) -> None:
    running = await tenant.create_task()
    await tenant.call("tasks.started", task=running)
    await tenant.call("tasks.add_or_update_artifacts", task=running, artifacts=[{"key": "k", "type": "t"}])
    stopped = await stopped_task(tenant)
    count = await event_count(ctx, stopped)
    for endpoint, body in (("tasks.add_or_update_artifacts", {"artifacts": [{"key": "k", "type": "t"}]}),
                           ("tasks.delete_artifacts", {"artifacts": [{"key": "k"}]})):
        failure = await tenant.fails(endpoint, task=stopped, force=True, **body)
        assert (failure.status, failure.subcode, failure.msg) == (
            400, 110, "Invalid task status: expected=created, status=stopped")
    assert await event_count(ctx, stopped) == count


async def test_artifact_request_errors(tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    cases = [
        ([{"key": "k"}], "Validation error (error for field 'type'. field is required!)"),
        ([{"key": "k", "type": "t", "mode": "sideways"}], "Validation error (value 'sideways' is not a valid choice.)"),
        ([], "Validation error (value '[]' length is lower than allowed minimum '1'.)"),
    ]
    for artifacts, msg in cases:
        failure = await tenant.fails("tasks.add_or_update_artifacts", task=task_id, artifacts=artifacts)
        assert (failure.subcode, failure.msg) == (12, msg)
    foreign = await other_tenant.fails("tasks.add_or_update_artifacts", task=task_id,
                                       artifacts=[{"key": "k", "type": "t"}])
    assert foreign.subcode == 101
    old = await tenant.raw("/v2.9/tasks.add_or_update_artifacts", {"task": task_id, "artifacts": []})
    assert old.status_code == 404


async def test_delete_artifacts_by_key_and_default_output_mode(tenant: Tenant) -> None:
    task_id = await tenant.create_task(execution={"artifacts": [
        {"key": "a", "type": "t"}, {"key": "a", "type": "t", "mode": "input"}, {"key": "b", "type": "t"}]})
    response = await tenant.call("tasks.delete_artifacts", task=task_id,
                                 artifacts=[{"key": "a"}, {"key": "b", "mode": "input"}, {"key": "zz"}])
    assert response == {"deleted": 1}
    artifacts = (await task_doc(tenant, task_id))["execution"]["artifacts"]
    assert [(a["key"], a["mode"]) for a in artifacts] == [("a", "input"), ("b", "output")]


# add_or_update_model / delete_models


async def test_add_or_update_model_appends_or_replaces_by_name(tenant: Tenant) -> None:
    task_id = await tenant.create_task(models={"input": [{"name": "m", "model": await tenant.create_model()}]})
    assert await tenant.call("tasks.add_or_update_model", task=task_id, name="m", model="new",
                             type="input") == {"updated": 1}
    await tenant.call("tasks.add_or_update_model", task=task_id, name="out", model="any-id-at-all", type="output",
                      iteration=7)
    await tenant.call("tasks.add_or_update_model", task=task_id, name="out2", model="x", type="output", iteration=3)
    task = await task_doc(tenant, task_id)
    assert [(m["name"], m["model"]) for m in task["models"]["input"]] == [("m", "new")]
    assert [(m["name"], m["model"]) for m in task["models"]["output"]] == [("out", "any-id-at-all"), ("out2", "x")]
    assert all("updated" in m for m in task["models"]["output"])
    assert task["last_iteration"] == 7


async def test_add_or_update_model_refreshes_active_duration_while_running(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    await tenant.call("tasks.started", task=task_id)
    await tenant.call("tasks.add_or_update_model", task=task_id, name="m", model="x", type="output")
    task = await task_doc(tenant, task_id)
    assert task["active_duration"] in (0, 1) and task["last_update"] >= task["started"]


async def test_model_calls_status_rule_and_version(ctx: AppContext, tenant: Tenant) -> None:
    stopped = await stopped_task(tenant)
    count = await event_count(ctx, stopped)
    failure = await tenant.fails("tasks.add_or_update_model", task=stopped, name="m", model="x", type="output")
    assert (failure.subcode, failure.msg) == (110, "Invalid task status: expected=created, status=stopped")
    failure = await tenant.fails("tasks.delete_models", task=stopped, models=[{"name": "m", "type": "output"}])
    assert failure.subcode == 110
    assert await event_count(ctx, stopped) == count
    bad_type = await tenant.fails("tasks.add_or_update_model", task=stopped, name="m", model="x", type="both")
    assert (bad_type.subcode, bad_type.msg) == (12, "Validation error (value 'both' is not a valid choice.)")
    old = await tenant.raw("/v2.12/tasks.add_or_update_model", {"task": stopped})
    assert old.status_code == 404 and old.json()["meta"]["result_code"] == 404


async def test_delete_models_by_name_and_type(tenant: Tenant) -> None:
    first, second = await tenant.create_model("model 1"), await tenant.create_model("model 2")
    task_id = await tenant.create_task(models={"input": [{"name": "a", "model": first}, {"name": "b", "model": second}],
                                               "output": [{"name": "a", "model": "3"}]})
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.delete_models", task=task_id,
                                 models=[{"name": "a", "type": "input"}, {"name": "nope", "type": "output"}])
    assert response == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert [m["name"] for m in task["models"]["input"]] == ["b"]
    assert [m["name"] for m in task["models"]["output"]] == ["a"]
    assert task["last_update"] == before["last_update"] and task["last_change"] > before["last_change"]
    failure = await tenant.fails("tasks.delete_models", task=task_id, models=[{"name": "a"}])
    assert failure.msg == "Validation error (error for field 'type'. field is required!)"


async def test_each_call_is_one_named_event(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    await tenant.call("tasks.add_or_update_artifacts", task=task_id, artifacts=[{"key": "k", "type": "t"}])
    await tenant.call("tasks.delete_artifacts", task=task_id, artifacts=[{"key": "k"}])
    await tenant.call("tasks.add_or_update_model", task=task_id, name="m", model="x", type="input")
    await tenant.call("tasks.delete_models", task=task_id, models=[{"name": "m", "type": "input"}])
    await tenant.call("tasks.set_requirements", task=task_id, requirements={"pip": "x"})
    rows = await ctx.pool.fetch("SELECT type FROM events WHERE stream_id = $1 ORDER BY version", task_id)
    assert [r["type"] for r in rows] == ["TaskCreated", "ArtifactsUpdated", "ArtifactsDeleted", "ModelsEdited",
                                         "ModelsEdited", "RequirementsSet"]


# set_requirements


async def test_set_requirements_in_any_status_answers_empty_fields(tenant: Tenant) -> None:
    task_id = await stopped_task(tenant)
    before = await task_doc(tenant, task_id)
    response = await tenant.call("tasks.set_requirements", task=task_id, requirements={"pip": "numpy==1.26"})
    assert response == {"updated": 1, "fields": {}}
    task = await task_doc(tenant, task_id)
    assert task["script"]["requirements"] == {"pip": "numpy==1.26"}
    assert task["script"]["binary"] == "python"
    assert task["last_update"] > before["last_update"]


async def test_set_requirements_errors(tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    missing = await tenant.fails("tasks.set_requirements", task=task_id)
    assert missing.msg == "Validation error (error for field 'requirements'. field is required!)"
    foreign = await other_tenant.fails("tasks.set_requirements", task=task_id, requirements={})
    assert foreign.subcode == 101
    await tenant.call("tasks.make_public", ids=[task_id])
    public = await tenant.fails("tasks.set_requirements", task=task_id, requirements={})
    assert (public.status, public.subcode) == (403, 21)
