"""The audit trail: every change of a task with who, which call, force, reasons and the fields before/after."""

from __future__ import annotations

from taskstream.api.context import AppContext
from taskstream.projections.audit import AuditTrail
from taskstream.projections.subscription import LogSubscription
from tests.api.test_events import add_batch, scalar
from tests.conftest import Tenant


async def _catch_up(ctx: AppContext) -> None:
    await LogSubscription(ctx.pool, AuditTrail()).catch_up()


async def test_history_records_each_change_with_actor_call_and_fields(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("audited", comment="first")
    await tenant.call("tasks.edit", task=task, comment="second")
    await tenant.call("tasks.started", task=task, status_reason="go", status_message="running now")
    await tenant.call("tasks.stopped", task=task, force=True)
    await _catch_up(ctx)

    history = (await tenant.call("tasks.get_history", task=task))["history"]

    assert [h["event"] for h in history] == ["TaskCreated", "TaskEdited", "TaskStarted", "TaskMarkedStopped"]
    assert [h["version"] for h in history] == [1, 2, 3, 4]
    assert {h["user"] for h in history} == {tenant.user}
    assert {h["company"] for h in history} == {tenant.company}
    assert [h["endpoint"] for h in history] == ["tasks.create", "tasks.edit", "tasks.started", "tasks.stopped"]
    created, edited, started, stopped = history
    assert created["before"] is None and created["after"]["comment"] == "first"
    assert edited["before"]["comment"] == "first" and edited["after"]["comment"] == "second"
    assert started["before"]["status"] == "created" and started["after"]["status"] == "in_progress"
    assert (started["status_reason"], started["status_message"]) == ("go", "running now")
    assert stopped["force"] is True and started["force"] is False
    newest = (await tenant.call("tasks.get_history", task=task, order="desc"))["history"]
    assert [h["version"] for h in newest] == [4, 3, 2, 1]


async def test_history_of_a_deleted_task_stays_readable(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("short-lived")
    await tenant.call("tasks.delete", task=task)
    await _catch_up(ctx)

    history = (await tenant.call("tasks.get_history", task=task))["history"]

    assert [h["event"] for h in history] == ["TaskCreated", "TaskDeleted"]
    assert history[1]["after"] is None and history[1]["before"]["name"] == "short-lived"


async def test_history_of_another_company_task_is_an_invalid_task_id(
        ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    task = await tenant.create_task("private")
    await _catch_up(ctx)

    failure = await other_tenant.fails("tasks.get_history", task=task)

    assert (failure.status, failure.code, failure.subcode) == (400, 400, 101)


async def test_redelivered_events_add_no_second_entry(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("once")
    await tenant.call("tasks.edit", task=task, comment="x")
    await _catch_up(ctx)
    async with ctx.pool.acquire() as conn:
        from taskstream.commands.store import read_stream

        events = await read_stream(conn, task)
        async with conn.transaction():
            for event in events:
                await AuditTrail().handle(conn, event)
        count = await conn.fetchval("SELECT count(*) FROM task_audit WHERE task_id = $1", task)

    assert count == 2


async def test_metrics_batches_are_recorded_with_the_fields_before_and_after(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("training")
    await add_batch(tenant, scalar(task, "loss", "train", 5.0, 1), scalar(task, "loss", "train", 4.0, 2))
    await add_batch(tenant, scalar(task, "loss", "train", 3.0, 3))
    await tenant.call("tasks.edit", task=task, comment="done")
    await _catch_up(ctx)

    history = (await tenant.call("tasks.get_history", task=task))["history"]

    assert [h["event"] for h in history] == ["TaskCreated", "MetricsReported", "MetricsReported", "TaskEdited"]
    first, second = history[1], history[2]
    assert first["after"]["last_iteration"] == 2 and second["before"]["last_iteration"] == 2
    assert second["after"]["last_iteration"] == 3
    [path] = [p for p in second["after"] if p.startswith("last_metrics.")]
    assert first["after"][path] == second["before"][path]
    assert second["after"][path]["min_value"] == 3.0 and second["after"][path]["max_value"] == 5.0
