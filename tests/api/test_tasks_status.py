"""G9 through the HTTP API: the §4.3 matrix of every status call from every status, forced and not (force recorded
in the event), and the fields each call writes (§4.2, §4.4, §5.20–5.23, §5.30)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from taskstream.api.context import AppContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import CommandSession
from taskstream.schemas.clock import iso, utc_now
from taskstream.schemas.events import WorkerReported
from tests.conftest import ApiFailure, Tenant, make_tenant
from tests.status_matrix import DELETED, OK_EDIT, STATUSES, cases

COMMON = {"status", "status_reason", "status_message", "status_changed", "last_update", "last_change"}


@pytest.fixture(scope="module")
async def shared(ctx: AppContext, http: Any) -> Tenant:
    """One company for the whole matrix (a key pair costs a scrypt hash)."""
    return await make_tenant(ctx, http)


async def task_in(tenant: Tenant, status: str, **fields: Any) -> str:
    task_id = await tenant.create_task("matrix task", **fields)
    if status != "created":
        await tenant.call("tasks.edit", task=task_id, force=True, status=status)
    return task_id


async def status_of(tenant: Tenant, task_id: str) -> str:
    try:
        return str((await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"])
    except ApiFailure as failure:
        assert failure.subcode == 101
        return DELETED


async def last_event(ctx: AppContext, task_id: str) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    row = await ctx.pool.fetchrow("SELECT version, type, data, metadata FROM events WHERE stream_id = $1 "
                                  "ORDER BY version DESC LIMIT 1", task_id)
    return row["version"], row["type"], json.loads(row["data"]), json.loads(row["metadata"])


async def run(tenant: Tenant, call: str, task_id: str, force: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"task": task_id, "force": force}
    if call == "edit":
        body["comment"] = "edited"
    return dict(await tenant.call(f"tasks.{call}", **body))


@pytest.mark.parametrize(("call", "status", "expected"), cases(forced=False))
async def test_matrix_unforced(ctx: AppContext, shared: Tenant, call: str, status: str, expected: Any) -> None:
    task_id = await task_in(shared, status)
    version_before, *_ = await last_event(ctx, task_id)
    if isinstance(expected, int):
        failure = await shared.fails(f"tasks.{call}", task=task_id, **({"comment": "x"} if call == "edit" else {}))
        assert (failure.status, failure.code, failure.subcode) == (400, 400, expected)
        assert await status_of(shared, task_id) == status
        assert (await last_event(ctx, task_id))[0] == version_before, "a rejected command writes nothing"
        return
    await run(shared, call, task_id, force=False)
    result = await status_of(shared, task_id)
    assert result == (status if expected == OK_EDIT else expected)


@pytest.mark.parametrize(("call", "status", "expected"), cases(forced=True))
async def test_matrix_forced(ctx: AppContext, shared: Tenant, call: str, status: str, expected: str) -> None:
    task_id = await task_in(shared, status)
    await run(shared, call, task_id, force=True)
    assert await status_of(shared, task_id) == (status if expected == OK_EDIT else expected)
    _, _, data, metadata = await last_event(ctx, task_id)
    assert data["force"] is True, "force is recorded in the event"
    assert metadata["forced"] is True


@pytest.mark.parametrize("call", ["started", "stop", "stopped", "failed", "close", "completed", "publish", "reset"])
async def test_unknown_status_without_force_is_500_1(shared: Tenant, call: str) -> None:
    task_id = await task_in(shared, "unknown")
    failure = await shared.fails(f"tasks.{call}", task=task_id)
    assert (failure.status, failure.subcode) == (500, 1)
    assert failure.msg == "Internal server error (Current status unknown not supported by state machine)"
    await shared.call(f"tasks.{call}", task=task_id, force=True)


async def test_transition_error_message(shared: Tenant) -> None:
    task_id = await task_in(shared, "created")
    failure = await shared.fails("tasks.stopped", task=task_id)
    assert failure.msg == "Invalid task status (Invalid status change): current_status=created, new_status=stopped"


async def test_started_writes_common_fields_and_keeps_first_start(shared: Tenant) -> None:
    task_id = await task_in(shared, "created")
    first = await shared.call("tasks.started", task=task_id, status_reason="r", status_message="m")
    assert first["updated"] == 1 and first["started"] == 1
    assert set(first["fields"]) == COMMON | {"started"}
    assert (first["fields"]["status"], first["fields"]["status_reason"], first["fields"]["status_message"]) == \
        ("in_progress", "r", "m")
    second = await shared.call("tasks.started", task=task_id)
    assert second["updated"] == 1 and second["started"] == 1
    task = (await shared.call("tasks.get_by_id", task=task_id))["task"]
    assert task["started"] == first["fields"]["started"]
    assert (task["status_reason"], task["status_message"]) == ("", ""), "status fields are overwritten"
    assert task["status_changed"] == second["fields"]["status_changed"]


@pytest.mark.parametrize(("call", "extra", "absent"), [
    ("stopped", {"completed"}, {"published"}),
    ("failed", set(), {"completed"}),
    ("close", set(), {"completed"}),
    ("completed", {"completed"}, {"published"}),
    ("publish", {"published", "output"}, set()),
])
async def test_fields_written_by_call(shared: Tenant, call: str, extra: set[str], absent: set[str]) -> None:
    task_id = await task_in(shared, "stopped" if call != "completed" else "in_progress")
    before = datetime.fromisoformat((await shared.call("tasks.get_by_id", task=task_id))["task"]["last_update"])
    response = await shared.call(f"tasks.{call}", task=task_id, status_reason="why", status_message="msg")
    assert response["updated"] == 1
    assert set(response["fields"]) == COMMON | extra
    task = (await shared.call("tasks.get_by_id", task=task_id))["task"]
    for name in extra - {"output"}:
        assert datetime.fromisoformat(task[name]) >= before
    for name in absent:
        assert name not in task
    assert (task["status_reason"], task["status_message"]) == ("why", "msg")
    if call == "publish":
        assert response["fields"]["output"] == {}


async def test_completed_with_publish(shared: Tenant) -> None:
    task_id = await task_in(shared, "in_progress")
    response = await shared.call("tasks.completed", task=task_id, publish=True)
    assert response["updated"] == 1 and response["published"] == 1
    assert response["fields"]["status"] == "published"
    task = (await shared.call("tasks.get_by_id", task=task_id))["task"]
    assert task["status"] == "published" and "published" in task and "completed" in task
    plain = await shared.call("tasks.completed", task=await task_in(shared, "in_progress"))
    assert plain["published"] == 0 and plain["fields"]["status"] == "completed"


async def test_completed_with_publish_rejected_writes_nothing(ctx: AppContext, shared: Tenant) -> None:
    task_id = await task_in(shared, "created")
    version, *_ = await last_event(ctx, task_id)
    assert (await shared.fails("tasks.completed", task=task_id, publish=True)).subcode == 110
    assert (await last_event(ctx, task_id))[0] == version


async def test_stop_without_worker_stops_and_ignores_status_message(shared: Tenant) -> None:
    task_id = await task_in(shared, "in_progress")
    response = await shared.call("tasks.stop", task=task_id, status_reason="user", status_message="ignored")
    assert response["fields"]["status"] == "stopped"
    assert response["fields"]["status_message"] == "Stopped by tests"
    assert response["fields"]["status_reason"] == "user"


async def report_worker(ctx: AppContext, tenant: Tenant, task_id: str, when: datetime) -> None:
    """What `workers.status_report` would record: the task is run by a worker that reported at `when`."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("task", task_id)
        await session.save("task", stream, [WorkerReported(set={"last_worker": "w1", "last_update": iso(when)},
                                                           worker="w1")])
        return {}

    await run_command(ctx.commands, tenant.company, {"company": tenant.company, "user": tenant.user}, work)


