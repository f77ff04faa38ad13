"""G7, read-your-writes: a task is readable by get_by_id and get_all the moment its create call returned,
1000 times out of 1000 (eight clients at once, each checking its own writes)."""

from __future__ import annotations

import asyncio

from tests.conftest import Tenant

CLIENTS = 8
PER_CLIENT = 125


async def client(tenant: Tenant, number: int) -> int:
    checked = 0
    for i in range(PER_CLIENT):
        name = f"ryw {number}-{i}"
        task_id = (await tenant.call("tasks.create", name=name, type="training"))["id"]
        task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
        assert (task["id"], task["name"]) == (task_id, name)
        listed = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["id", "name"]))["tasks"]
        assert listed == [{"id": task_id, "name": name}]
        checked += 1
    return checked


async def test_g7_create_then_read_1000_times(tenant: Tenant) -> None:
    checked = await asyncio.gather(*[client(tenant, n) for n in range(CLIENTS)])
    assert sum(checked) == CLIENTS * PER_CLIENT == 1000
    listed = (await tenant.call("tasks.get_all", name="^ryw ", only_fields=["id"], page_size=500, page=1))["tasks"]
    assert len(listed) == 500
