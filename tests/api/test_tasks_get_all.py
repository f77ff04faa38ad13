"""tasks.get_all (§6): list filters with `-x` and the `__$` operators (the observed table of §6.3b), pattern and
scalar filters, only_fields, order_by, paging with the 500 cap, hidden tasks, unknown keys."""

from __future__ import annotations

from typing import Any

from taskstream.api.context import AppContext
from taskstream.commands.decide_task import decide_create
from taskstream.commands.handlers.unit_of_work import run_command
from taskstream.commands.messages import CreateTask
from taskstream.commands.session import CommandSession
from taskstream.schemas.clock import utc_now
from taskstream.schemas.ids import new_id
from tests.conftest import Tenant

# tasks-behaviour.md §6.3b, observed with A{t1}, B{t1,t3}, C{t3}, D{}.
TAGS_TABLE: list[tuple[list[Any], set[str]]] = [
    (["t1", "-t3"], {"A", "B", "D"}),
    (["-t3", "t1"], {"A", "B", "D"}),
    (["-t1", "-t3"], {"D"}),
    (["__$all", "t1", "__$not", "t3"], {"A"}),
    (["__$not", "t3", "t1"], {"A"}),
    (["t1", "__$not", "t3"], {"A", "B", "D"}),
    (["__$and", "t1", "t3"], {"B"}),
    (["__$or", "t1", "t3"], {"A", "B", "C"}),
    (["__$any", "t1", "t3"], {"A", "B", "C"}),
    (["__$all", "t1", "-t3"], set()),
    ([None], {"D"}),
    (["-t1", None], {"C", "D"}),
    ([], {"A", "B", "C", "D"}),
    (["t1"], {"A", "B"}),
    ("t3", {"B", "C"}),
]


async def names(tenant: Tenant, **query: Any) -> list[str]:
    """Names of the tenant's own tasks matching the query (public tasks of other tests are visible to everyone)."""
    query.setdefault("user", [tenant.user])
    tasks = (await tenant.call("tasks.get_all", only_fields=["name"], **query))["tasks"]
    return [t["name"] for t in tasks]


async def test_tags_filter_table(tenant: Tenant) -> None:
    for name, tags in (("A", ["t1"]), ("B", ["t1", "t3"]), ("C", ["t3"]), ("D", [])):
        await tenant.create_task(f"{name}__", tags=tags, system_tags=tags)
    for value, expected in TAGS_TABLE:
        for field in ("tags", "system_tags"):
            got = {n[0] for n in await names(tenant, **{field: value})}
            assert got == expected, (field, value)


async def test_scalar_list_filters(tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="filters"))["id"]
    parent = await tenant.create_task("parent", type="controller")
    first = await tenant.create_task("first", type="training", project=project, parent=parent)
    second = await tenant.create_task("second", type="testing", project=project)
    await tenant.call("tasks.started", task=second)
    assert await names(tenant, id=first) == ["first"]
    assert sorted(await names(tenant, id=[first, second])) == ["first", "second"]
    assert sorted(await names(tenant, user=[tenant.user])) == ["first", "parent", "second"]
    assert await names(tenant, user=["someone-else"]) == []
    assert sorted(await names(tenant, project=[project])) == ["first", "second"]
    assert await names(tenant, project=[None]) == ["parent"]
    assert await names(tenant, parent=[parent]) == ["first"]
    assert await names(tenant, type=["testing"]) == ["second"]
    assert sorted(await names(tenant, type=["__$not", "testing", "__$not", "controller"])) == ["first"]
    assert await names(tenant, status=["in_progress"]) == ["second"]
    assert sorted(await names(tenant, status=["-in_progress"])) == ["first", "parent"]
    assert sorted(await names(tenant, status="created", type=["training", "controller"])) == ["first", "parent"]


