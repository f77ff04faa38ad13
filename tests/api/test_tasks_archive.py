"""`tasks.archive` (§5.18), `archive_many` / `unarchive_many` (§5.19): the archived tag, the status message and
reason, and the dequeue of a queued task (its entry leaves the queue in the same transaction)."""

from __future__ import annotations

from tests.conftest import Tenant


async def task(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def test_archive_tags_and_overwrites_status_message_and_reason(tenant: Tenant) -> None:
    task_id = await tenant.create_task("to archive", system_tags=["other"])
    await tenant.call("tasks.started", task=task_id, status_message="running")
    assert await tenant.call("tasks.archive", tasks=[task_id, task_id]) == {"archived": 2}
    stored = await task(tenant, task_id)
    assert stored["system_tags"] == ["other", "archived"]
    assert (stored["status"], stored["status_message"], stored["status_reason"]) == ("in_progress", "", "")


async def test_archive_of_a_queued_task_dequeues_it(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="archive queue"))["id"]
    task_id = await tenant.create_task("queued then archived")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    await tenant.call("tasks.archive", tasks=[task_id], status_reason="cleanup")
    stored = await task(tenant, task_id)
    assert (stored["status"], stored["status_reason"]) == ("created", "cleanup")
    assert "archived" in stored["system_tags"] and stored["execution"]["queue"] == queue_id
    assert "enqueue_status" not in stored
    queue = (await tenant.call("queues.get_by_id", queue=queue_id))["queue"]
    assert queue["entries"] == []


async def test_archive_with_an_unknown_id_does_nothing(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await tenant.create_task("mine")
    foreign = await other_tenant.create_task("foreign")
    failure = await tenant.fails("tasks.archive", tasks=[mine, foreign])
    assert (failure.status, failure.subcode) == (400, 101)
    assert failure.msg == f"Invalid task id: ids=({mine}, {foreign})"
    assert "archived" not in (await task(tenant, mine))["system_tags"]


async def test_archive_many_and_unarchive_many(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="many archive"))["id"]
    queued, plain = await tenant.create_task("queued one"), await tenant.create_task("plain one")
    await tenant.call("tasks.enqueue", task=queued, queue=queue_id)
    archived = await tenant.call("tasks.archive_many", ids=[queued, plain, "missing"], status_message="bye")
    assert archived["succeeded"] == [{"id": queued, "archived": True}, {"id": plain, "archived": True}]
    assert [f["error"]["codes"] for f in archived["failed"]] == [[400, 101]]
    assert (await task(tenant, queued))["status"] == "created"
    assert (await tenant.call("queues.get_by_id", queue=queue_id))["queue"]["entries"] == []
    tagged = await tenant.call("tasks.get_all", system_tags=["archived"], only_fields=["id"])
    assert sorted(t["id"] for t in tagged["tasks"]) == sorted([queued, plain])
    restored = await tenant.call("tasks.unarchive_many", ids=[plain], status_reason="back")
    assert restored == {"succeeded": [{"id": plain, "unarchived": True}], "failed": []}
    stored = await task(tenant, plain)
    assert (stored["system_tags"], stored["status_reason"], stored["status_message"]) == ([], "back", "")


async def test_archive_many_of_another_company_fails_per_id(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = await other_tenant.create_task("foreign task")
    result = await tenant.call("tasks.archive_many", ids=[foreign])
    assert result["succeeded"] == [] and result["failed"][0]["error"]["codes"] == [400, 101]
    assert "archived" not in (await other_tenant.call("tasks.get_by_id", task=foreign))["task"]["system_tags"]
