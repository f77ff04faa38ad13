"""make_public / make_private (§2.5, §5.34) and move (§5.42) over HTTP, with their error paths."""

from __future__ import annotations

from taskstream.api.context import AppContext
from tests.conftest import Tenant


async def event_count(ctx: AppContext, stream_id: str) -> int:
    return int(await ctx.pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", stream_id))


async def task_doc(tenant: Tenant, task_id: str) -> dict:
    return (await tenant.call("tasks.get_by_id", task=task_id))["task"]


# make_public / make_private


async def test_make_public_shares_the_task_read_only_with_every_company(tenant: Tenant,
                                                                         other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    before = await task_doc(tenant, task_id)
    assert await tenant.call("tasks.make_public", ids=[task_id]) == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert task["company"] == "" and task["company_origin"] == tenant.company
    assert (task["last_change"], task["last_update"]) == (before["last_change"], before["last_update"])
    listed = (await other_tenant.call("tasks.get_all", id=[task_id], only_fields=["id", "company"]))["tasks"]
    assert listed == [{"id": task_id, "company": ""}]
    for caller in (tenant, other_tenant):
        failure = await caller.fails("tasks.edit", task=task_id, name="renamed")
        assert (failure.status, failure.subcode) == (403, 21)


async def test_make_private_restores_the_origin_company(tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    await tenant.call("tasks.make_public", ids=[task_id])
    failure = await other_tenant.fails("tasks.make_private", ids=[task_id])
    assert (failure.status, failure.subcode, failure.msg) == (400, 101, f"Invalid task id: ids=({task_id})")
    assert await tenant.call("tasks.make_private", ids=[task_id]) == {"updated": 1}
    task = await task_doc(tenant, task_id)
    assert task["company"] == tenant.company and "company_origin" not in task
    assert (await other_tenant.fails("tasks.get_by_id", task=task_id)).subcode == 101
    again = await tenant.fails("tasks.make_private", ids=[task_id])
    assert again.subcode == 101


async def test_make_public_of_any_invalid_id_changes_nothing(ctx: AppContext, tenant: Tenant,
                                                             other_tenant: Tenant) -> None:
    mine = await tenant.create_task()
    theirs = await other_tenant.create_task()
    already = await tenant.create_task()
    await tenant.call("tasks.make_public", ids=[already])
    failure = await tenant.fails("tasks.make_public", ids=[mine, theirs, already, "nope"])
    assert (failure.status, failure.subcode, failure.msg) == (
        400, 101, f"Invalid task id: ids=({theirs}, {already}, nope)")
    assert await event_count(ctx, mine) == 1
    assert (await task_doc(tenant, mine))["company"] == tenant.company
    empty = await tenant.fails("tasks.make_public", ids=[])
    assert empty.msg == "Validation error (value '[]' length is lower than allowed minimum '1'.)"
    missing = await tenant.fails("tasks.make_public")
    assert missing.msg == ("Validation error (error for field 'ids'. value '[]' length is lower than allowed "
                           "minimum '1'.)")


async def test_make_public_counts_distinct_tasks_and_needs_api_2_9(tenant: Tenant) -> None:
    first, second = await tenant.create_task(), await tenant.create_task()
    assert await tenant.call("tasks.make_public", ids=[first, second, first]) == {"updated": 2}
    old = await tenant.raw("/v2.8/tasks.make_public", {"ids": [first]})
    assert old.status_code == 404


async def test_visibility_and_move_are_named_events(ctx: AppContext, tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    await tenant.call("tasks.make_public", ids=[task_id])
    await tenant.call("tasks.make_private", ids=[task_id])
    await tenant.call("tasks.move", ids=[task_id], project_name="evented")
    await tenant.call("tasks.update_batch", task=task_id, comment="c")
    rows = await ctx.pool.fetch("SELECT type FROM events WHERE stream_id = $1 ORDER BY version", task_id)
    assert [r["type"] for r in rows] == ["TaskCreated", "TaskMadePublic", "TaskMadePrivate", "TaskMoved",
                                         "TaskUpdated"]


# move


async def test_move_to_a_project_by_id(tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="move target", description=""))["id"]
    task_id = await tenant.create_task()
    before = await task_doc(tenant, task_id)
    assert await tenant.call("tasks.move", ids=[task_id], project=project) == {"project_id": project}
    task = await task_doc(tenant, task_id)
    assert task["project"] == project
    assert task["last_change"] > before["last_change"] and task["last_update"] == before["last_update"]


async def test_move_by_project_name_creates_the_project_and_its_parents(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    project = (await tenant.call("tasks.move", ids=[task_id], project_name="/Alpha//Beta/Gamma/"))["project_id"]
    names = {p["name"]: p["id"] for p in (await tenant.call("projects.get_all"))["projects"]}
    assert {"Alpha", "Alpha/Beta", "Alpha/Beta/Gamma"} <= set(names)
    assert names["Alpha/Beta/Gamma"] == project
    assert (await task_doc(tenant, task_id))["project"] == project
    other = await tenant.create_task()
    again = await tenant.call("tasks.move", ids=[other], project_name="Alpha/Beta/Gamma")
    assert again == {"project_id": project}


async def test_move_project_wins_over_project_name(tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="winner", description=""))["id"]
    task_id = await tenant.create_task()
    response = await tenant.call("tasks.move", ids=[task_id], project=project, project_name="loser")
    assert response == {"project_id": project}
    names = [p["name"] for p in (await tenant.call("projects.get_all"))["projects"]]
    assert "loser" not in names


async def test_move_silently_skips_unknown_foreign_and_public_ids(ctx: AppContext, tenant: Tenant,
                                                                  other_tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="skip target", description=""))["id"]
    mine = await tenant.create_task()
    theirs = await other_tenant.create_task()
    public = await tenant.create_task()
    await tenant.call("tasks.make_public", ids=[public])
    response = await tenant.call("tasks.move", ids=[mine, theirs, public, "nope"], project=project)
    assert response == {"project_id": project}
    assert (await task_doc(tenant, mine))["project"] == project
    assert "project" not in await task_doc(other_tenant, theirs)
    assert "project" not in await task_doc(tenant, public)
    assert await event_count(ctx, theirs) == 1


async def test_move_errors(ctx: AppContext, tenant: Tenant, other_tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    neither = await tenant.fails("tasks.move", ids=[task_id])
    assert (neither.status, neither.subcode, neither.msg) == (
        400, 11, "Missing required fields (project or project_name is required)")
    foreign_project = (await other_tenant.call("projects.create", name="theirs", description=""))["id"]
    for project in ("nope", foreign_project):
        failure = await tenant.fails("tasks.move", ids=[task_id], project=project)
        assert (failure.subcode, failure.msg) == (401, f"Invalid project id: id={project}")
    slashes = await tenant.fails("tasks.move", ids=[task_id], project_name="///")
    assert (slashes.status, slashes.subcode) == (400, 407)
    deep = await tenant.fails("tasks.move", ids=[task_id], project_name="/".join("abcdefghijk"))
    assert deep.subcode == 409
    assert await event_count(ctx, task_id) == 1
    names = [p["name"] for p in (await tenant.call("projects.get_all"))["projects"]]
    assert names == []
    old = await tenant.raw("/v2.11/tasks.move", {"ids": [task_id], "project_name": "x"})
    assert old.json()["meta"]["result_code"] == 200
