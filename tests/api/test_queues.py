"""The queues service (clients.md §4, tasks-behaviour.md §8): default queue, create/get/delete, add/remove,
get_next_task FIFO and exactly-once claims (G10), and FIFO order rebuilt from the log."""

from __future__ import annotations

import asyncio

from taskstream.api.context import AppContext
from taskstream.commands.evolve import evolve
from taskstream.commands.store import read_stream
from taskstream.projections.queue_read_model import QueueReadModel
from tests.conftest import Tenant


async def queued_tasks(tenant: Tenant, queue_id: str, count: int) -> list[str]:
    tasks = []
    for index in range(count):
        task_id = await tenant.create_task(f"queued {index}")
        await tenant.call("tasks.enqueue", task=task_id, queue=queue_id)
        tasks.append(task_id)
    return tasks


async def entries(tenant: Tenant, queue_id: str) -> list[str]:
    queue = (await tenant.call("queues.get_by_id", queue=queue_id))["queue"]
    return [e["task"] for e in queue["entries"]]


async def test_fresh_company_sees_its_default_queue(tenant: Tenant) -> None:
    queues = (await tenant.call("queues.get_all"))["queues"]
    assert [(q["name"], q["system_tags"], q["entries"]) for q in queues] == [("default", ["default"], [])]
    assert await tenant.call("queues.get_default") == {"id": queues[0]["id"], "name": "default"}


async def test_concurrent_first_calls_provision_one_default_queue(tenant: Tenant) -> None:
    await asyncio.gather(*(tenant.call("queues.get_all") for _ in range(8)),
                         *(tenant.call("queues.get_default") for _ in range(4)))
    queues = (await tenant.call("queues.get_all", name="^default$"))["queues"]
    assert len(queues) == 1


async def test_get_all_filters_by_name_regex_and_ids_with_only_fields(tenant: Tenant) -> None:
    alpha = (await tenant.call("queues.create", name="q-alpha", tags=["gpu"]))["id"]
    beta = (await tenant.call("queues.create", name="q-beta", system_tags=["x"]))["id"]
    by_name = await tenant.call("queues.get_all", name="^q\\-alpha$", only_fields=["id"], search_hidden=False)
    assert by_name == {"queues": [{"id": alpha}]}
    by_id = await tenant.call("queues.get_all", id=[beta], only_fields=["name", "id"])
    assert by_id == {"queues": [{"id": beta, "name": "q-beta"}]}
    unanchored = await tenant.call("queues.get_all", name="q\\-", only_fields=["name"])
    assert [q["name"] for q in unanchored["queues"]] == ["q-alpha", "q-beta"]
    tagged = await tenant.call("queues.get_all", tags=["gpu"], only_fields=["id"])
    assert tagged["queues"] == [{"id": alpha}]


async def test_get_all_rejects_a_bad_regex_and_an_unknown_field(tenant: Tenant) -> None:
    assert (await tenant.fails("queues.get_all", name="(")).subcode == 21
    assert (await tenant.fails("queues.get_all", only_fields=["nope"])).subcode == 14


async def test_create_rejects_duplicate_and_short_names(tenant: Tenant) -> None:
    await tenant.call("queues.create", name="twice")
    duplicate = await tenant.fails("queues.create", name="twice")
    assert (duplicate.status, duplicate.subcode) == (400, 705)
    short = await tenant.fails("queues.create", name="ab")
    assert (short.status, short.subcode) == (400, 800)


async def test_get_by_id_of_unknown_id_or_name_is_4xx_with_a_data_object(tenant: Tenant) -> None:
    response = await tenant.raw("/v2.23/queues.get_by_id", {"queue": "default"})
    body = response.json()
    assert response.status_code == 400
    assert (body["meta"]["result_subcode"], body["data"]) == (701, {})
    assert body["meta"]["result_msg"] == f"Invalid queue id: id=default, company={tenant.company}"


async def test_get_next_task_pops_in_fifo_order_and_leaves_the_task_queued(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="fifo"))["id"]
    tasks = await queued_tasks(tenant, queue_id, 3)
    assert await entries(tenant, queue_id) == tasks
    first = await tenant.call("queues.get_next_task", queue=queue_id)
    assert first["entry"]["task"] == tasks[0] and isinstance(first["entry"]["added"], str)
    assert (await tenant.call("tasks.get_by_id", task=tasks[0]))["task"]["status"] == "queued"
    assert await entries(tenant, queue_id) == tasks[1:]
    assert (await tenant.call("queues.get_next_task", queue=queue_id))["entry"]["task"] == tasks[1]
    assert (await tenant.call("queues.get_next_task", queue=queue_id))["entry"]["task"] == tasks[2]


async def test_get_next_task_of_an_empty_queue_answers_an_empty_object(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="empty"))["id"]
    response = await tenant.raw("/v2.14/queues.get_next_task", {"queue": queue_id})
    assert response.json()["data"] == {}
    missing = await tenant.fails("queues.get_next_task", queue="missing")
    assert (missing.status, missing.subcode) == (400, 701)


async def test_get_next_task_with_task_info(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="info"))["id"]
    await queued_tasks(tenant, queue_id, 1)
    result = await tenant.call("queues.get_next_task", queue=queue_id, get_task_info=True)
    assert result["task_info"] == {"company": tenant.company, "user": tenant.user}


async def test_g10_fifty_concurrent_claimers_on_twenty_tasks_get_twenty_distinct(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="claims"))["id"]
    tasks = await queued_tasks(tenant, queue_id, 20)
    results = await asyncio.gather(*(tenant.call("queues.get_next_task", queue=queue_id) for _ in range(50)))
    claimed = [r["entry"]["task"] for r in results if r]
    assert sorted(claimed) == sorted(tasks)
    assert len(set(claimed)) == 20
    assert results.count({}) == 30
    assert await entries(tenant, queue_id) == []