async def test_stop_of_worker_run_task_asks_the_worker(ctx: AppContext, shared: Tenant) -> None:
    task_id = await task_in(shared, "in_progress")
    await report_worker(ctx, shared, task_id, utc_now())
    response = await shared.call("tasks.stop", task=task_id)
    assert response["fields"]["status"] == "in_progress"
    assert response["fields"]["status_message"] == "stopping"
    task = (await shared.call("tasks.get_by_id", task=task_id))["task"]
    assert task["status"] == "in_progress" and task["status_message"] == "stopping"
    assert task["status_changed"] == response["fields"]["status_changed"], "written even when unchanged"


async def test_stop_of_dev_task_or_stale_worker_stops_at_once(ctx: AppContext, shared: Tenant) -> None:
    dev = await task_in(shared, "in_progress", system_tags=["development"])
    await report_worker(ctx, shared, dev, utc_now())
    assert (await shared.call("tasks.stop", task=dev))["fields"]["status"] == "stopped"
    stale = await task_in(shared, "in_progress")
    await report_worker(ctx, shared, stale, utc_now() - timedelta(seconds=601))
    assert (await shared.call("tasks.stop", task=stale))["fields"]["status"] == "stopped"


async def test_status_call_validation_errors(shared: Tenant) -> None:
    failure = await shared.fails("tasks.started")
    assert (failure.status, failure.subcode) == (400, 12)
    assert failure.msg == "Validation error (error for field 'task'. field is required!)"
    missing = await shared.fails("tasks.stopped", task="nope")
    assert missing.msg == f"Invalid task id: id=nope, company={shared.company}"


@pytest.mark.parametrize("status", STATUSES)
async def test_statuses_reachable_for_the_matrix(shared: Tenant, status: str) -> None:
    assert await status_of(shared, await task_in(shared, status)) == status
