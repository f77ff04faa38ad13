"""`tasks.enqueue` / `enqueue_many` / `dequeue` / `dequeue_many` (§5.25–§5.28) and the queue side of stop, reset
and delete; atomicity of task status and queue contents (G3)."""

from __future__ import annotations

import asyncio
import random

from taskstream.api.context import AppContext
from tests.conftest import ApiFailure, Tenant


async def new_queue(tenant: Tenant, name: str) -> str:
    return str((await tenant.call("queues.create", name=name))["id"])


async def entries(tenant: Tenant, queue_id: str) -> list[str]:
    return [e["task"] for e in (await tenant.call("queues.get_by_id", queue=queue_id))["queue"]["entries"]]


async def task(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def stream_lengths(ctx: AppContext, *stream_ids: str) -> list[int]:
    return [await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", s) for s in stream_ids]


async def test_enqueue_writes_status_enqueue_status_queue_and_drops_development(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "work")
    task_id = await tenant.create_task("dev task", system_tags=["development", "keep"])
    result = await tenant.call("tasks.enqueue", task=task_id, queue=queue_id, status_reason="go")
    assert (result["updated"], result["queued"]) == (1, 1)
    fields = result["fields"]
    assert (fields["status"], fields["enqueue_status"], fields["execution.queue"]) == ("queued", "created", queue_id)
    assert fields["status_reason"] == "go" and "system_tags" not in fields
    stored = await task(tenant, task_id)
    assert (stored["status"], stored["execution"]["queue"], stored["system_tags"]) == ("queued", queue_id, ["keep"])
    assert await entries(tenant, queue_id) == [task_id]


async def test_enqueue_without_a_queue_uses_the_default_queue(tenant: Tenant) -> None:
    task_id = await tenant.create_task("to default")
    result = await tenant.call("tasks.enqueue", task=task_id)
    default = await tenant.call("queues.get_default")
    assert result["fields"]["execution.queue"] == default["id"]
    assert await entries(tenant, default["id"]) == [task_id]


async def test_enqueue_by_queue_name_creates_the_queue_once(tenant: Tenant) -> None:
    first, second = await tenant.create_task("one"), await tenant.create_task("two")
    one = await tenant.call("tasks.enqueue", task=first, queue_name="by-name", verify_watched_queue=False)
    two = await tenant.call("tasks.enqueue", task=second, queue_name="by-name")
    assert one["fields"]["execution.queue"] == two["fields"]["execution.queue"]
    queues = (await tenant.call("queues.get_all", name="^by\\-name$"))["queues"]
    assert [q["id"] for q in queues] == [one["fields"]["execution.queue"]]
    assert [e["task"] for e in queues[0]["entries"]] == [first, second]


async def test_queue_name_is_created_even_when_the_task_is_invalid(tenant: Tenant) -> None:
    failure = await tenant.fails("tasks.enqueue", task="missing", queue_name="made anyway")
    assert failure.subcode == 101
    assert len((await tenant.call("queues.get_all", name="^made anyway$"))["queues"]) == 1
    short = await tenant.fails("tasks.enqueue", task="missing", queue_name="ab")
    assert (short.status, short.subcode) == (400, 800)


async def test_queue_and_queue_name_together_are_a_validation_error(tenant: Tenant) -> None:
    task_id = await tenant.create_task("both")
    failure = await tenant.fails("tasks.enqueue", task=task_id, queue="x", queue_name="y")
    assert (failure.status, failure.subcode) == (400, 12)
    assert failure.msg == "Validation error (Either queue id or queue name should be provided)"


async def test_rejected_enqueue_to_unknown_queue_changes_nothing(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task("unknown queue")
    before = await stream_lengths(ctx, task_id)
    failure = await tenant.fails("tasks.enqueue", task=task_id, queue="no-such-queue")
    assert (failure.status, failure.subcode) == (400, 701)
    assert failure.msg == f"Invalid queue id: id=no-such-queue, company={tenant.company}"
    assert await stream_lengths(ctx, task_id) == before
    assert (await task(tenant, task_id))["status"] == "created"


async def test_enqueue_of_a_queued_task_is_110_and_forced_706_with_nothing_changed(
        ctx: AppContext, tenant: Tenant) -> None:
    queue_id, other = await new_queue(tenant, "first"), await new_queue(tenant, "second")
    task_id = await tenant.create_task("queued once")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    before = await stream_lengths(ctx, task_id, queue_id, other)
    again = await tenant.fails("tasks.enqueue", task=task_id, queue=queue_id)
    assert (again.subcode, again.msg) == (110, "Invalid task status (Task already in requested status): "
                                               "current_status=queued, new_status=queued")
    for target in (queue_id, other):
        forced = await tenant.fails("tasks.enqueue", task=task_id, queue=target, force=True)
        assert (forced.status, forced.subcode) == (400, 706)
    assert await stream_lengths(ctx, task_id, queue_id, other) == before
    assert await entries(tenant, queue_id) == [task_id] and await entries(tenant, other) == []


async def test_enqueue_checks_the_task_before_the_queue(tenant: Tenant, other_tenant: Tenant) -> None:
    foreign = await other_tenant.create_task("foreign")
    assert (await tenant.fails("tasks.enqueue", task=foreign, queue="missing")).subcode == 101
    running = await tenant.create_task("running")
    await tenant.call("tasks.started", task=running)
    assert (await tenant.fails("tasks.enqueue", task=running, queue="missing")).subcode == 110


async def test_dequeue_restores_the_previous_status_and_keeps_execution_queue(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "dequeue")
    task_id = await tenant.create_task("dequeued")
    await tenant.call("tasks.started", task=task_id)
    await tenant.call("tasks.stopped", task=task_id)
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    result = await tenant.call("tasks.dequeue", task=task_id, status_message="back")
    assert (result["updated"], result["dequeued"]) == (1, 1)
    assert result["fields"]["status"] == "stopped" and result["fields"]["enqueue_status"] is None
    stored = await task(tenant, task_id)
    assert (stored["status"], stored["execution"]["queue"], stored["status_message"]) == ("stopped", queue_id, "back")
    assert await entries(tenant, queue_id) == []


async def test_dequeue_of_a_task_that_is_not_queued_is_101(tenant: Tenant) -> None:
    task_id = await tenant.create_task("not queued")
    failure = await tenant.fails("tasks.dequeue", task=task_id)
    assert (failure.status, failure.subcode) == (400, 101)
    assert failure.msg == "Invalid task id: status=created, expected=queued"
    assert (await tenant.fails("tasks.dequeue", task="missing")).subcode == 101


async def test_dequeue_of_a_claimed_task_changes_only_the_task(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "claimed")
    task_id = await tenant.create_task("claimed task")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    await tenant.call("queues.get_next_task", queue=queue_id)
    assert (await tenant.call("tasks.dequeue", task=task_id))["fields"]["status"] == "created"


async def test_stop_of_a_queued_task_removes_its_entry(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "stop")
    task_id = await tenant.create_task("stopped while queued")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    result = await tenant.call("tasks.stop", task=task_id)
    assert result["fields"]["status"] == "stopped"
    assert await entries(tenant, queue_id) == []
    assert (await task(tenant, task_id))["execution"]["queue"] == queue_id


async def test_reset_of_a_queued_task_answers_dequeued_removed(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "reset")
    task_id = await tenant.create_task("reset while queued")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    result = await tenant.call("tasks.reset", task=task_id)
    assert result["dequeued"] == {"removed": 1} and result["fields"]["status"] == "created"
    assert await entries(tenant, queue_id) == []
    assert (await tenant.call("tasks.reset", task=task_id))["dequeued"] == {}


async def test_delete_of_a_queued_task_needs_force_and_then_removes_its_entry(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "delete")
    task_id = await tenant.create_task("deleted while queued")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
    refused = await tenant.fails("tasks.delete", task=task_id)
    assert refused.subcode == 123 and await entries(tenant, queue_id) == [task_id]
    assert (await tenant.call("tasks.delete", task=task_id, force=True))["deleted"] is True
    assert await entries(tenant, queue_id) == []


async def test_enqueue_many_items_failures_and_queue_watched(tenant: Tenant) -> None:
    queue_id = await new_queue(tenant, "many")
    first, second = await tenant.create_task("task m1"), await tenant.create_task("task m2")
    await tenant.call("workers.register", worker="w1", queues=[queue_id])
    result = await tenant.call("tasks.enqueue_many", ids=[first, second, first], queue=queue_id,
                               verify_watched_queue=True)
    assert [(s["id"], s["queued"], s["updated"]) for s in result["succeeded"]] == [(first, True, 1),
                                                                                   (second, True, 1)]
    assert result["succeeded"][0]["fields"]["execution.queue"] == queue_id
    assert [(f["id"], f["error"]["codes"]) for f in result["failed"]] == [(first, [400, 110])]
    assert result["failed"][0]["error"]["data"] == {"current_status": "queued", "new_status": "queued"}
    assert result["queue_watched"] is True
    assert await entries(tenant, queue_id) == [first, second]
    unwatched = await tenant.call("tasks.enqueue", task=await tenant.create_task("task m3"), queue_name="nobody",
                                  verify_watched_queue=True)
    assert unwatched["queue_watched"] is False


async def test_enqueue_many_with_a_bad_queue_name_fails_every_id(tenant: Tenant) -> None:
    ids = [await tenant.create_task("task a1"), await tenant.create_task("task a2")]
    result = await tenant.call("tasks.enqueue_many", ids=ids, queue_name="ab")
    assert result["succeeded"] == [] and [f["error"]["codes"] for f in result["failed"]] == [[400, 800]] * 2


async def test_enqueue_many_validate_tasks_and_dequeue_many(tenant: Tenant) -> None:
    ids = [await tenant.create_task("task d1"), await tenant.create_task("task d2")]
    enqueued = await tenant.call("tasks.enqueue_many", ids=ids, validate_tasks=True)
    assert len(enqueued["succeeded"]) == 2 and "queue_watched" not in enqueued
    result = await tenant.call("tasks.dequeue_many", ids=[*ids, "missing"])
    assert [(s["id"], s["dequeued"], s["fields"]["status"]) for s in result["succeeded"]] == [
        (ids[0], True, "created"), (ids[1], True, "created")]
    assert [f["error"]["codes"] for f in result["failed"]] == [[400, 101]]
    assert await entries(tenant, (await tenant.call("queues.get_default"))["id"]) == []


async def test_g3_task_status_and_queue_entries_agree_after_a_concurrent_mixed_workload(
        ctx: AppContext, tenant: Tenant) -> None:
    queues = [await new_queue(tenant, "mixed a"), await new_queue(tenant, "mixed b")]
    tasks = [await tenant.create_task(f"mixed {i}") for i in range(8)]
    rng = random.Random(7)

    async def one_client() -> None:
        for _ in range(12):
            task_id, queue_id = rng.choice(tasks), rng.choice(queues)
            call = rng.choice(["enqueue", "enqueue", "dequeue", "stop", "reset"])
            body = {"task": task_id, "queue": queue_id} if call == "enqueue" else {"task": task_id}
            try:
                await tenant.call(f"tasks.{call}", **body)
            except ApiFailure as failure:  # a refused transition, never a deadlock (121) nor a 500
                assert failure.status == 400 and failure.subcode != 121, failure

    await asyncio.gather(*(one_client() for _ in range(6)))
    rows = await ctx.pool.fetch(
        """SELECT t.id, t.status, t.doc->'execution'->>'queue' AS queue,
                  (SELECT array_agg(e.queue) FROM queue_entries e WHERE e.task = t.id) AS in_queues
           FROM tasks t WHERE t.id = ANY($1::text[])""", tasks)
    assert len(rows) == len(tasks)
    for row in rows:
        if row["status"] == "queued":
            assert row["in_queues"] == [row["queue"]], dict(row)
        else:
            assert row["in_queues"] is None, dict(row)
