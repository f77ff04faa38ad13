"""The web UI's history reads: the audit trail a page at a time (routine events hidden), and a task folded from the
log up to a version."""

from __future__ import annotations

import pytest

from taskstream.api.context import AppContext
from taskstream.projections import task_timeline
from taskstream.projections.audit import AuditTrail
from taskstream.projections.subscription import LogSubscription
from taskstream.projections.task_timeline import history_page, task_as_of
from tests.api.test_events import add_batch, scalar
from tests.conftest import Tenant


async def _catch_up(ctx: AppContext) -> None:
    await LogSubscription(ctx.pool, AuditTrail()).catch_up()


async def test_task_as_of_a_version_is_the_fold_up_to_it(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("as it was", comment="first")
    await tenant.call("tasks.edit", task=task, comment="second", name="renamed")
    await tenant.call("tasks.started", task=task)
    await _catch_up(ctx)

    first = await task_as_of(ctx.pool, task, [tenant.company, ""], 1)
    second = await task_as_of(ctx.pool, task, [tenant.company, ""], 2)
    beyond = await task_as_of(ctx.pool, task, [tenant.company, ""], 99)

    assert first is not None and first.doc is not None and second is not None and second.doc is not None
    assert (first.version, first.event, first.doc["comment"], first.doc["name"]) == (1, "TaskCreated", "first",
                                                                                     "as it was")
    assert (second.doc["comment"], second.doc["name"], second.doc["status"]) == ("second", "renamed", "created")
    assert beyond is not None and beyond.version == 3 and beyond.doc is not None
    assert beyond.doc["status"] == "in_progress"


async def test_task_as_of_folds_a_long_stream_in_chunks(ctx: AppContext, tenant: Tenant,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream longer than one chunk folds to the same document as in one read, at every chunk boundary."""
    task = await tenant.create_task("long", comment="c0")
    for n in range(1, 7):
        await tenant.call("tasks.edit", task=task, comment=f"c{n}")
    await _catch_up(ctx)
    whole = await task_as_of(ctx.pool, task, [tenant.company, ""], 99)
    monkeypatch.setattr(task_timeline, "AS_OF_CHUNK", 2)
    for version in (1, 2, 3, 6, 7, 99):
        chunked = await task_as_of(ctx.pool, task, [tenant.company, ""], version)
        assert chunked is not None and chunked.doc is not None
        assert (chunked.version, chunked.doc["comment"]) == (min(version, 7), f"c{min(version, 7) - 1}")
    chunked = await task_as_of(ctx.pool, task, [tenant.company, ""], 99)
    assert whole is not None and chunked is not None and chunked.doc == whole.doc


async def test_task_as_of_is_none_for_another_company(ctx: AppContext, tenant: Tenant,
                                                      other_tenant: Tenant) -> None:
    task = await tenant.create_task("private")
    await _catch_up(ctx)

    assert await task_as_of(ctx.pool, task, [other_tenant.company, ""], 1) is None
    assert await task_as_of(ctx.pool, "no-such-task", [tenant.company, ""], 1) is None
    assert await history_page(ctx.pool, task, [other_tenant.company, ""], 10) is None


async def test_history_pages_newest_first_and_hides_routine_events(ctx: AppContext, tenant: Tenant) -> None:
    task = await tenant.create_task("paged")
    await tenant.call("tasks.started", task=task)
    for i in range(3):
        await add_batch(tenant, scalar(task, "loss", "train", 0.5, i))
    await tenant.call("tasks.edit", task=task, comment="c1", force=True)
    await tenant.call("tasks.stopped", task=task, force=True, status_reason="enough")
    await _catch_up(ctx)

    first = await history_page(ctx.pool, task, [tenant.company], 2)
    assert first is not None
    assert [e["event"] for e in first.entries] == ["TaskMarkedStopped", "TaskEdited"]
    assert first.entries[0]["status_reason"] == "enough" and first.entries[0]["force"] is True
    assert first.older == first.entries[-1]["version"] and first.hidden == 0

    rest = await history_page(ctx.pool, task, [tenant.company], 2, before=first.older)
    assert rest is not None and [e["event"] for e in rest.entries] == ["TaskStarted", "TaskCreated"]
    assert rest.older is None and rest.hidden == 3

    everything = await history_page(ctx.pool, task, [tenant.company], 100, routine=True)
    assert everything is not None and len(everything.entries) == 7 and everything.hidden == 0
