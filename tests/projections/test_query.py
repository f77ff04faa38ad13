"""The list-query toolkit without a database: regex check, id and regex filters, paging, column ordering and
`only_fields` shaping, as tasks, queues and projects share them."""

from __future__ import annotations

import pytest

from taskstream.projections.project_query import compile_get_all as compile_projects
from taskstream.projections.query.fields import FieldSpec, dotted_spec, shape, wants
from taskstream.projections.query.ordering import column_order
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder, add_ids, add_regex, check_regex, select_page
from taskstream.projections.queue_query import compile_get_all as compile_queues
from taskstream.schemas.errors import ApiError


def test_an_invalid_regex_is_400_21_wherever_it_is_used() -> None:
    check_regex("^a(b|c)$")
    for compile_listing in (lambda d: compile_queues(d, "c", None), lambda d: compile_projects(d, "c")):
        with pytest.raises(ApiError) as caught:
            compile_listing({"name": "("})
        assert (caught.value.code, caught.value.subcode) == (400, 21)


def test_regex_and_id_filters_bind_their_values() -> None:
    b = SqlBuilder()
    add_ids(b, "id", "q1")
    add_regex(b, "name", "^x")
    add_regex(b, "name", "")
    add_ids(b, "id", [])
    assert b.where == ["id = ANY($1::text[])", "name ~ $2"] and b.args == [["q1"], "^x"]
    assert select_page(b, "doc", "queues", ["name", "id"], (10, 5)) == (
        "SELECT doc FROM queues WHERE id = ANY($1::text[]) AND name ~ $2 ORDER BY name, id LIMIT $3 OFFSET $4")
    assert b.args[-2:] == [5, 10]


def test_paging_bounds_are_the_same_for_every_listing() -> None:
    assert page_window({}) == (0, 500)
    assert page_window({"page": 3, "page_size": 20}) == (60, 20)
    assert page_window({"page_size": 5000}) == (0, 500)
    for data, message in (({"page": -1}, "page must be >=0"), ({"page_size": 0}, "page_size must be >0")):
        for compile_listing in (page_window, lambda d: compile_queues(d, "c", None)[0],
                                lambda d: compile_projects(d, "c")[0]):
            with pytest.raises(ApiError, match=message):
                compile_listing(data)


def test_column_order_follows_the_whitelist_then_the_tail() -> None:
    columns = {"name": "name", "created": "created"}
    assert column_order(["-created", 3, "+name"], columns, ("id",)) == ["created DESC", "name ASC", "id"]
    with pytest.raises(ApiError) as caught:
        column_order(["nope"], columns, ("id",))
    assert (caught.value.code, caught.value.subcode) == (400, 14)


def test_shape_includes_excludes_and_hidden_fields() -> None:
    doc = {"id": "q", "name": "n", "meta": {"a": 1, "b": {"c": 2}}, "secret": 1}
    assert shape(doc, dotted_spec(["name", "meta.b.c", "meta.x"])) == {"name": "n", "meta": {"b": {"c": 2}}}
    assert shape(doc, dotted_spec(["meta.x"])) == {"meta": {}}
    assert shape(doc, dotted_spec(["name.x"])) == {}
    assert shape(doc, dotted_spec(["-meta.b"]), hidden=("secret",)) == {"id": "q", "name": "n", "meta": {"a": 1}}
    assert shape(doc, FieldSpec(everything=True), hidden=("secret",)) == doc
    shaped = shape(doc, None)
    assert shaped == doc and shaped["meta"] is not doc["meta"]


def test_wants_tells_whether_a_top_level_field_can_be_returned() -> None:
    assert wants(None, "entries") and wants(dotted_spec([]), "entries") and wants(dotted_spec(["-id"]), "entries")
    assert wants(dotted_spec(["entries.task"]), "entries") and not wants(dotted_spec(["id"]), "entries")