async def test_name_pattern_filter(tenant: Tenant) -> None:
    for name in ("Beta two", "alpha beta", "gamma"):
        await tenant.create_task(name, comment=f"about {name}")
    assert await names(tenant, name="beta") == ["alpha beta"], "unanchored and case-sensitive"
    assert sorted(await names(tenant, name="^(Beta|gamma)")) == ["Beta two", "gamma"]
    assert len(await names(tenant, name="")) == 3
    assert await names(tenant, comment="about g") == ["gamma"]
    failure = await tenant.fails("tasks.get_all", name="(unclosed")
    assert (failure.status, failure.subcode) == (400, 21)
    assert failure.msg.startswith("Malformed regular expression: err=")


async def test_hyperparams_filter(tenant: Tenant) -> None:
    for name, lr in (("slow lr", "0.01"), ("fast lr", "0.1")):
        await tenant.create_task(name, hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": lr}}})
    assert await names(tenant, **{"hyperparams.Args.lr.value": ["0.1"]}) == ["fast lr"]
    assert await names(tenant, **{"hyperparams.Args.lr.value": ["-0.1"]}) == ["slow lr"]


async def test_only_fields_projection(tenant: Tenant) -> None:
    task_id = await tenant.create_task("projected", execution={"framework": "torch"}, script={"repository": "r"})
    [task] = (await tenant.call("tasks.get_all", id=[task_id],
                                only_fields=["name", "execution.framework", "script.branch"]))["tasks"]
    assert task == {"name": "projected", "execution": {"framework": "torch"}, "script": {}}, "no id unless asked"
    [task] = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["-execution", "-script", "-hyperparams"]))[
        "tasks"]
    assert "execution" not in task and "script" not in task and task["name"] == "projected"
    [task] = (await tenant.call("tasks.get_all", id=[task_id], projection=["id"], only_fields=["name"]))["tasks"]
    assert task == {"id": task_id}, "projection takes precedence"


