"""The workers service as the agent uses it (clients.md §3d, tasks-behaviour.md §8)."""

from __future__ import annotations

import time

from tests.conftest import Tenant


def _now_ms() -> int:
    return int(time.time() * 1000)


async def test_register_report_list_unregister(tenant: Tenant) -> None:
    assert await tenant.call("workers.register", worker="box:0", queues=[], timeout=60) == {}
    assert await tenant.call("workers.status_report", worker="box:0", timestamp=_now_ms(),
                             machine_stats={"cpu_usage": [1.0]}, is_daemon=True) == {}
    workers = (await tenant.call("workers.get_all"))["workers"]
    assert [w["id"] for w in workers] == ["box:0"]
    assert workers[0]["user"]["id"] == tenant.user and isinstance(workers[0]["register_time"], str)
    assert await tenant.call("workers.get_runtime_properties", worker="box:0") == {"runtime_properties": []}
    assert await tenant.call("workers.unregister", worker="box:0", queues=[]) == {}
    assert (await tenant.call("workers.get_all"))["workers"] == []
    failure = await tenant.fails("workers.unregister", worker="box:0")
    assert (failure.status, failure.subcode) == (400, 1004)


async def test_status_report_with_task_marks_the_task(tenant: Tenant) -> None:
    task = await tenant.create_task("worker task")
    await tenant.call("tasks.started", task=task, force=True)
    await tenant.call("workers.status_report", worker="agent:1", timestamp=_now_ms(), task=task, is_daemon=False)
    doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert doc["last_worker"] == "agent:1"
    assert doc["last_worker_report"] == doc["last_update"] == doc["last_change"]
    listed = (await tenant.call("workers.get_all"))["workers"]
    assert listed[0]["task"]["id"] == task and listed[0]["task"]["name"] == "worker task"


async def test_task_run_by_a_reporting_worker_is_asked_to_stop(tenant: Tenant) -> None:
    task = await tenant.create_task("remote task")
    await tenant.call("tasks.started", task=task, force=True)
    await tenant.call("workers.status_report", worker="agent:2", timestamp=_now_ms(), task=task)
    await tenant.call("tasks.stop", task=task)
    doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert (doc["status"], doc["status_message"]) == ("in_progress", "stopping")


async def test_status_report_of_unknown_task_is_400_101(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = await other_tenant.create_task("foreign task")
    for task in ("f" * 32, foreign):
        failure = await tenant.fails("workers.status_report", worker="w", timestamp=_now_ms(), task=task)
        assert (failure.status, failure.subcode) == (400, 101)
    assert (await tenant.call("workers.get_all"))["workers"] == []


async def test_workers_are_per_company(tenant: Tenant, other_tenant: Tenant) -> None:
    await tenant.call("workers.register", worker="mine")
    assert (await other_tenant.call("workers.get_all"))["workers"] == []


async def test_register_with_an_unknown_queue_is_400_701(tenant: Tenant) -> None:
    failure = await tenant.fails("workers.register", worker="w", queues=["0" * 32])
    assert (failure.status, failure.subcode) == (400, 701)
    queue = (await tenant.call("queues.create", name="watched"))["id"]
    await tenant.call("workers.register", worker="w", queues=[queue])
    listed = (await tenant.call("workers.get_all"))["workers"]
    assert listed[0]["queues"] == [{"id": queue, "name": "watched"}]
