"""The task read model's `search` vector (migration 016: kept by a trigger, not a generated column) always equals
what its inputs give, through every kind of write: the projector's upsert, the reported-metrics patch, replay's
COPY, and writes after a replay's swap."""

from __future__ import annotations

from taskstream.api.context import AppContext
from taskstream.projections.replay import replay
from tests.api.test_events import add_batch, scalar
from tests.conftest import Tenant

_STALE = """SELECT id FROM tasks WHERE id = ANY($1)
    AND search IS DISTINCT FROM task_search(id, name, comment, doc)"""


async def _found(tenant: Tenant, text: str) -> list[str]:
    return [t["id"] for t in (await tenant.call("tasks.get_all", search_text=text, only_fields=["id"]))["tasks"]]


async def test_search_follows_every_write_of_its_inputs_and_no_other(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("alpha run", comment="first")
    other = await tenant.create_task("beta run")
    tasks = [task, other]
    assert await _found(tenant, "alpha") == [task]

    await tenant.call("tasks.edit", task=task, name="gamma run")
    await tenant.call("tasks.edit", task=other, comment="delta note",
                      script={"repository": "https://example.com/epsilon.git", "entry_point": "zeta.py"})
    model = str((await tenant.call("models.create", name="eta", uri="s3://b/eta.pt"))["id"])
    await tenant.call("tasks.edit", task=task, models={"input": [{"name": "m", "model": model}]})
    await add_batch(tenant, scalar(task, "loss", "train", 0.5, 1))  # a patch of last_metrics: search unchanged
    await tenant.call("tasks.started", task=task)

    assert await ctx.pool.fetch(_STALE, tasks) == []
    assert await _found(tenant, "alpha") == []
    assert await _found(tenant, "gamma") == [task]
    assert await _found(tenant, "delta") == [other]
    assert await _found(tenant, "epsilon") == [other] and await _found(tenant, "zeta") == [other]
    assert await _found(tenant, model) == [task]


async def test_replay_rebuilds_the_vector_and_writes_after_it_keep_it(ctx: AppContext, tenant: Tenant,
                                                                      database_url: str) -> None:
    task = await tenant.create_task("theta run", comment="iota")
    before = await ctx.pool.fetchval("SELECT search::text FROM tasks WHERE id = $1", task)

    assert [r.swapped for r in await replay(database_url, ["tasks"], progress=False)] == [True]

    assert await ctx.pool.fetchval("SELECT search::text FROM tasks WHERE id = $1", task) == before
    await tenant.call("tasks.edit", task=task, name="kappa run")  # the swapped-in table has the trigger
    assert await ctx.pool.fetch(_STALE, [task]) == []
    assert await _found(tenant, "kappa") == [task] and await _found(tenant, "theta") == []


async def test_the_vector_is_kept_whatever_the_session_search_path(ctx: AppContext, tenant: Tenant) -> None:
    """A data-only `pg_dump` restore writes with `search_path = ''`; the trigger must still find its function.
    (Rolled back: a write that bypasses the log would leave the read model unlike a replay of it.)"""
    task = await tenant.create_task("lambda run")
    async with ctx.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute("SET LOCAL search_path = ''")
            await conn.execute("UPDATE public.tasks SET name = 'mu run' WHERE id = $1", task)
            row = await conn.fetchrow("SELECT search::text AS search, public.task_search(id, name, comment, doc)::text "
                                      "AS expected FROM public.tasks WHERE id = $1", task)
        finally:
            await transaction.rollback()
    assert row["search"] == row["expected"] and "'mu'" in row["search"]