async def test_default_exclusions(tenant: Tenant) -> None:
    task_id = await tenant.create_task("exclusions")
    [task] = (await tenant.call("tasks.get_all", id=[task_id]))["tasks"]
    assert "unique_metrics" not in task and task["id"] == task_id and task["execution"]["artifacts"] == []
    [task] = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["unique_metrics"]))["tasks"]
    assert task == {"unique_metrics": []}
    assert "unique_metrics" in (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def test_only_fields_errors(tenant: Tenant) -> None:
    failure = await tenant.fails("tasks.get_all", only_fields=["id", "nope"])
    assert (failure.status, failure.subcode) == (400, 14)
    assert failure.msg == 'Lookup error (probably an invalid field name or unsupported nested field): ' \
                          'err=Cannot resolve field "nope"'
    assert (await tenant.fails("tasks.get_all", only_fields="id")).subcode == 14
    assert (await tenant.fails("tasks.get_all", only_fields=["project.name"])).subcode == 14


async def test_order_by(tenant: Tenant) -> None:
    ids = {name: await tenant.create_task(name, comment=comment)
           for name, comment in (("bbb", "2"), ("aaa", None), ("ccc", "1"), ("Aaa", "3"))}
    assert await names(tenant, order_by="name") == ["Aaa", "aaa", "bbb", "ccc"], "code point order"
    assert await names(tenant, order_by=["-name"]) == ["ccc", "bbb", "aaa", "Aaa"]
    assert await names(tenant, order_by=["comment"]) == ["ccc", "bbb", "Aaa", "aaa"], "empty values last"
    await tenant.call("tasks.started", task=ids["ccc"])
    assert await names(tenant, order_by=["-status", "name"]) == ["ccc", "Aaa", "aaa", "bbb"]
    tied = [t["id"] for t in (await tenant.call("tasks.get_all", order_by=["status"], only_fields=["id"],
                                                status=["created"], user=[tenant.user]))["tasks"]]
    assert tied == sorted(tied), "id is the last sort key"
    failure = await tenant.fails("tasks.get_all", order_by=["-nope"])
    assert (failure.subcode, failure.msg) == \
        (14, 'Lookup error (probably an invalid field name or unsupported nested field): err=Cannot resolve field '
             '"nope"')
    assert (await tenant.fails("tasks.get_all", order_by=["@text_score"])).subcode == 16


async def bulk_create(ctx: AppContext, tenant: Tenant, count: int) -> None:
    """`count` tasks in one command transaction (the API path is tested elsewhere; this is only data)."""

    async def work(session: CommandSession) -> dict[str, Any]:
        for i in range(count):
            task_id = new_id()
            events = decide_create(CreateTask({"name": f"bulk {i:04d}", "type": "training"}), task_id,
                                   tenant.company, tenant.user, utc_now())
            await session.save("task", await session.load("task", task_id, lock=False), events)
        return {}

    await run_command(ctx.commands, tenant.company, {"company": tenant.company, "user": tenant.user}, work)


async def test_paging_and_the_500_cap(ctx: AppContext, tenant: Tenant) -> None:
    await bulk_create(ctx, tenant, 503)
    mine = {"only_fields": ["id"], "user": [tenant.user]}
    assert len((await tenant.call("tasks.get_all", **mine))["tasks"]) == 500, "default page size"
    assert len((await tenant.call("tasks.get_all", page_size=1000, **mine))["tasks"]) == 500
    assert len((await tenant.call("tasks.get_all", page=1, **mine))["tasks"]) == 3
    pages = [await names(tenant, order_by=["name"], page=page, page_size=200) for page in range(3)]
    assert [len(p) for p in pages] == [200, 200, 103]
    assert sum(pages, []) == [f"bulk {i:04d}" for i in range(503)]
    assert await names(tenant, order_by=["-name"], page=1, page_size=2) == ["bulk 0500", "bulk 0499"]
    failure = await tenant.fails("tasks.get_all", page=-1)
    assert (failure.subcode, failure.msg) == (12, "Validation error (page must be >=0): field=page")
    failure = await tenant.fails("tasks.get_all", page_size=0)
    assert (failure.subcode, failure.msg) == (12, "Validation error (page_size must be >0): field=page_size")


async def test_hidden_tasks_and_unknown_keys(tenant: Tenant) -> None:
    hidden = await tenant.create_task("hidden one", system_tags=["hidden"])
    await tenant.create_task("visible one")
    assert await names(tenant) == ["visible one"]
    assert sorted(await names(tenant, search_hidden=True)) == ["hidden one", "visible one"]
    assert await names(tenant, id=[hidden]) == ["hidden one"]
    assert await names(tenant, created="2020-01-01", foo="bar", last_worker="x") == ["visible one"]


async def test_status_lists_page_like_one_filter(tenant: Tenant) -> None:
    """A plain status list is read one partition per status (migration 013) and merged: every page, order and
    repeated status gives the rows one filter would, in the same order; other status filters stay filters."""
    statuses = {}
    for i in range(9):
        task = await tenant.create_task(f"task {i}", comment=str(i % 4))
        if i % 3:
            await tenant.call("tasks.started", task=task)
        if i % 3 == 2:
            await tenant.call("tasks.stopped", task=task)
        statuses[f"task {i}"] = ("created", "in_progress", "stopped")[i % 3]
    everything = await names(tenant, order_by=["-last_update"])
    for order in (["-last_update"], ["comment", "-name"], ["name"]):
        ordered = await names(tenant, order_by=order)
        for wanted in (["created", "stopped"], ["stopped", "created", "stopped"], ["in_progress"], "stopped"):
            listed = [wanted] if isinstance(wanted, str) else wanted
            expected = [n for n in ordered if statuses[n] in listed]
            assert await names(tenant, status=wanted, order_by=order) == expected, (order, wanted)
            pages = [await names(tenant, status=wanted, order_by=order, page=p, page_size=2) for p in range(4)]
            assert sum(pages, []) == expected, (order, wanted)
    assert await names(tenant, status=["-created"], order_by=["-last_update"]) == \
        [n for n in everything if statuses[n] != "created"]
    assert await names(tenant, status=["created", None], order_by=["-last_update"]) == \
        [n for n in everything if statuses[n] == "created"]
