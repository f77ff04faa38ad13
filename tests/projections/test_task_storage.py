"""The task read model's listing layout (migration 008): `params` beside the document, a narrow heap that replay
keeps, and the migration's backfill of `params` equal to what the projector writes."""

from __future__ import annotations

import json
from typing import Any

from taskstream.api.context import AppContext
from taskstream.projections.replay import replay_model
from taskstream.projections.tables import READ_MIGRATIONS
from taskstream.projections.task_read_model import params_of
from tests.conftest import Tenant

_ODD_DOCS: list[dict[str, Any]] = [
    {},
    {"hyperparams": None},
    {"hyperparams": {}},
    {"hyperparams": {"Args": {"lr": {"section": "Args", "name": "lr", "value": "0.1"}, "bare": {"name": "bare"}},
                     "Empty": {}, "General": {"seed": {"value": 7}, "odd": "not a parameter"}}},
    {"hyperparams": {"N": {f"v{i}": {"value": v} for i, v in enumerate([
        " -1.5e+10\t", "1.", "007", "1e999", "1e1000", "1.2.3", "", None, "abc", "\u30001", "+1", ".5", "1e-3",
    ])}}},
]


async def _layout(ctx: AppContext) -> tuple[list[str], dict[str, str]]:
    async with ctx.pool.acquire() as conn:
        options = await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = 'tasks'::regclass")
        storage = await conn.fetch("SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'tasks'::regclass "
                                   "AND attname IN ('doc', 'search', 'id', 'project', 'params')")
    return list(options or []), {r["attname"]: r["attstorage"].decode() for r in storage}


async def test_params_holds_the_hyperparameter_values_the_projector_wrote(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("storage-params", hyperparams={
        "Args": {"lr": {"section": "Args", "name": "lr", "value": "0.01"}}})
    await tenant.call("tasks.edit_hyper_params", task=task,
                      hyperparams=[{"section": "General", "name": "seed", "value": "3"}])
    params = await ctx.pool.fetchval("SELECT params FROM tasks WHERE id = $1", task)
    assert json.loads(params) == [{"Args": {"lr": "0.01"}, "General": {"seed": "3"}},
                                  {"Args": {"lr": True}, "General": {"seed": True}}]


async def test_the_migration_backfill_computes_what_the_projector_writes(ctx: AppContext) -> None:
    backfill = (READ_MIGRATIONS / "008_listing.sql").read_text().split("UPDATE tasks SET params = ", 1)[1]
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE backfill_check (n int, doc jsonb, params jsonb) ON COMMIT DROP")
        for n, doc in enumerate(_ODD_DOCS):
            await conn.execute("INSERT INTO backfill_check (n, doc) VALUES ($1, $2)", n, json.dumps(doc))
        await conn.execute(f"UPDATE backfill_check SET params = {backfill}")
        rows = await conn.fetch("SELECT params FROM backfill_check ORDER BY n")
    assert [None if r["params"] is None else json.loads(r["params"]) for r in rows] == [
        params_of(doc) for doc in _ODD_DOCS]


async def test_replay_keeps_the_narrow_heap_layout(ctx: AppContext, tenant: Tenant, database_url: str) -> None:
    await tenant.create_task("storage-replay")
    before = await _layout(ctx)
    assert "toast_tuple_target=768" in before[0]
    assert before[1] == {"doc": "e", "search": "e", "id": "m", "project": "m", "params": "m"}

    assert (await replay_model(database_url, "tasks", progress=False)).swapped

    assert await _layout(ctx) == before


async def test_ordering_by_a_hyperparameter_puts_numbers_first_by_value_then_text(tenant: Tenant) -> None:
    values = {"ten": "10", "nine": "9", "two": " 2 ", "word": "abc", "huge": "1e1000", "empty": ""}
    for name, value in values.items():
        item = {"section": "A", "name": "p", "value": value}
        await tenant.create_task(f"order-{name}", hyperparams={"A": {"p": item}})

    async def order(key: str) -> list[str]:
        # Scoped to the tenant's user: public tasks of other tests are visible to every company.
        tasks = (await tenant.call("tasks.get_all", order_by=[key], only_fields=["name"],
                                   user=[tenant.user]))["tasks"]
        return [t["name"].removeprefix("order-") for t in tasks]

    assert await order("hyperparams.A.p.value") == ["two", "nine", "ten", "huge", "word", "empty"]
    assert await order("-hyperparams.A.p.value") == ["ten", "nine", "two", "word", "huge", "empty"]
