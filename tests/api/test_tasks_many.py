"""Batch status endpoints (tasks-behaviour.md §7): per-id results, partial failures never undo successes."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant


async def status_of(tenant: Tenant, task_id: str) -> str:
    return str((await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"])


async def running(tenant: Tenant, name: str) -> str:
    task_id = await tenant.create_task(name)
    await tenant.call("tasks.started", task=task_id)
    return task_id


def failed_ids(result: dict[str, Any]) -> list[str]:
    return [item["id"] for item in result["failed"]]


async def test_empty_ids_fail_the_whole_call(tenant: Tenant) -> None:
    for endpoint in ("tasks.stop_many", "tasks.publish_many", "tasks.reset_many", "tasks.delete_many"):
        missing = await tenant.fails(endpoint)
        assert (missing.code, missing.subcode, missing.msg) == (
            400, 12, "Validation error (error for field 'ids'. value '[]' length is lower than allowed minimum '1'.)")
        empty = await tenant.fails(endpoint, ids=[])
        assert (empty.code, empty.subcode) == (400, 12) and "length is lower than allowed minimum '1'" in empty.msg


async def test_stop_many_partial_failure(tenant: Tenant) -> None:
    first, second = await running(tenant, "first"), await running(tenant, "second")
    created = await tenant.create_task("never started")
    result = await tenant.call("tasks.stop_many", ids=[first, "missing", created, second],
                               status_reason="done", status_message="ignored")
    assert [item["id"] for item in result["succeeded"]] == [first, second]
    item = result["succeeded"][0]
    assert item.keys() == {"id", "updated", "fields"} and item["updated"] == 1
    assert item["fields"]["status"] == "stopped" and item["fields"]["status_message"] == "Stopped by tests"
    assert item["fields"]["status_reason"] == "done"
    missing, bad_status = result["failed"]
    assert missing == {"id": "missing", "error": {
        "codes": [400, 101], "msg": f"Invalid task id: id=missing, company={tenant.company}",
        "data": {"id": "missing", "company": tenant.company}}}
    assert bad_status["id"] == created and bad_status["error"]["codes"] == [400, 110]
    assert [await status_of(tenant, t) for t in (first, second, created)] == ["stopped", "stopped", "created"]


async def test_publish_many_keeps_earlier_successes(tenant: Tenant) -> None:
    stopped = await running(tenant, "to publish")
    await tenant.call("tasks.stopped", task=stopped)
    in_progress = await running(tenant, "still running")
    result = await tenant.call("tasks.publish_many", ids=[stopped, in_progress, stopped], status_message="pub")
    assert [item["id"] for item in result["succeeded"]] == [stopped]
    assert result["succeeded"][0]["fields"]["status"] == "published"
    assert "published" in result["succeeded"][0]["fields"]
    assert failed_ids(result) == [in_progress, stopped]
    assert result["failed"][0]["error"]["codes"] == [400, 110]
    assert await status_of(tenant, stopped) == "published"
    assert await status_of(tenant, in_progress) == "in_progress"


async def test_reset_many_item_shape_and_failures(tenant: Tenant) -> None:
    stopped = await running(tenant, "to reset")
    await tenant.call("tasks.stopped", task=stopped)
    published = await running(tenant, "published")
    await tenant.call("tasks.stopped", task=published)
    await tenant.call("tasks.publish", task=published)
    result = await tenant.call("tasks.reset_many", ids=[published, stopped])
    (item,) = result["succeeded"]
    assert item.keys() == {"id", "updated", "fields", "dequeued", "deleted_models", "urls"}
    assert (item["id"], item["updated"], item["dequeued"], item["deleted_models"], item["urls"]) == (
        stopped, 1, False, 0, {})
    assert item["fields"]["status"] == "created" and item["fields"]["status_reason"] == "reset"
    assert result["failed"][0]["error"] == {
        "codes": [400, 110], "msg": f"Invalid task status: task_id={published}, status=published",
        "data": {"task_id": published, "status": "published"}}
    assert await status_of(tenant, stopped) == "created"


async def test_delete_many_item_shape_and_failures(tenant: Tenant, other_tenant: Tenant) -> None:
    parent = await tenant.create_task("parent")
    child = await tenant.create_task("child", parent=parent)
    started = await running(tenant, "running")
    foreign = await other_tenant.create_task("foreign")
    result = await tenant.call("tasks.delete_many", ids=[parent, started, foreign])
    (item,) = result["succeeded"]
    assert item == {"id": parent, "deleted": True, "updated_children": 1, "updated_models": 0,
                    "deleted_models": 0, "urls": None}
    assert failed_ids(result) == [started, foreign]
    assert result["failed"][0]["error"]["codes"] == [400, 123]
    assert result["failed"][0]["error"]["data"] == {"task": started, "expected": "created", "current": "in_progress"}
    assert result["failed"][1]["error"]["codes"] == [400, 101]
    assert (await tenant.call("tasks.get_by_id", task=child))["task"]["parent"] == f"__DELETED__{parent}"
    assert (await tenant.fails("tasks.get_by_id", task=parent)).subcode == 101
    assert await status_of(other_tenant, foreign) == "created"
    forced = await tenant.call("tasks.delete_many", ids=[started], force=True)
    assert [item["id"] for item in forced["succeeded"]] == [started] and forced["failed"] == []
