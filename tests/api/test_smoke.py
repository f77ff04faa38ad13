"""The shortest path a client takes: create, start, stop, read back."""

from tests.conftest import Tenant


async def test_create_start_stop_and_read_back(tenant: Tenant) -> None:
    task_id = await tenant.create_task("first task")
    await tenant.call("tasks.started", task=task_id)
    await tenant.call("tasks.stopped", task=task_id)
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["status"] == "stopped"
    listed = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["id", "status"]))["tasks"]
    assert listed == [{"id": task_id, "status": "stopped"}]
