"""tasks.update_batch over HTTP (§5.12): JSON-lines bodies, a plain object body, all-or-nothing errors."""

from __future__ import annotations

import json
from typing import Any

import httpx

from taskstream.api.context import AppContext
from tests.conftest import Tenant

JSON_LINES = {"Content-Type": "application/json-lines"}


async def event_count(ctx: AppContext, stream_id: str) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


async def task_doc(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def send_lines(tenant: Tenant, items: list[dict[str, Any]]) -> httpx.Response:
    body = "\n".join(json.dumps(item) for item in items).encode()
    return await tenant.raw("/tasks.update_batch", headers=JSON_LINES, content=body)


def result(response: httpx.Response) -> tuple[int, int, str, Any]:
    meta = response.json()["meta"]
    return meta["result_code"], meta["result_subcode"], meta["result_msg"], response.json()["data"]


async def test_json_lines_update_several_tasks_last_item_wins(tenant: Tenant) -> None:
    first, second = await tenant.create_task(), await tenant.create_task()
    before = await task_doc(tenant, first)
    response = await send_lines(tenant, [
        {"task": first, "name": "first renamed", "tags": ["b", "a"], "type": "testing"},
        {"task": second, "comment": "hello", "output__error": "boom"},
        {"task": first, "name": "first final", "status_message": "msg"},
    ])
    assert result(response) == (200, 0, "OK", {"updated": 2})
    task = await task_doc(tenant, first)
    assert (task["name"], task["status_message"], task["tags"], task["type"]) == (
        "first final", "msg", [], "training")
    assert task["last_change"] > before["last_change"] and task["last_update"] == before["last_update"]
    other = await task_doc(tenant, second)
    assert (other["comment"], other["output"]["error"]) == ("hello", "boom")


async def test_plain_object_body_is_one_item_and_empty_body_updates_nothing(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    assert await tenant.call("tasks.update_batch", task=task_id, comment="plain") == {"updated": 1}
    assert (await task_doc(tenant, task_id))["comment"] == "plain"
    assert result(await tenant.raw("/tasks.update_batch", content=b""))[3] == {"updated": 0}
    assert result(await send_lines(tenant, []))[3] == {"updated": 0}


async def test_items_with_nothing_to_apply_are_not_counted(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    response = await send_lines(tenant, [{"task": task_id, "type": "testing", "execution": {"framework": "x"}}])
    assert result(response)[3] == {"updated": 0}
    assert await event_count(ctx, task_id) == 1


async def test_any_unknown_or_foreign_task_fails_the_whole_batch(ctx: AppContext, tenant: Tenant,
                                                                 other_tenant: Tenant) -> None:
    mine = await tenant.create_task()
    theirs = await other_tenant.create_task()
    response = await send_lines(tenant, [{"task": mine, "name": "changed"}, {"task": theirs, "name": "x y z"},
                                         {"task": "nope", "name": "abc"}])
    assert result(response)[:3] == (400, 101, f"Invalid task id: ids=({theirs}, nope)")
    assert response.status_code == 400
    assert await event_count(ctx, mine) == 1


async def test_public_task_in_the_batch_is_forbidden(ctx: AppContext, tenant: Tenant) -> None:
    mine, public = await tenant.create_task(), await tenant.create_task()
    await tenant.call("tasks.make_public", ids=[public])
    response = await send_lines(tenant, [{"task": mine, "name": "changed"}, {"task": public, "name": "changed"},
                                         {"task": "nope", "name": "abc"}])
    assert result(response)[:3] == (
        403, 21, f"Forbidden (modification not allowed) (cannot modify public task(s), ids=('{public}',))")
    assert await event_count(ctx, mine) == 1


async def test_item_errors(ctx: AppContext, tenant: Tenant) -> None:
    first, second = await tenant.create_task(), await tenant.create_task()
    short = await send_lines(tenant, [{"task": first, "name": "fine name"}, {"task": second, "name": 5}])
    assert result(short)[:3] == (400, 800, "Data validation error: name=StringField only accepts string values")
    tag = await send_lines(tenant, [{"task": first, "tags": ["__$x"]}])
    assert result(tag)[:2] == (400, 16)
    assert await event_count(ctx, first) == 1
    no_task = await send_lines(tenant, [{"name": "abc"}])
    assert result(no_task)[:3] == (
        400, 11, "Missing required fields (every update_batch item needs a task): missing=(task)")
    assert no_task.status_code == 400
    not_object = await tenant.raw("/tasks.update_batch", headers=JSON_LINES, content=b'{"task": "x"}\n[1]')
    assert not_object.status_code == 400


async def test_a_plain_body_without_task_is_a_client_error(tenant: Tenant) -> None:
    """Found by the schemathesis fuzz: the reference's KeyError (500/0 "'task'") is a 400 here."""
    response = await tenant.raw("/tasks.update_batch", {"name": "abc", "tags": ["x"]})
    assert response.status_code == 400
    assert result(response)[:2] == (400, 11)
