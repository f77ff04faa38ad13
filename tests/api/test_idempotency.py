"""G2: a request repeated with the same `Idempotency-Key` appends nothing new and returns the first answer."""

from __future__ import annotations

import asyncio
from typing import Any

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def events_of(ctx: AppContext, stream_id: str) -> list[str]:
    return [r["type"] for r in await ctx.pool.fetch(
        "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", stream_id)]


async def keyed(tenant: Tenant, endpoint: str, key: str, **body: Any) -> tuple[int, Any]:
    response = await tenant.raw(f"/{endpoint}", body, headers={"Idempotency-Key": key})
    return response.status_code, response.json()["data"]


async def test_create_three_times_creates_one_task(ctx: AppContext, tenant: Tenant) -> None:
    answers = [await keyed(tenant, "tasks.create", "create-1", name="once", type="training") for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    task_id = answers[0][1]["id"]
    assert await events_of(ctx, task_id) == ["TaskCreated"]
    assert len((await tenant.call("tasks.get_all", name="^once$", only_fields=["id"]))["tasks"]) == 1


async def test_status_call_three_times_appends_one_event(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("started once")
    answers = [await keyed(tenant, "tasks.started", "start-1", task=task_id) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2] and answers[0][0] == 200
    assert await events_of(ctx, task_id) == ["TaskCreated", "TaskStarted"]


async def test_a_retry_returns_the_first_answer_even_if_state_moved(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("edited once")
    first = await keyed(tenant, "tasks.edit", "edit-1", task=task_id, comment="first")
    await tenant.call("tasks.edit", task=task_id, comment="second")
    assert await keyed(tenant, "tasks.edit", "edit-1", task=task_id, comment="first") == first
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["comment"] == "second"
    assert await events_of(ctx, task_id) == ["TaskCreated", "TaskEdited", "TaskEdited"]


async def test_concurrent_twins_append_once(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("concurrent twins")
    answers = await asyncio.gather(*[keyed(tenant, "tasks.update", "twins-1", task=task_id, comment=f"c{i}")
                                     for i in range(3)])
    assert answers[0] == answers[1] == answers[2]
    assert await events_of(ctx, task_id) == ["TaskCreated", "TaskUpdated"]
    created = await asyncio.gather(*[keyed(tenant, "tasks.create", "twins-2", name="twin", type="qc")
                                     for _ in range(3)])
    assert created[0] == created[1] == created[2]
    assert len((await tenant.call("tasks.get_all", name="^twin$", only_fields=["id"]))["tasks"]) == 1


async def test_a_rejected_request_is_not_remembered(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("rejected first")
    status, _ = await keyed(tenant, "tasks.stopped", "retry-after-fix", task=task_id)
    assert status == 400
    await tenant.call("tasks.started", task=task_id)
    status, data = await keyed(tenant, "tasks.stopped", "retry-after-fix", task=task_id)
    assert status == 200 and data["fields"]["status"] == "stopped"
    assert await events_of(ctx, task_id) == ["TaskCreated", "TaskStarted", "TaskMarkedStopped"]


async def test_keys_are_per_company(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await keyed(tenant, "tasks.create", "shared-key", name="mine", type="qc")
    theirs = await keyed(other_tenant, "tasks.create", "shared-key", name="theirs", type="qc")
    assert mine[1]["id"] != theirs[1]["id"]
    assert (await other_tenant.call("tasks.get_by_id", task=theirs[1]["id"]))["task"]["name"] == "theirs"


async def test_a_key_reused_for_another_endpoint_is_refused_not_answered_with_the_first_response(
        tenant: Tenant) -> None:
    created = await tenant.raw("/tasks.create", {"name": "keyed", "type": "training"},
                               headers={"Idempotency-Key": "reused-key"})
    task_id = created.json()["data"]["id"]
    edited = await tenant.raw("/tasks.edit", {"task": task_id, "name": "renamed"},
                              headers={"Idempotency-Key": "reused-key"})
    meta = edited.json()["meta"]
    assert (edited.status_code, meta["result_subcode"]) == (400, 12) and "tasks.create" in meta["result_msg"]
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["name"] == "keyed"
