"""events.add_batch (JSON lines → task metrics, stored logs) and events.get_task_log (tasks-behaviour.md §8)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

from taskstream.api.context import AppContext
from taskstream.commands import store
from taskstream.projections.replay import replay
from tests.conftest import Tenant
from tests.projections.test_replay import snapshot


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _lines(*events: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(e) for e in events).encode()


async def add_batch(tenant: Tenant, *events: dict[str, Any], method: str = "GET",
                    header: str = "Content-Type") -> dict[str, Any]:
    response = await tenant.raw("/v2.23/events.add_batch", method=method, content=_lines(*events),
                                headers={header: "application/json-lines"})
    return dict(response.json())


def scalar(task: str, metric: str, variant: str, value: float, iteration: int, ts: int = 1000) -> dict[str, Any]:
    # What the SDK sends, transport flags included (clients.md §3b).
    return {"timestamp": ts, "type": "training_stats_scalar", "task": task, "iter": iteration, "metric": metric,
            "variant": variant, "value": value, "allow_locked": False, "model_event": False, "method": "get"}


def log(task: str, msg: str, ts: int, level: str = "info") -> dict[str, Any]:
    return {"timestamp": ts, "type": "log", "task": task, "level": level, "worker": "host", "msg": msg}


async def test_scalars_update_last_metrics_iteration_and_unique_metrics(tenant: Tenant) -> None:
    task = await tenant.create_task("metrics task")
    body = await add_batch(tenant, scalar(task, "loss", "train", 0.5, 1), scalar(task, "loss", "train", 0.9, 3),
                           scalar(task, "loss", "train", 0.2, 2), scalar(task, "acc", "val", 7, 2))
    assert body["meta"]["result_code"] == 200
    assert body["data"]["added"] == 4 and body["data"]["errors"] == 0
    doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert doc["last_iteration"] == 3
    assert doc["last_metrics"][_md5("loss")][_md5("train")] == {
        "metric": "loss", "variant": "train", "value": 0.9, "min_value": 0.2, "max_value": 0.9}
    assert doc["last_metrics"][_md5("acc")][_md5("val")]["value"] == 7
    assert sorted(doc["unique_metrics"]) == ["acc/val", "loss/train"]
    assert doc["metric_stats"][_md5("loss")]["event_stats_by_type"]["training_stats_scalar"] == {"last_update": 1000}

    await add_batch(tenant, scalar(task, "loss", "train", 5.0, 4, ts=2000), method="POST", header="Content-type")
    doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert doc["last_metrics"][_md5("loss")][_md5("train")] == {
        "metric": "loss", "variant": "train", "value": 5.0, "min_value": 0.2, "max_value": 5.0}
    assert doc["last_iteration"] == 4


async def test_one_metrics_event_per_task_per_batch(tenant: Tenant, ctx: AppContext) -> None:
    first, second = await tenant.create_task("task one"), await tenant.create_task("task two")
    await add_batch(tenant, *[scalar(first, "m", "v", i, i) for i in range(5)], log(second, "hello", 5),
                    log(second, "again", 6))
    for task_id in (first, second):
        types = [r["type"] for r in await ctx.pool.fetch(
            "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", task_id)]
        assert types == ["TaskCreated", "MetricsReported"]


async def test_log_events_are_read_back_latest_first(tenant: Tenant) -> None:
    task = await tenant.create_task("log task")
    await add_batch(tenant, *[log(task, f"line {i}", 1000 + i) for i in range(5)])
    page = await tenant.call("events.get_task_log", task=task, batch_size=2)
    assert [e["msg"] for e in page["events"]] == ["line 4", "line 3"]
    assert page["returned"] == 2 and page["total"] == 5
    earlier = await tenant.call("events.get_task_log", task=task, batch_size=2,
                                from_timestamp=page["events"][-1]["timestamp"])
    assert [e["msg"] for e in earlier["events"]] == ["line 2", "line 1"]
    forward = await tenant.call("events.get_task_log", task=task, navigate_earlier=False)
    assert [e["msg"] for e in forward["events"]] == [f"line {i}" for i in range(5)]
    assert forward["events"][0]["type"] == "log" and forward["events"][0]["level"] == "info"


async def test_page_keeps_every_event_of_its_last_timestamp(tenant: Tenant) -> None:
    task = await tenant.create_task("same time")
    await add_batch(tenant, log(task, "a", 1000), log(task, "b", 2000), log(task, "c", 2000), log(task, "d", 2000))
    page = await tenant.call("events.get_task_log", task=task, batch_size=2, navigate_earlier=False)
    assert [e["msg"] for e in page["events"]] == ["a", "b", "c", "d"]


async def test_log_only_batch_touches_last_update(tenant: Tenant) -> None:
    task = await tenant.create_task("touch task")
    before = (await tenant.call("tasks.get_by_id", task=task))["task"]
    await add_batch(tenant, log(task, "x", 1))
    after = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert after["last_update"] > before["last_update"]
    assert after["last_metrics"] == {} and after["last_iteration"] == 0


async def test_bad_events_count_as_errors(tenant: Tenant, other_tenant: Tenant) -> None:
    task = await tenant.create_task("mixed batch")
    foreign = await other_tenant.create_task("foreign task")
    body = await add_batch(tenant, log(task, "ok", 1), log(foreign, "no", 1), {"task": task, "type": "bogus"},
                           {"task": task})
    assert body["data"]["added"] == 1
    assert body["data"]["errors"] == 3
    assert body["data"]["errors_info"]["Invalid task id"] == 1


async def test_nothing_added_fails_and_writes_nothing(tenant: Tenant) -> None:
    task = await tenant.create_task("published task")
    await tenant.call("tasks.started", task=task)
    await tenant.call("tasks.completed", task=task)
    await tenant.call("tasks.publish", task=task)
    version = (await tenant.call("tasks.get_by_id", task=task))["task"]["last_update"]
    body = await add_batch(tenant, log(task, "late", 1))
    assert (body["meta"]["result_code"], body["meta"]["result_subcode"]) == (400, 131)
    assert (await tenant.call("tasks.get_by_id", task=task))["task"]["last_update"] == version
    assert (await tenant.call("events.get_task_log", task=task))["total"] == 0
    allowed = await add_batch(tenant, {**log(task, "late", 1), "allow_locked": True})
    assert allowed["data"]["added"] == 1


async def test_empty_batch_is_rejected(tenant: Tenant) -> None:
    response = await tenant.raw("/events.add_batch", content=b"", headers={"Content-Type": "application/json-lines"})
    assert response.status_code == 400 and response.json()["meta"]["result_subcode"] == 17


async def test_in_progress_task_gets_active_duration(tenant: Tenant) -> None:
    task = await tenant.create_task("running task")
    await tenant.call("tasks.started", task=task)
    await add_batch(tenant, scalar(task, "m", "v", 1.0, 1))
    doc = (await tenant.call("tasks.get_by_id", task=task))["task"]
    assert isinstance(doc["active_duration"], int)


async def test_unknown_task_log_is_400_101(tenant: Tenant) -> None:
    failure = await tenant.fails("events.get_task_log", task="0" * 32)
    assert (failure.status, failure.subcode) == (400, 101)


async def test_concurrent_batches_over_the_same_tasks_append_contiguous_versions(ctx: AppContext,
                                                                                tenant: Tenant) -> None:
    """A batch locks, loads and saves all its tasks at once (`load_many`/`save_many`): batches racing over the same
    tasks, listed in different orders, neither deadlock nor lose an update; each task gets one event per batch."""
    tasks = [await tenant.create_task(f"shared {i}") for i in range(5)]
    batches = 6
    bodies = await asyncio.gather(*(
        add_batch(tenant, *(scalar(task, "loss", "train", float(b), b) for task in (tasks if b % 2 else tasks[::-1])))
        for b in range(1, batches + 1)))
    assert all(body["data"]["added"] == len(tasks) for body in bodies)
    async with ctx.pool.acquire() as conn:
        for task in tasks:
            recorded = await store.read_stream(conn, task)
            assert [e.version for e in recorded] == list(range(1, batches + 2))
            assert [e.type for e in recorded[1:]] == ["MetricsReported"] * batches
    doc = (await tenant.call("tasks.get_by_id", task=tasks[0]))["task"]
    assert doc["last_iteration"] == batches
    (variant,) = [v for metric in doc["last_metrics"].values() for v in metric.values()]
    assert (variant["min_value"], variant["max_value"]) == (1.0, float(batches))


async def test_metrics_merged_into_the_read_model_equal_the_rebuilt_one(
        tenant: Tenant, ctx: AppContext, database_url: str) -> None:
    running = await tenant.create_task("running", hyperparams={"Args": {"lr": {"section": "Args", "name": "lr",
                                                                               "value": "0.1"}}})
    await tenant.call("tasks.started", task=running)
    other = await tenant.create_task("created", comment="c")
    for i in range(3):
        await add_batch(tenant, scalar(running, "loss", "train", 1.0 / (i + 1), i), scalar(other, "acc", "val", i, i),
                        scalar(other, f"m{i}", "v", 0.5, 10 - i), log(other, f"line {i}", 1000 + i))
    await tenant.call("tasks.edit", task=other, comment="after")
    await add_batch(tenant, scalar(other, "acc", "val", 9.0, 2 ** 40))
    async with ctx.pool.acquire() as conn:
        live = await snapshot(conn, ("tasks",))

    await replay(database_url, ["tasks"], progress=False)

    async with ctx.pool.acquire() as conn:
        assert await snapshot(conn, ("tasks",)) == live
    doc = (await tenant.call("tasks.get_by_id", task=other))["task"]
    assert doc["comment"] == "after" and doc["last_iteration"] == 2 ** 40 and len(doc["unique_metrics"]) == 4
    running_doc = (await tenant.call("tasks.get_by_id", task=running))["task"]
    assert running_doc["hyperparams"]["Args"]["lr"]["value"] == "0.1" and running_doc["status"] == "in_progress"
