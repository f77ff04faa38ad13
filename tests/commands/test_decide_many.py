"""Given / when / then for the all-or-nothing decisions over several tasks: make_public/private, move, update_batch."""

from __future__ import annotations

import pytest

from taskstream.commands import decide_many as dm
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import (
    TaskMadePrivate,
    TaskMadePublic,
    TaskMoved,
    TaskUpdated,
)
from tests.commands.task_docs import COMPANY, EARLIER, NOW, after, task


def test_make_public_then_private() -> None:
    doc = task()
    public = dm.decide_make_public({"t1": doc}, COMPANY)
    assert isinstance(public["t1"][0], TaskMadePublic)
    shared = after(doc, public["t1"])
    assert (shared["company"], shared["company_origin"], shared["last_change"]) == ("", COMPANY, EARLIER)
    private = dm.decide_make_private({"t1": shared}, COMPANY)
    assert isinstance(private["t1"][0], TaskMadePrivate)
    restored = after(shared, private["t1"])
    assert restored["company"] == COMPANY and "company_origin" not in restored


def test_make_public_and_private_reject_naming_the_invalid_ids() -> None:
    docs = {"t1": task(), "t2": task(company="else"), "t3": task(company=""), "t4": None}
    with pytest.raises(ApiError) as error:
        dm.decide_make_public(docs, COMPANY)
    assert error.value.msg == "Invalid task id: ids=(t2, t3, t4)"
    shared = {"t3": task(company="", company_origin=COMPANY), "t5": task(company="", company_origin="else")}
    with pytest.raises(ApiError) as private:
        dm.decide_make_private({**shared, "t1": task()}, COMPANY)
    assert private.value.msg == "Invalid task id: ids=(t5, t1)"


def test_move_skips_foreign_public_and_missing_tasks() -> None:
    docs = {"t1": task(), "t2": task(company="else"), "t3": task(company=""), "t4": None}
    decided = dm.decide_move(docs, "p1", COMPANY, NOW)
    assert list(decided) == ["t1"] and isinstance(decided["t1"][0], TaskMoved)
    assert decided["t1"][0].set == {"project": "p1", "last_change": iso(NOW)}


def test_update_batch_public_first_then_missing() -> None:
    items = {"t1": {"name": "new name"}, "t2": {"name": "abc"}, "t3": {"name": "abc"}}
    with pytest.raises(ApiError) as public:
        dm.decide_update_batch({"t1": task(), "t2": task(company=""), "t3": None}, items, COMPANY, NOW)
    assert public.value.msg == "Forbidden (modification not allowed) (cannot modify public task(s), ids=('t2',))"
    with pytest.raises(ApiError) as missing:
        dm.decide_update_batch({"t1": task(), "t2": task(company="else"), "t3": None}, items, COMPANY, NOW)
    assert missing.value.msg == "Invalid task id: ids=(t2, t3)"


def test_update_batch_applies_the_update_whitelist_per_task() -> None:
    docs = {"t1": task(), "t2": task(task_id="t2")}
    decided = dm.decide_update_batch(docs, {"t1": {"task": "t1", "comment": "c", "type": "x"},
                                            "t2": {"task": "t2", "type": "ignored"}}, COMPANY, NOW)
    assert list(decided) == ["t1"] and isinstance(decided["t1"][0], TaskUpdated)
    assert decided["t1"][0].set == {"comment": "c", "last_change": iso(NOW)}
