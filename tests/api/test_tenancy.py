"""G11, tenancy (§2.5): another company's task is invisible (400/101 on read and write); a public task is visible to
every company and read-only (403/21), also for the company that published it; ping ignores both silently."""

from __future__ import annotations

from typing import Any

from taskstream.api.context import AppContext
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.session import CommandSession
from taskstream.schemas.events import TaskMadePublic
from tests.conftest import Tenant

WRITES: list[tuple[str, dict[str, Any]]] = [
    ("tasks.edit", {"comment": "x"}), ("tasks.edit", {"comment": "x", "force": True}),
    ("tasks.update", {"name": "renamed"}), ("tasks.started", {}), ("tasks.stop", {}), ("tasks.stopped", {}),
    ("tasks.failed", {}), ("tasks.close", {}), ("tasks.completed", {}), ("tasks.publish", {}),
    ("tasks.reset", {}), ("tasks.delete", {}), ("tasks.delete", {"force": True}), ("tasks.started", {"force": True}),
]


async def make_public(ctx: AppContext, owner: Tenant, task_id: str) -> None:
    """What tasks.make_public records, appended through the command layer."""

    async def work(session: CommandSession) -> dict[str, Any]:
        stream = await session.load("task", task_id)
        await session.save("task", stream, [TaskMadePublic(set={"company": "", "company_origin": owner.company})])
        return {}

    await run_command(ctx.commands, owner.company, {"company": owner.company, "user": owner.user}, work)


async def snapshot(ctx: AppContext, task_id: str) -> tuple[int, str]:
    row = await ctx.pool.fetchrow("SELECT version, doc::text AS doc FROM tasks WHERE id = $1", task_id)
    return row["version"], row["doc"]


async def test_foreign_task_is_invisible_to_reads(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = await other_tenant.create_task("theirs")
    failure = await tenant.fails("tasks.get_by_id", task=theirs)
    assert (failure.status, failure.subcode, failure.msg) == \
        (400, 101, f"Invalid task id: id={theirs}, company={tenant.company}")
    assert await tenant.call("tasks.get_all", id=[theirs]) == {"tasks": []}
    assert await tenant.call("tasks.get_all", name="theirs", only_fields=["id"]) == {"tasks": []}
    assert (await other_tenant.call("tasks.get_all", id=[theirs], only_fields=["id"]))["tasks"] == [{"id": theirs}]


async def test_foreign_task_rejects_writes(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    for status in ("created", "in_progress"):
        theirs = await other_tenant.create_task("theirs")
        if status != "created":
            await other_tenant.call("tasks.started", task=theirs)
        before = await snapshot(ctx, theirs)
        for endpoint, extra in WRITES:
            failure = await tenant.fails(endpoint, task=theirs, **extra)
            assert (failure.status, failure.subcode, failure.msg) == \
                (400, 101, f"Invalid task id: id={theirs}, company={tenant.company}"), endpoint
        assert await snapshot(ctx, theirs) == before


async def test_ping_of_foreign_or_public_task_is_silently_ignored(ctx: AppContext, tenant: Tenant,
                                                                  other_tenant: Tenant) -> None:
    theirs = await other_tenant.create_task("theirs")
    public = await other_tenant.create_task("public")
    await make_public(ctx, other_tenant, public)
    for task_id, callers in ((theirs, [tenant]), (public, [tenant, other_tenant])):
        before = await snapshot(ctx, task_id)
        for caller in callers:
            assert await caller.call("tasks.ping", task=task_id) == {}
        assert await snapshot(ctx, task_id) == before


async def test_public_task_is_visible_to_every_company(ctx: AppContext, tenant: Tenant,
                                                       other_tenant: Tenant) -> None:
    public = await other_tenant.create_task("shared task")
    await make_public(ctx, other_tenant, public)
    for caller in (tenant, other_tenant):
        task = (await caller.call("tasks.get_by_id", task=public))["task"]
        assert task["company"] == "" and task["company_origin"] == other_tenant.company
        listed = (await caller.call("tasks.get_all", id=[public], only_fields=["id", "company"]))["tasks"]
        assert listed == [{"id": public, "company": ""}]
    assert (await tenant.call("tasks.get_all", id=[public]))["tasks"][0].get("company_origin") is None


async def test_public_task_is_read_only(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    public = await other_tenant.create_task("public")
    await other_tenant.call("tasks.started", task=public)
    await make_public(ctx, other_tenant, public)
    before = await snapshot(ctx, public)
    for endpoint, extra in WRITES:
        for caller in (tenant, other_tenant):
            failure = await caller.fails(endpoint, task=public, **extra)
            assert (failure.status, failure.code, failure.subcode) == (403, 403, 21), endpoint
            assert failure.msg == \
                f"Forbidden (modification not allowed) (cannot modify public task(s), ids=('{public}',))"
    assert await snapshot(ctx, public) == before


async def test_public_task_as_parent(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    public = await other_tenant.create_task("public parent")
    await make_public(ctx, other_tenant, public)
    child = await tenant.create_task("child of public", parent=public)
    assert (await tenant.call("tasks.get_by_id", task=child))["task"]["parent"] == public


async def test_a_clone_of_a_foreign_public_child_is_not_linked_to_the_foreign_private_parent(
        ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    private_parent = await tenant.create_task("private parent")
    child = await tenant.create_task("public child", parent=private_parent)
    await make_public(ctx, tenant, child)
    copy_id = (await other_tenant.call("tasks.clone", task=child))["id"]
    copy = (await other_tenant.call("tasks.get_by_id", task=copy_id))["task"]
    assert copy["parent"] == child  # the task it was cloned from, which the cloning company can read


async def test_another_companys_children_never_block_or_receive_a_delete(
        ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    shared = await tenant.create_task("shared parent")
    await tenant.call("tasks.make_public", ids=[shared])
    foreign_child = await other_tenant.create_task("foreign child", parent=shared)
    for step in ("tasks.started", "tasks.completed", "tasks.publish"):
        await other_tenant.call(step, task=foreign_child)
    events_before = await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", foreign_child)
    await tenant.call("tasks.make_private", ids=[shared])
    # Not blocked by the other company's published child (400/123), and nothing written into it.
    assert (await tenant.call("tasks.delete", task=shared))["updated_children"] == 0
    assert await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", foreign_child) \
        == events_before
    assert (await other_tenant.call("tasks.get_by_id", task=foreign_child))["task"]["parent"] == shared


async def test_the_owners_own_children_are_still_orphaned_on_delete(tenant: Tenant) -> None:
    parent = await tenant.create_task("own parent")
    child = await tenant.create_task("own child", parent=parent)
    assert (await tenant.call("tasks.delete", task=parent))["updated_children"] == 1
    assert (await tenant.call("tasks.get_by_id", task=child))["task"]["parent"] == f"__DELETED__{parent}"
