"""`tasks.reset` (§5.14) and `tasks.delete` (§5.16): preconditions, what they clear or keep, their responses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from taskstream.api.context import AppContext
from taskstream.commands.store import stream_lock_key
from tests.conftest import Tenant

RESET_FIELDS = {
    "active_duration", "completed", "enqueue_status", "execution.queue", "last_iteration", "last_metrics",
    "last_worker", "last_worker_report", "metric_stats", "models.output", "output.error", "output.result",
    "published", "runtime", "started", "status", "status_changed", "status_message", "status_reason",
    "unique_metrics", "last_change", "last_update",
}


async def finished_task(tenant: Tenant, **fields: Any) -> str:
    task_id = await tenant.create_task(
        "to reset", hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}}},
        configuration={"cfg": {"name": "cfg", "value": "x"}}, tags=["keep"], comment="kept", runtime={"r": 1},
        script={"repository": "repo"},
        execution={"framework": "torch", "artifacts": [{"key": "in", "type": "t", "mode": "input"},
                                                       {"key": "out", "type": "t"}]}, **fields)
    await tenant.call("tasks.started", task=task_id)
    await tenant.call("tasks.completed", task=task_id)
    await tenant.call("tasks.update", task=task_id, output__error="boom")
    return task_id


async def test_reset_clears_the_run_and_keeps_the_definition(tenant: Tenant) -> None:
    task_id = await finished_task(tenant)
    response = await tenant.call("tasks.reset", task=task_id, status_reason="ignored", status_message="ignored")
    assert {k: v for k, v in response.items() if k != "fields"} == \
        {"updated": 1, "dequeued": {}, "events": {}, "deleted_models": 0, "urls": {}}
    fields = response["fields"]
    assert set(fields) == RESET_FIELDS
    assert (fields["status"], fields["status_reason"], fields["status_message"]) == ("created", "reset", "reset")
    assert fields["started"] is None and fields["output.error"] is None and fields["runtime"] == {}
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    for gone in ("started", "completed", "published", "active_duration"):
        assert gone not in task
    assert task["output"] == {}
    assert [a["key"] for a in task["execution"]["artifacts"]] == ["in"]
    assert task["execution"]["framework"] == "torch"
    assert task["hyperparams"]["Args"]["lr"]["value"] == "0.1" and "cfg" in task["configuration"]
    assert (task["tags"], task["comment"], task["name"]) == (["keep"], "kept", "to reset")
    assert task["script"]["repository"] == "repo"


async def test_reset_clear_all(tenant: Tenant) -> None:
    task_id = await finished_task(tenant)
    response = await tenant.call("tasks.reset", task=task_id, clear_all=True)
    default_script = {"binary": "python", "repository": "", "entry_point": "", "requirements": {}}
    assert response["fields"]["script"] == default_script
    assert response["fields"]["execution"] == {"test_split": 0, "parameters": {}, "model_desc": {},
                                               "model_labels": {}, "artifacts": {}}
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["execution"]["artifacts"] == [] and "framework" not in task["execution"]
    assert task["script"] == default_script, "a removed script reads back as the default"
    assert task["hyperparams"]["Args"]["lr"]["value"] == "0.1"


async def test_reset_preconditions(tenant: Tenant) -> None:
    published = await finished_task(tenant)
    await tenant.call("tasks.publish", task=published)
    failure = await tenant.fails("tasks.reset", task=published)
    assert (failure.subcode, failure.msg) == (110, f"Invalid task status: task_id={published}, status=published")
    publishing = await tenant.create_task("publishing")
    await tenant.call("tasks.edit", task=publishing, force=True, status="publishing")
    failure = await tenant.fails("tasks.reset", task=publishing)
    assert (failure.subcode, failure.msg) == \
        (101, f"Invalid task id (or task published): company={tenant.company}, id={publishing}")
    assert (await tenant.call("tasks.reset", task=published, force=True))["fields"]["status"] == "created"


async def test_reset_and_delete_blocked_by_published_children(tenant: Tenant) -> None:
    parent = await tenant.create_task("parent")
    child = await tenant.create_task("child", parent=parent)
    await tenant.call("tasks.edit", task=child, force=True, status="published")
    expected = f"Task cannot be deleted (has children, use force=True): task={parent}, children=1"
    for call in ("tasks.reset", "tasks.delete"):
        failure = await tenant.fails(call, task=parent)
        assert (failure.subcode, failure.msg) == (123, expected)
    assert (await tenant.call("tasks.delete", task=parent, force=True))["updated_children"] == 1


async def test_delete_response_orphans_children_and_removes_task(ctx: AppContext, tenant: Tenant) -> None:
    parent = await tenant.create_task("parent")
    children = [await tenant.create_task(f"child {i}", parent=parent) for i in range(2)]
    response = await tenant.call("tasks.delete", task=parent)
    assert response == {"deleted": True, "updated_children": 2, "updated_models": 0, "deleted_models": 0,
                        "urls": None}
    assert (await tenant.fails("tasks.get_by_id", task=parent)).subcode == 101
    assert await tenant.call("tasks.get_all", id=[parent]) == {"tasks": []}
    for child in children:
        task = (await tenant.call("tasks.get_by_id", task=child))["task"]
        assert task["parent"] == f"__DELETED__{parent}"
        await tenant.call("tasks.validate", **{k: task[k] for k in ("name", "type", "parent")})
    rows = await ctx.pool.fetch("SELECT type, data FROM events WHERE stream_id = $1 ORDER BY version", parent)
    assert [r["type"] for r in rows] == ["TaskCreated", "TaskDeleted"]
    assert json.loads(rows[-1]["data"]) == {"force": False}


async def test_delete_preconditions(tenant: Tenant) -> None:
    running = await tenant.create_task("running")
    await tenant.call("tasks.started", task=running)
    failure = await tenant.fails("tasks.delete", task=running)
    assert failure.msg == f"Task cannot be deleted (due to status, use force=True): task={running}, " \
                          f"expected=created, current=in_progress"
    archived = await tenant.create_task("archived", system_tags=["archived"])
    await tenant.call("tasks.edit", task=archived, force=True, status="failed")
    assert (await tenant.call("tasks.delete", task=archived))["deleted"] is True
    archived_published = await tenant.create_task("archived published", system_tags=["archived"])
    await tenant.call("tasks.edit", task=archived_published, force=True, status="published")
    assert (await tenant.fails("tasks.delete", task=archived_published)).subcode == 101
    assert (await tenant.fails("tasks.delete", task="missing")).subcode == 101
    assert (await tenant.call("tasks.delete", task=running, force=True))["deleted"] is True


async def test_a_deleted_task_cannot_be_changed(tenant: Tenant) -> None:
    task_id = await tenant.create_task("short lived")
    await tenant.call("tasks.delete", task=task_id)
    for endpoint in ("tasks.edit", "tasks.update", "tasks.started", "tasks.reset", "tasks.delete"):
        failure = await tenant.fails(endpoint, task=task_id, name="renamed")
        assert failure.msg == f"Invalid task id: id={task_id}, company={tenant.company}"
    assert await tenant.call("tasks.ping", task=task_id) == {}


async def test_children_published_while_a_delete_waits_for_the_lock_still_block_it(ctx: AppContext,
                                                                                   tenant: Tenant) -> None:
    parent = await tenant.create_task("parent")
    child = await tenant.create_task("child", parent=parent)
    await tenant.call("tasks.started", task=child)
    await tenant.call("tasks.completed", task=child)
    async with ctx.pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock($1)", stream_lock_key(parent))  # another command
        deleting = asyncio.create_task(tenant.raw("/tasks.delete", {"task": parent}))
        await asyncio.sleep(0.3)  # the delete is waiting for the parent's lock
        await tenant.call("tasks.publish", task=child)
    response = await deleting
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 123)
    assert (await tenant.call("tasks.get_by_id", task=child))["task"]["parent"] == parent