async def test_fifo_order_survives_replay(ctx: AppContext, tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="replayed"))["id"]
    tasks = await queued_tasks(tenant, queue_id, 5)
    await tenant.call("tasks.dequeue", task=tasks[1])
    await tenant.call("queues.get_next_task", queue=queue_id)
    await tenant.call("tasks.enqueue", task=tasks[1], queue=queue_id)
    live = await entries(tenant, queue_id)
    assert live == [tasks[2], tasks[3], tasks[4], tasks[1]]
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE queues_replay (LIKE queues INCLUDING ALL) ON COMMIT DROP")
        await conn.execute("CREATE TEMP TABLE entries_replay (LIKE queue_entries INCLUDING ALL) ON COMMIT DROP")
        model = QueueReadModel("queues_replay", "entries_replay")
        doc, version = None, 0
        for recorded in await read_stream(conn, queue_id):
            doc = evolve(doc, recorded.event())
            await model.project(conn, queue_id, recorded.version, doc)
            await model.project_events(conn, queue_id, version, [recorded.event()])
            version = recorded.version
        rebuilt = await conn.fetch("SELECT task, added FROM entries_replay ORDER BY position")
        live_rows = await conn.fetch("SELECT task, added FROM queue_entries WHERE queue = $1 ORDER BY position",
                                     queue_id)
        assert [tuple(r) for r in rebuilt] == [tuple(r) for r in live_rows]
        assert [r["task"] for r in rebuilt] == live
        replayed_doc = await conn.fetchval("SELECT doc FROM queues_replay WHERE id = $1", queue_id)
        live_doc = await conn.fetchval("SELECT doc FROM queues WHERE id = $1", queue_id)
        assert replayed_doc == live_doc


async def test_add_task_and_remove_task_change_only_the_queue(tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="manual"))["id"]
    task_id = await tenant.create_task("manual task")
    assert await tenant.call("queues.add_task", queue=queue_id, task=task_id) == {"added": 1}
    assert await entries(tenant, queue_id) == [task_id]
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"] == "created"
    again = await tenant.fails("queues.add_task", queue=queue_id, task=task_id)
    assert (again.status, again.subcode) == (400, 706)
    assert await tenant.call("queues.remove_task", queue=queue_id, task=task_id) == {"removed": 1}
    absent = await tenant.fails("queues.remove_task", queue=queue_id, task=task_id)
    assert (absent.status, absent.subcode) == (400, 703)
    assert (await tenant.fails("queues.add_task", queue=queue_id, task="missing")).subcode == 101
    assert (await tenant.fails("queues.add_task", queue="missing", task=task_id)).subcode == 701


async def test_delete_queue_empty_nonempty_and_forced(tenant: Tenant) -> None:
    empty = (await tenant.call("queues.create", name="to delete"))["id"]
    assert await tenant.call("queues.delete", queue=empty) == {"deleted": 1}
    assert (await tenant.fails("queues.get_by_id", queue=empty)).subcode == 701
    assert (await tenant.fails("queues.delete", queue=empty)).subcode == 701
    busy = (await tenant.call("queues.create", name="busy"))["id"]
    stopped = await tenant.create_task("was stopped")
    await tenant.call("tasks.started", task=stopped)
    await tenant.call("tasks.stopped", task=stopped)
    await tenant.call("tasks.enqueue", task=stopped, queue=busy)
    created = (await queued_tasks(tenant, busy, 1))[0]
    refused = await tenant.fails("queues.delete", queue=busy)
    assert (refused.status, refused.subcode) == (400, 702)
    assert await entries(tenant, busy) == [stopped, created]
    assert await tenant.call("queues.delete", queue=busy, force=True) == {"deleted": 1}
    for task_id, status in ((stopped, "stopped"), (created, "created")):
        task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
        assert (task["status"], task["status_reason"]) == (status, "Queue was deleted")
        assert "enqueue_status" not in task


async def test_queues_of_another_company_are_invisible(tenant: Tenant, other_tenant: Tenant) -> None:
    queue_id = (await tenant.call("queues.create", name="private"))["id"]
    assert (await other_tenant.fails("queues.get_by_id", queue=queue_id)).subcode == 701
    assert (await other_tenant.fails("queues.get_next_task", queue=queue_id)).subcode == 701
    assert (await other_tenant.fails("queues.delete", queue=queue_id)).subcode == 701
    task_id = await other_tenant.create_task("other task")
    assert (await other_tenant.fails("tasks.enqueue", task=task_id, queue=queue_id)).subcode == 701
    assert queue_id not in [q["id"] for q in (await other_tenant.call("queues.get_all"))["queues"]]


async def test_deleted_default_queue_is_not_recreated(tenant: Tenant) -> None:
    default = await tenant.call("queues.get_default")
    await tenant.call("queues.delete", queue=default["id"])
    assert (await tenant.fails("queues.get_default")).subcode == 707
    task_id = await tenant.create_task("no default")
    failure = await tenant.fails("tasks.enqueue", task=task_id)
    assert (failure.status, failure.subcode) == (400, 707)
    assert (await tenant.call("queues.get_all"))["queues"] == []


async def test_two_default_queues_are_refused(tenant: Tenant) -> None:
    await tenant.call("queues.get_default")
    await tenant.call("queues.create", name="second default", system_tags=["default"])
    assert (await tenant.fails("queues.get_default")).subcode == 708
    task_id = await tenant.create_task("ambiguous")
    assert (await tenant.fails("tasks.enqueue", task=task_id)).subcode == 708
