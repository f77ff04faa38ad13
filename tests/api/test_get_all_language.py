"""The `get_all` / `get_all_ex` query language (tasks-behaviour.md §6), read back over HTTP."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.conftest import Tenant


def names(tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(t["name"] for t in tasks)


async def listed(tenant: Tenant, endpoint: str = "tasks.get_all", **body: Any) -> list[dict[str, Any]]:
    """The tenant's own tasks matching `body`. Why the user filter: public tasks of other tests are visible to
    every company (§2.5), so a test that counts results scopes them to its own user."""
    if "user" not in body and "id" not in body:
        body["user"] = [tenant.user]
    return list((await tenant.call(endpoint, **body))["tasks"])


async def report_scalar(tenant: Tenant, task_id: str, metric: str, variant: str, value: float, it: int) -> None:
    line = {"type": "training_stats_scalar", "task": task_id, "iter": it, "metric": metric, "variant": variant,
            "value": value}
    response = await tenant.raw("/events.add_batch", content=json.dumps(line).encode(),
                                headers={"Content-Type": "application/json-lines"})
    assert response.json()["meta"]["result_code"] == 200, response.json()


@pytest.fixture
async def tagged(tenant: Tenant) -> Tenant:
    """Tasks A{t1}, B{t1,t3}, C{t3}, D{} as in the §6.3b table."""
    for name, tags in (("A", ["t1"]), ("B", ["t1", "t3"]), ("C", ["t3"]), ("D", [])):
        await tenant.create_task(name * 3, tags=tags)
    return tenant


@pytest.mark.parametrize(("value", "expected"), [
    (["t1", "-t3"], "ABD"), (["-t3", "t1"], "ABD"), (["-t1", "-t3"], "D"), (["__$all", "t1", "__$not", "t3"], "A"),
    (["__$not", "t3", "t1"], "A"), (["t1", "__$not", "t3"], "ABD"), (["__$and", "t1", "t3"], "B"),
    (["__$or", "t1", "t3"], "ABC"), (["__$all", "t1", "-t3"], ""), ([None], "D"), (["-t1", None], "CD"),
    ([], "ABCD"), ("t3", "BC"),
])
async def test_list_filter_buckets(tagged: Tenant, value: Any, expected: str) -> None:
    assert "".join(n[0] for n in names(await listed(tagged, tags=value, only_fields=["name"]))) == expected


async def test_list_filters_on_scalar_fields(tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="lists", description=""))["id"]
    await tenant.create_task("in project", project=project)
    await tenant.create_task("testing", type="testing")
    await tenant.create_task("plain")
    assert names(await listed(tenant, project=[project])) == ["in project"]
    assert names(await listed(tenant, project=[None])) == ["plain", "testing"]
    assert names(await listed(tenant, type=["__$not", "testing", "__$not", "annotation"])) == ["in project", "plain"]
    assert names(await listed(tenant, status="created", type="testing")) == ["testing"]


async def test_hyperparams_list_filter(tenant: Tenant) -> None:
    for name, lr in (("slow", "0.01"), ("fast", "0.1")):
        await tenant.create_task(name, hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": lr}}})
    assert names(await listed(tenant, **{"hyperparams.Args.lr.value": ["0.1"]})) == ["fast"]
    assert names(await listed(tenant, **{"hyperparams.Args.lr.value": ["-0.1"]})) == ["slow"]


async def test_pattern_fields_are_case_sensitive_regexes(tenant: Tenant) -> None:
    await tenant.create_task("alpha one", comment="First Run")
    await tenant.create_task("Beta two", comment="second run")
    assert names(await listed(tenant, name="beta")) == []
    assert names(await listed(tenant, name="a t|one")) == ["Beta two", "alpha one"]
    assert names(await listed(tenant, comment="^sec")) == ["Beta two"]
    assert len(await listed(tenant, name="")) == 2
    failure = await tenant.fails("tasks.get_all", name="(unclosed")
    assert (failure.code, failure.subcode) == (400, 21)
    assert failure.msg.startswith("Malformed regular expression: err=")
    postgres_only = await tenant.fails("tasks.get_all", name="(?P<x>a)")
    assert (postgres_only.code, postgres_only.subcode) == (400, 21)


async def test_range_fields_and_their_errors(tenant: Tenant) -> None:
    low, high, idle = (await tenant.create_task("low"), await tenant.create_task("high"),
                       await tenant.create_task("idle"))
    await report_scalar(tenant, low, "loss", "total", 0.25, 3)
    await report_scalar(tenant, high, "loss", "total", 2.5, 30)
    await tenant.call("tasks.started", task=high)
    metric = f"last_metrics.{hashlib.md5(b'loss').hexdigest()}.{hashlib.md5(b'total').hexdigest()}.value"
    assert names(await listed(tenant, **{metric: [0.2, 1]})) == ["low"]
    assert names(await listed(tenant, **{metric: ["1", None]})) == ["high"]
    assert names(await listed(tenant, **{metric: [None, 1]})) == ["idle", "low"]
    assert names(await listed(tenant, last_iteration=[10, None])) == ["high"]
    assert names(await listed(tenant, started=["2000-01-01", None])) == ["high"]
    assert idle
    failure = await tenant.fails("tasks.get_all", last_iteration=[1])
    assert (failure.code, failure.subcode, failure.msg) == (
        400, 12, "Validation error (Min and max values should be specified for range field last_iteration)")
    failure = await tenant.fails("tasks.get_all", started=[None, None])
    assert failure.msg == "Validation error (At least one of min or max values should be provided for field started)"


async def test_datetime_constraints(tenant: Tenant) -> None:
    await tenant.create_task("old")
    created = (await listed(tenant, only_fields=["last_update"]))[0]["last_update"]
    assert names(await listed(tenant, last_update=[f">={created}"])) == ["old"]
    assert names(await listed(tenant, last_update=[f">{created}"])) == []
    assert names(await listed(tenant, last_update=[">2000-01-01", "<2100-01-01"])) == ["old"]
    assert names(await listed(tenant, last_update=[">2000-01-01", ">2100-01-01"])) == []
    assert names(await listed(tenant, last_update=["Jan 5 2001", None])) == ["old"]
    assert names(await listed(tenant, last_update=[None, "2001-01-05 10:00"])) == []
    assert names(await listed(tenant, last_update=[">1609459200", "<not a date"])) == ["old"]
    await tenant.call("tasks.started", task=(await listed(tenant, only_fields=["id"]))[0]["id"])
    changed = (await listed(tenant, only_fields=["status_changed"]))[0]["status_changed"]
    assert names(await listed(tenant, status_changed=[changed])) == ["old"]
    assert names(await listed(tenant, status_changed=f"<{changed}")) == []


async def test_multi_field_patterns(tenant: Tenant) -> None:
    await tenant.create_task("Alpha", comment="nothing", script={"repository": "git@host:repo.git"})
    await tenant.create_task("other", comment="ALPHA inside", tags=["x"])
    await tenant.create_task("third", tags=["alphabet"])
    assert names(await listed(tenant, _any_={"pattern": "alpha", "fields": ["name", "comment"]})) == [
        "Alpha", "other"]
    assert names(await listed(tenant, _or_={"pattern": "^alpha", "fields": ["tags"]})) == ["third"]
    assert names(await listed(tenant, _all_={"pattern": "alpha", "fields": ["name", "comment"]})) == []
    assert names(await listed(tenant, _and_={"pattern": "r", "fields": ["name", "script.repository"]})) == []
    assert len(await listed(tenant, _any_={"pattern": "x", "fields": []})) == 3
    failure = await tenant.fails("tasks.get_all", _any_="alpha")
    assert (failure.code, failure.subcode, failure.msg) == (
        400, 12, "Validation error (incorrect field format): field=_any_")


async def test_search_text_and_text_score(tenant: Tenant) -> None:
    await tenant.create_task("training the network", comment="resnet")
    await tenant.create_task("evaluate", script={"repository": "https://example.com/network.git",
                                                 "entry_point": "eval.py"})
    await tenant.create_task("unrelated")
    assert names(await listed(tenant, search_text="networks")) == ["evaluate", "training the network"]
    assert names(await listed(tenant, search_text="resnet unrelated")) == ["training the network", "unrelated"]
    assert names(await listed(tenant, search_text='"training the network" eval')) == ["training the network"]
    assert names(await listed(tenant, search_text='"network training"')) == []
    assert names(await listed(tenant, search_text="network -resnet")) == ["evaluate"]
    ranked = await listed(tenant, search_text="network", order_by=["@text_score"])
    assert [t["name"] for t in ranked] == ["training the network", "evaluate"]
    failure = await tenant.fails("tasks.get_all", order_by=["@text_score"])
    assert (failure.code, failure.subcode, failure.msg) == (
        400, 16, "Invalid value for fields (text score cannot be used in order_by when search text is not used)")


async def test_order_by_fields_numeric_hyperparams_and_empty_last(tenant: Tenant) -> None:
    for name, value in (("ten", "10"), ("nine", "9"), ("none", None), ("tenth", "0.1")):
        params = {} if value is None else {"Args": {"n": {"section": "Args", "name": "n", "value": value}}}
        await tenant.create_task(name, hyperparams=params, comment="" if value is None else value)
    order = [t["name"] for t in await listed(tenant, order_by=["hyperparams.Args.n.value"])]
    assert order == ["tenth", "nine", "ten", "none"]
    order = [t["name"] for t in await listed(tenant, order_by="-hyperparams.Args.n.value")]
    assert order == ["ten", "nine", "tenth", "none"]
    assert [t["name"] for t in await listed(tenant, order_by=["comment"])][-1] == "none"
    assert [t["name"] for t in await listed(tenant, order_by=["-name"])] == ["tenth", "ten", "none", "nine"]
    failure = await tenant.fails("tasks.get_all", order_by=["bogus"])
    assert (failure.code, failure.subcode, failure.msg) == (
        400, 14, 'Lookup error (probably an invalid field name or unsupported nested field): '
                 'err=Cannot resolve field "bogus"')


async def test_order_by_metric_values(tenant: Tenant) -> None:
    for name, value in (("bbb", 2.0), ("aaa", 10.0), ("ccc", -1.0)):
        await report_scalar(tenant, await tenant.create_task(name), "acc", "v", value, 1)
    await tenant.create_task("none")
    path = f"last_metrics.{hashlib.md5(b'acc').hexdigest()}.{hashlib.md5(b'v').hexdigest()}.value"
    assert [t["name"] for t in await listed(tenant, order_by=[path])] == ["ccc", "bbb", "aaa", "none"]
    assert [t["name"] for t in await listed(tenant, order_by=["-" + path])] == ["aaa", "bbb", "ccc", "none"]


async def test_paging(tenant: Tenant) -> None:
    for index in range(5):
        await tenant.create_task(f"task {index}")
    pages = [await listed(tenant, order_by=["name"], page=p, page_size=2) for p in range(3)]
    assert [[t["name"] for t in page] for page in pages] == [["task 0", "task 1"], ["task 2", "task 3"], ["task 4"]]
    assert [t["name"] for t in await listed(tenant, order_by=["name"], start=1, size=2)] == ["task 1", "task 2"]
    failure = await tenant.fails("tasks.get_all", page=-1, page_size=2)
    assert failure.msg == "Validation error (page must be >=0): field=page"
    failure = await tenant.fails("tasks.get_all", page_size=0)
    assert failure.msg == "Validation error (page_size must be >0): field=page_size"


async def test_scroll(tenant: Tenant) -> None:
    for index in range(5):
        await tenant.create_task(f"task {index}")
    failure = await tenant.fails("tasks.get_all_ex", scroll_id=None)
    assert failure.msg == ("Validation error (Integer size parameter greater than 1 should be provided "
                           "when working with scroll)")
    first = await tenant.call("tasks.get_all_ex", scroll_id=None, size=2, order_by=["name"], only_fields=["name"],
                               user=[tenant.user])
    scroll_id = first["scroll_id"]
    second = await tenant.call("tasks.get_all_ex", scroll_id=scroll_id, size=2, order_by=["name"], user=[tenant.user])
    third = await tenant.call("tasks.get_all", scroll_id=scroll_id, size=2, order_by=["name"], user=[tenant.user])
    end = await tenant.call("tasks.get_all", scroll_id=scroll_id, size=2, order_by=["name"], user=[tenant.user])
    assert [names(r["tasks"]) for r in (first, second, third, end)] == [
        ["task 0", "task 1"], ["task 2", "task 3"], ["task 4"], []]
    assert {second["scroll_id"], third["scroll_id"], end["scroll_id"]} == {scroll_id}
    refreshed = await tenant.call("tasks.get_all", scroll_id=scroll_id, size=2, refresh_scroll=True,
                                     user=[tenant.user])
    assert len(refreshed["tasks"]) == 5
    fresh = await tenant.call("tasks.get_all", scroll_id="unknown", size=3, order_by=["name"],
                                user=[tenant.user])
    assert fresh["scroll_id"] != "unknown" and names(fresh["tasks"]) == ["task 0", "task 1", "task 2"]


async def test_projection(tenant: Tenant) -> None:
    await tenant.create_task("projected", execution={"framework": "torch"}, tags=["a"],
                             hyperparams={"Args": {"lr": {"section": "Args", "name": "lr", "value": "1"}}})
    task = (await listed(tenant, only_fields=["name", "execution.framework", "script.nothing"]))[0]
    assert task == {"name": "projected", "execution": {"framework": "torch"}, "script": {}}
    task = (await listed(tenant, only_fields=["-execution", "-hyperparams.Args.lr", "-tags"]))[0]
    assert "execution" not in task and "tags" not in task and task["hyperparams"] == {"Args": {}}
    assert "unique_metrics" not in task and "id" in task
    task = (await listed(tenant, only_fields=["execution.parameters"]))[0]
    assert task["hyperparams"]["Args"]["lr"]["value"] == "1"
    assert "unique_metrics" in (await listed(tenant, only_fields=["unique_metrics"]))[0]
    failure = await tenant.fails("tasks.get_all", only_fields=["project.name"])
    assert failure.msg == ('Lookup error (probably an invalid field name or unsupported nested field): '
                           'err=Cannot resolve field "project.name"')
    failure = await tenant.fails("tasks.get_all", only_fields="id")
    assert (failure.code, failure.subcode) == (400, 14)
    failure = await tenant.fails("tasks.get_all_ex", only_fields=["x", "name"])
    assert failure.msg == "Fields not defined for object: fields=(x), object=Task"
    everything = (await listed(tenant, "tasks.get_all_ex", only_fields=["*"]))[0]
    assert "unique_metrics" in everything and everything["name"] == "projected"
    assert (await listed(tenant, "tasks.get_all_ex", only_fields=["name"]))[0].keys() == {"id", "name"}


async def test_ex_reference_expansion_and_joins(tenant: Tenant) -> None:
    project = (await tenant.call("projects.create", name="Parent", description="the project"))["id"]
    parent = await tenant.create_task("alpha one", project=project)
    child = await tenant.create_task("child", project=project, parent=parent)
    plain = (await listed(tenant, id=[child], only_fields=["project", "parent", "user"]))[0]
    assert plain["project"] == project and "id" not in plain
    task = (await listed(tenant, "tasks.get_all_ex", id=[child],
                         only_fields=["project.name", "parent.name", "user.name", "company"]))[0]
    assert task["project"] == {"id": project, "name": "Parent"}
    assert task["parent"] == {"id": parent, "name": "alpha one"}
    assert task["user"] == {"id": tenant.user, "name": "tests"}
    assert task["company"] == {"id": tenant.company} and task["id"] == child
    full = (await listed(tenant, "tasks.get_all_ex", id=[child], only_fields=["project.*"]))[0]
    assert full["project"]["description"] == "the project" and full["project"]["id"] == project
    by_id = await tenant.call("tasks.get_by_id_ex", id=child, only_fields=["parent.name"])
    assert by_id["tasks"] == [{"id": child, "parent": {"id": parent, "name": "alpha one"}}]
    failure = await tenant.fails("tasks.get_by_id_ex", only_fields=["name"])
    assert (failure.code, failure.subcode, failure.msg) == (400, 11, "Missing required fields: missing=(id)")


async def test_include_subprojects(tenant: Tenant) -> None:
    top = (await tenant.call("projects.create", name="top", description=""))["id"]
    sub = (await tenant.call("projects.create", name="top/sub", description=""))["id"]
    await tenant.create_task("in top", project=top)
    await tenant.create_task("in sub", project=sub)
    assert names(await listed(tenant, "tasks.get_all_ex", project=[top], include_subprojects=True)) == [
        "in sub", "in top"]
    assert names(await listed(tenant, "tasks.get_all_ex", project=[top])) == ["in top"]
    assert names(await listed(tenant, project=[top], include_subprojects=True)) == ["in top"]


async def test_hidden_tasks_and_company_scope(tenant: Tenant, other_tenant: Tenant) -> None:
    hidden = await tenant.create_task("hidden", system_tags=["hidden"])
    await tenant.create_task("shown")
    await other_tenant.create_task("foreign")
    assert names(await listed(tenant)) == ["shown"]
    assert names(await listed(tenant, search_hidden=True)) == ["hidden", "shown"]
    assert names(await listed(tenant, id=[hidden])) == ["hidden"]
    assert names((await tenant.call("tasks.get_by_id_ex", id=[hidden]))["tasks"]) == ["hidden"]
    assert names(await listed(other_tenant)) == ["foreign"]


async def test_unknown_keys_are_ignored(tenant: Tenant) -> None:
    await tenant.create_task("kept")
    assert names(await listed(tenant, foo="bar", created="x", last_worker="w")) == ["kept"]
