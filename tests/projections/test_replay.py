"""G6: replay rebuilds read models equal to the live ones, byte for byte after canonical ordering, also while
writers keep writing; `--to-position` rebuilds the past beside the live model."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskstream.api.context import AppContext
from taskstream.commands import store
from taskstream.commands.store import head_position, snapshot_of_log
from taskstream.projections import replay_streams
from taskstream.projections.audit import AuditTrail
from taskstream.projections.replay import replay, replay_model
from taskstream.projections.subscription import LogSubscription
from tests.conftest import ApiFailure, Tenant

MODELS = {"tasks": ("tasks",), "projects": ("projects",), "queues": ("queues", "queue_entries"),
          "audit": ("task_audit", "audit_task_state")}


async def snapshot(conn: asyncpg.Connection, tables: tuple[str, ...]) -> dict[str, list[str]]:
    """Every row as JSON text, in canonical (text) order."""
    return {t: [r[0] for r in await conn.fetch(f"SELECT row_to_json(x)::text AS j FROM {t} x ORDER BY 1")]
            for t in tables}


async def _all_tables(ctx: AppContext) -> dict[str, list[str]]:
    async with ctx.pool.acquire() as conn:
        return await snapshot(conn, tuple(t for tables in MODELS.values() for t in tables))


OPS = ("create", "edit", "started", "stopped", "failed", "reset", "enqueue", "dequeue", "publish", "completed",
       "delete", "archive", "hyper", "ping", "stop")


async def apply_op(tenant: Tenant, tasks: list[str], queue: str, op: str, pick: int,
                   project: str | None = None) -> None:
    """One client call; a rejected one (invalid transition, deleted task) writes nothing and is fine. A task created
    with an odd `pick` goes into `project`, the others into none, so replay rebuilds both kinds of rows."""
    if op == "create" or not tasks:
        tasks.append(await tenant.create_task(f"g6-{len(tasks)}", project=project if pick % 2 else None))
        return
    task = tasks[pick % len(tasks)]
    body: dict[str, Any] = {"task": task}
    endpoint = {"edit": "tasks.edit", "hyper": "tasks.edit_hyper_params", "archive": "tasks.archive"}.get(
        op, f"tasks.{op}")
    if op == "edit":
        body.update(comment=f"c{pick}", tags=[f"t{pick % 3}"])
    elif op == "enqueue":
        body["queue"] = queue
    elif op == "hyper":
        body["hyperparams"] = [{"section": "s", "name": f"p{pick % 4}", "value": str(pick)}]
    elif op == "archive":
        body = {"tasks": [task]}
    elif op in ("started", "stopped", "failed", "stop", "completed"):
        body["force"] = pick % 5 == 0
    try:
        await tenant.call(endpoint, **body)
    except ApiFailure as failure:
        assert failure.status < 500, failure


async def _queue(tenant: Tenant) -> str:
    return str((await tenant.call("queues.create", name=f"g6-{tenant.company[:8]}"))["id"])


async def _catch_up_audit(ctx: AppContext) -> None:
    await LogSubscription(ctx.pool, AuditTrail()).catch_up()


async def test_replay_of_every_model_equals_the_live_one(ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    queue = await _queue(tenant)
    tasks: list[str] = []
    project = str((await tenant.call("projects.create", name="g6/nested/project"))["id"])
    for i, op in enumerate(OPS * 3):
        await apply_op(tenant, tasks, queue, op, i * 7, project)
    await _catch_up_audit(ctx)
    before = await _all_tables(ctx)

    results = await replay(database_url, list(MODELS), progress=False)

    assert [r.swapped for r in results] == [True] * len(MODELS)
    assert await _all_tables(ctx) == before
    rebuilt = await ctx.pool.fetch("SELECT project FROM tasks WHERE id = ANY($1)", tasks)
    assert {r["project"] for r in rebuilt} == {project, None}, "tasks in the project and tasks in none"
    assert (await tenant.call("tasks.get_all", id=tasks))["tasks"]
    await apply_op(tenant, tasks, queue, "edit", 1)
    await _catch_up_audit(ctx)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50)), min_size=1, max_size=25))
async def test_random_command_sequences_rebuild_to_the_live_models(
        ctx: AppContext, tenant: Tenant, database_url: str, ops: list[tuple[str, int]]) -> None:
    queue = await _queue(tenant) if not hasattr(tenant, "g6_queue") else tenant.g6_queue  # type: ignore[attr-defined]
    tenant.g6_queue = queue  # type: ignore[attr-defined]
    if not hasattr(tenant, "g6_project"):
        tenant.g6_project = (await tenant.call("projects.create", name="g6"))["id"]  # type: ignore[attr-defined]
    tasks: list[str] = []
    for op, pick in ops:
        await apply_op(tenant, tasks, queue, op, pick, tenant.g6_project)  # type: ignore[attr-defined]
    before = await _all_tables(ctx)

    await replay(database_url, ["tasks", "queues", "projects"], progress=False)

    after = await _all_tables(ctx)
    assert {t: after[t] for t in after if not t.startswith(("task_audit", "audit"))} == \
        {t: before[t] for t in before if not t.startswith(("task_audit", "audit"))}


@pytest.mark.parametrize("parts", [1, 3])
async def test_replay_in_parts_with_streams_over_several_rows_equals_the_live_one(
        ctx: AppContext, tenant: Tenant, database_url: str, monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    monkeypatch.setattr(store, "STREAM_ROW_EVENTS", 2)
    monkeypatch.setattr(replay_streams, "PARTS", parts)
    queue = await _queue(tenant)
    tasks: list[str] = []
    for i, op in enumerate(OPS * 2):
        await apply_op(tenant, tasks, queue, op, i * 5)
    await ctx.pool.execute("ANALYZE events")
    async with ctx.pool.acquire() as conn, snapshot_of_log(conn) as log:
        assert len(await log.stream_bounds(parts)) == parts - 1, "the log splits into `parts` parts"
    before = await _all_tables(ctx)

    assert (await replay_model(database_url, "tasks", progress=False)).swapped

    assert await _all_tables(ctx) == before


async def test_replay_while_writers_write_ends_equal_to_the_log(
        ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    queue = await _queue(tenant)
    tasks: list[str] = []
    for i in range(40):
        await apply_op(tenant, tasks, queue, "create" if i % 4 == 0 else OPS[i % len(OPS)], i)
    stop = asyncio.Event()

    async def writer(seed: int) -> None:
        i = seed
        while not stop.is_set():
            await apply_op(tenant, tasks, queue, OPS[i % len(OPS)], i)
            i += 3

    writers = [asyncio.create_task(writer(s)) for s in range(3)]
    try:
        for _ in range(3):
            await replay(database_url, ["tasks", "queues"], progress=False)
    finally:
        stop.set()
        await asyncio.gather(*writers)
    live = await _all_tables(ctx)

    await replay(database_url, ["tasks", "queues"], progress=False)

    rebuilt = await _all_tables(ctx)
    for table in ("tasks", "queues", "queue_entries"):
        assert rebuilt[table] == live[table]


async def test_to_position_rebuilds_the_past_beside_the_live_model(
        ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    task = await tenant.create_task("then")
    await tenant.call("tasks.edit", task=task, comment="before")
    async with ctx.pool.acquire() as conn:
        position = await head_position(conn)
        then = await snapshot(conn, ("tasks",))
    await tenant.call("tasks.edit", task=task, comment="after")

    result = await replay_model(database_url, "tasks", to_position=position, progress=False)

    assert not result.swapped and result.tables == (f"tasks_at_{position}",)
    async with ctx.pool.acquire() as conn:
        past = await snapshot(conn, result.tables)
        await conn.execute(f"DROP TABLE {result.tables[0]}")
    assert past[result.tables[0]] == then["tasks"]
    assert (await tenant.call("tasks.get_by_id", task=task))["task"]["comment"] == "after"


async def test_an_interrupted_replay_leaves_the_live_model_and_no_shadow(
        ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    for i in range(30):
        await tenant.create_task(f"bulk-{i}")
    before = await _all_tables(ctx)
    async with ctx.pool.acquire() as reader:
        # Why a reader holding the live table: the swap waits for it, so the cancel below always lands before the
        # swap could commit, however fast the rebuild runs.
        holding = reader.transaction()
        await holding.start()
        await reader.execute("LOCK TABLE task_audit IN ACCESS SHARE MODE")
        run = asyncio.create_task(replay_model(database_url, "audit", progress=False))
        while not await ctx.pool.fetchval("SELECT to_regclass('task_audit_shadow') IS NOT NULL"):
            await asyncio.sleep(0.002)
        assert not run.done()
        run.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run
        await holding.rollback()

    assert await _all_tables(ctx) == before
    assert not await ctx.pool.fetchval("SELECT to_regclass('task_audit_shadow') IS NOT NULL")
