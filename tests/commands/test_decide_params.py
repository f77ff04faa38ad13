"""Given a task document, when a hyper-parameter or configuration edit is decided, then these events (or this
rejection). Pure: no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from taskstream.commands import decide_params as dp
from taskstream.commands import messages as msg
from taskstream.commands.evolve import evolve
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError
from taskstream.schemas.events import (
    ConfigurationDeleted,
    ConfigurationEdited,
    Event,
    HyperParamsDeleted,
    HyperParamsEdited,
)

COMPANY = "c0mpany"
NOW = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
EARLIER = "2024-01-01T00:00:00+00:00"


def item(section: str, name: str, value: str = "v") -> dict[str, str]:
    return {"section": section, "name": name, "value": value}


def task(status: str = "created", **fields: Any) -> dict[str, Any]:
    return {"id": "t1", "company": COMPANY, "status": status, "last_update": EARLIER, "last_change": EARLIER,
            "hyperparams": {}, "configuration": {}, **fields}


def after(doc: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    state: dict[str, Any] | None = doc
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state


def edit(doc: dict[str, Any] | None, items: list[dict[str, Any]], replace: str = "none",
         force: bool = False) -> list[Event]:
    return dp.decide_edit_hyper_params(doc, msg.EditHyperParams("t1", items, replace, force), COMPANY, NOW)


def test_edit_upserts_items_and_stamps_both_times() -> None:
    doc = task(hyperparams={"s": {"a": item("s", "a", "1"), "b": item("s", "b")}})
    events = edit(doc, [item("s", "a", "2"), item("t", "c")])
    assert len(events) == 1 and isinstance(events[0], HyperParamsEdited)
    new = after(doc, events)
    assert new["hyperparams"] == {"s": {"a": item("s", "a", "2"), "b": item("s", "b")}, "t": {"c": item("t", "c")}}
    assert new["last_update"] == new["last_change"] == iso(NOW)


@pytest.mark.parametrize(("replace", "expected"), [
    ("section", {"s": {"n": item("s", "n")}, "t": {"c": item("t", "c")}}),
    ("all", {"s": {"n": item("s", "n")}}),
])
def test_edit_replace_modes(replace: str, expected: dict[str, Any]) -> None:
    doc = task(hyperparams={"s": {"a": item("s", "a")}, "t": {"c": item("t", "c")}})
    assert after(doc, edit(doc, [item("s", "n")], replace))["hyperparams"] == expected


def test_names_are_stored_stripped_and_may_contain_dots() -> None:
    doc = task()
    new = after(doc, edit(doc, [item(" sec.tion ", " a.b ")]))
    assert new["hyperparams"] == {"sec.tion": {"a.b": item(" sec.tion ", " a.b ")}}


@pytest.mark.parametrize(("status", "force", "allowed"), [
    ("created", False, True), ("in_progress", False, False), ("in_progress", True, True),
    ("stopped", True, False), ("published", True, False),
])
def test_status_rule(status: str, force: bool, allowed: bool) -> None:
    doc = task(status)
    if allowed:
        assert edit(doc, [item("s", "a")], force=force)
    else:
        with pytest.raises(ApiError) as error:
            edit(doc, [item("s", "a")], force=force)
        assert error.value.subcode == 110
        assert error.value.msg == f"Invalid task status: expected=created, status={status}"


def test_properties_only_edit_any_status_keeps_last_update() -> None:
    doc = task("published")
    events = edit(doc, [item("PropERTIES", "k")])
    new = after(doc, events)
    assert new["hyperparams"] == {"properties": {"k": item("properties", "k")}}
    assert (new["last_update"], new["last_change"]) == (EARLIER, iso(NOW))


def test_missing_foreign_and_public_tasks() -> None:
    with pytest.raises(ApiError) as missing:
        edit(None, [item("s", "a")])
    assert missing.value.msg == f"Invalid task id: id=t1, company={COMPANY}"
    with pytest.raises(ApiError) as foreign:
        edit(task(company="else"), [item("s", "a")])
    assert foreign.value.subcode == 101
    with pytest.raises(ApiError) as public:
        edit(task(company=""), [item("s", "a")])
    assert (public.value.code, public.value.subcode) == (403, 21)


def test_delete_leaves_empty_section_and_removes_whole_sections() -> None:
    doc = task(hyperparams={"s": {"a": item("s", "a")}, "t": {"b": item("t", "b")}, "u": {"c": item("u", "c")}})
    events = dp.decide_delete_hyper_params(
        doc, msg.DeleteHyperParams("t1", [{"section": "s", "name": "a"}, {"section": "t"}, {"section": "zz"},
                                         {"section": "u", "name": "nope"}]), COMPANY, NOW)
    assert isinstance(events[0], HyperParamsDeleted)
    assert after(doc, events)["hyperparams"] == {"s": {}, "u": {"c": item("u", "c")}}


def test_delete_section_and_its_parameter_conflict() -> None:
    doc = task(hyperparams={"s": {"a": item("s", "a")}})
    command = msg.DeleteHyperParams("t1", [{"section": "s", "name": "a"}, {"section": "s"}])
    with pytest.raises(ApiError) as error:
        dp.decide_delete_hyper_params(doc, command, COMPANY, NOW)
    assert (error.value.subcode, error.value.msg) == (
        15, "Conflicting fields (Cannot delete section field if the whole section was scheduled for deletion)")


def test_delete_status_is_checked_before_the_conflict() -> None:
    command = msg.DeleteHyperParams("t1", [{"section": "s", "name": "a"}, {"section": "s"}])
    with pytest.raises(ApiError) as error:
        dp.decide_delete_hyper_params(task("stopped"), command, COMPANY, NOW)
    assert error.value.subcode == 110


def test_configuration_upsert_replace_and_delete() -> None:
    doc = task(configuration={"a": {"name": "a", "value": "1"}, "b": {"name": "b", "value": "2"}})
    upsert = dp.decide_edit_configuration(doc, msg.EditConfiguration("t1", [{"name": "a", "value": "9"}]),
                                          COMPANY, NOW)
    assert isinstance(upsert[0], ConfigurationEdited)
    assert after(doc, upsert)["configuration"] == {"a": {"name": "a", "value": "9"}, "b": {"name": "b", "value": "2"}}
    replace = dp.decide_edit_configuration(doc, msg.EditConfiguration("t1", [{"name": "c", "value": "3"}], True),
                                           COMPANY, NOW)
    assert after(doc, replace)["configuration"] == {"c": {"name": "c", "value": "3"}}
    deleted = dp.decide_delete_configuration(doc, msg.DeleteConfiguration("t1", ["a", "nope"]), COMPANY, NOW)
    assert isinstance(deleted[0], ConfigurationDeleted)
    new = after(doc, deleted)
    assert new["configuration"] == {"b": {"name": "b", "value": "2"}} and new["last_update"] == iso(NOW)


def test_configuration_has_no_properties_exception() -> None:
    with pytest.raises(ApiError) as error:
        dp.decide_edit_configuration(task("stopped"), msg.EditConfiguration("t1", [{"name": "properties",
                                                                                   "value": "1"}]), COMPANY, NOW)
    assert error.value.subcode == 110


@pytest.mark.parametrize(("items", "msg"), [
    ([item("s", "a", 1)], 'Validation error (value is wrong, expected type "str" 1)'),  # type: ignore[arg-type]
    ([item("", "a")], "Validation error (value '' length is lower than allowed minimum '1'.)"),
    ([item("s", "")], "Validation error (value '' length is lower than allowed minimum '1'.)"),
    ([item(" ", "a")], "Validation error (Empty section name is not allowed)"),
    ([{"section": "s", "name": "a"}], "Validation error (error for field 'value'. field is required!)"),
    (["x"], 'Validation error (value is wrong, expected type "dict" x)'),
])
def test_check_items_rejects_bad_hyper_params(items: list[Any], msg: str) -> None:
    with pytest.raises(ApiError) as error:
        dp.check_items(items, dp.PARAM_KEYS, ("section", "name", "value"))
    assert (error.value.code, error.value.subcode, error.value.msg) == (400, 12, msg)


def test_check_items_keeps_known_keys_only_and_names_configuration_errors() -> None:
    checked = dp.check_items([{"name": "c", "value": "1", "extra": "x", "type": None}], dp.CONFIGURATION_KEYS,
                             ("name", "value"))
    assert checked == [{"name": "c", "value": "1"}]
    with pytest.raises(ApiError) as error:
        dp.check_items([{"name": " ", "value": "1"}], dp.CONFIGURATION_KEYS, ("name", "value"))
    assert error.value.msg == "Validation error (Empty configuration name is not allowed)"
