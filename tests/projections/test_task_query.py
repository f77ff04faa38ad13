"""The get_all compiler without a database: SQL shape, bound parameters, whitelist and validation errors."""

from __future__ import annotations

from typing import Any

import pytest

from taskstream.projections.query.list_filters import buckets
from taskstream.projections.task_query import QueryOptions, compile_get_all, paging
from taskstream.projections.task_query.fields import expand_references, field_spec, shape
from taskstream.projections.task_query.paths import jsonpath_of, unescape_path
from taskstream.schemas.errors import ApiError

COMPANY = "c0"


def compiled(**data: Any) -> tuple[str, list[Any]]:
    return compile_get_all(data, COMPANY)


def error_of(**data: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        compiled(**data)
    return caught.value


def test_scope_hidden_and_default_order() -> None:
    sql, args = compiled()
    assert args[0] == [COMPANY, ""]
    assert "CROSS JOIN LATERAL" in sql and "company = c.cid" in sql
    assert "NOT (system_tags @> ARRAY['hidden'])" in sql
    assert "ORDER BY created ASC NULLS LAST, id ASC" in sql
    assert args[-2:] == [500, 0]
    assert "'hidden'" not in compiled(id=["x"])[0]
    assert "'hidden'" not in compile_get_all({}, COMPANY, QueryOptions(hide_hidden=False))[0]


def test_client_values_are_parameters_never_sql() -> None:
    evil = "x'); DROP TABLE tasks; --"
    sql, args = compiled(name=evil.replace("(", "").replace(")", ""), tags=[evil], project=evil,
                         **{"hyperparams.Args.lr.value": [evil]},
                         _any_={"pattern": "a", "fields": [f"script.{evil}"]}, search_text=evil,
                         order_by=[f"-hyperparams.Args.{evil}.value"])
    assert "DROP" not in sql and ";" not in sql
    assert any(evil in str(a) for a in args)


@pytest.mark.parametrize(("values", "expected"), [
    (["t1", "-t3"], ({"include": ["t1"], "exclude": ["t3"], "all": []}, False, False)),
    (["__$all", "t1", "-t3"], ({"include": [], "exclude": [], "all": ["t1", "-t3"]}, True, False)),
    (["__$not", "t3", "t1"], ({"include": ["t1"], "exclude": ["t3"], "all": []}, True, False)),
    (["-t1", None], ({"include": [], "exclude": ["t1"], "all": []}, False, True)),
])
def test_list_buckets(values: list[Any], expected: tuple[Any, ...]) -> None:
    assert buckets(values) == expected


def test_list_filter_sql() -> None:
    sql, args = compiled(tags=["t1", "-t3"], status="stopped")
    assert "(tags && $" in sql and "NOT (tags && $" in sql and " OR " in sql
    assert ["t1"] in args and ["t3"] in args and ["stopped"] in args
    sql, _ = compile_get_all({"project": ["p"]}, COMPANY, QueryOptions(include_subprojects=True))
    assert "WITH RECURSIVE subtree" in sql


def test_ranges_and_their_errors() -> None:
    sql, args = compiled(last_iteration=[None, 5], started=["2021-01-01", None])
    assert "(last_iteration IS NULL OR last_iteration <= $" in sql and "started >= $" in sql
    assert 5 in args
    assert error_of(active_duration=[1, 2, 3]).msg == (
        "Validation error (Min and max values should be specified for range field active_duration)")
    assert error_of(**{"last_metrics.a.b.value": [None, None]}).msg == (
        "Validation error (At least one of min or max values should be provided for field last_metrics.a.b.value)")
    sql, args = compiled(**{"last_metrics.a.b.value": ["0.5", None]})
    assert "jsonb_typeof" in sql and 0.5 in args and ["last_metrics", "a", "b", "value"] in args


def test_datetime_constraints() -> None:
    sql, args = compiled(last_update=[">2021-01-01", ">=2021-02-01", "<garbage"], status_changed="2021-03-01")
    assert sql.count("last_update >") == 2 and "status_changed = $" in sql
    assert all(getattr(a, "tzinfo", True) is not None for a in args)
    sql, _ = compiled(last_update=["2021-01-01", None])
    assert "last_update >= $" in sql and "last_update <=" not in sql


def test_patterns_and_regex_errors() -> None:
    sql, args = compiled(name="^a", comment="")
    assert "name ~ $" in sql and "comment ~" not in sql and "^a" in args
    error = error_of(name="(")
    assert (error.code, error.subcode) == (400, 21) and error.msg.startswith("Malformed regular expression: err=")
    sql, args = compiled(_all_={"pattern": "x", "fields": ["name", "models.input.model"]})
    assert sql.count("jsonb_path_query") == 2 and "~* $" in sql and " AND " in sql
    assert 'lax $."models"."input"."model"[*]' in args
    assert error_of(_or_="x").msg == "Validation error (incorrect field format): field=_or_"


def test_search_text_and_text_score() -> None:
    sql, args = compiled(search_text='deep "neural net" -cnn', order_by=["@text_score"])
    assert "search @@" in sql and "phraseto_tsquery" in sql and "!!plainto_tsquery" in sql
    assert "ts_rank(" in sql and "neural net" in args and "cnn" in args
    error = error_of(order_by=["-@text_score"])
    assert (error.code, error.subcode) == (400, 16)


def test_order_terms() -> None:
    sql, _ = compiled(order_by=["-last_update"])
    assert "ORDER BY last_update DESC NULLS LAST, id ASC LIMIT" in sql
    sql, _ = compiled(order_by=["name", "-id"])
    assert "(name IS NULL OR name = '')) ASC, name ASC NULLS LAST, id DESC NULLS LAST LIMIT" in sql
    sql, args = compiled(order_by=["execution.parameters.lr"])
    assert "::numeric" in sql and ["hyperparams", "Args", "lr"] in args
    assert error_of(order_by=["nope"]).msg == (
        'Lookup error (probably an invalid field name or unsupported nested field): err=Cannot resolve field "nope"')


def test_paging() -> None:
    assert paging({}) == (0, 500)
    assert paging({"page": 2}) == (1000, 500)
    assert paging({"page": 1, "page_size": 10000}) == (500, 500)
    assert paging({"start": 3, "size": 7}) == (3, 7)
    with pytest.raises(ApiError, match="page must be >=0"):
        paging({"page": -1})
    with pytest.raises(ApiError, match="page_size must be >0"):
        paging({"page_size": 0})


def test_path_escaping() -> None:
    assert unescape_path("hyperparams.a%2Eb.c%24d.value") == ["hyperparams", "a.b", "c$d", "value"]
    assert jsonpath_of(['we"ird']) == 'lax $."we\\"ird"[*]'


def test_field_spec_and_shape() -> None:
    doc = {"id": "t", "name": "n", "project": "p", "execution": {"framework": "f", "queue": "q"},
           "unique_metrics": [], "models": {"input": [{"model": "m"}], "output": []}}
    spec = field_spec({"only_fields": ["name", "execution.framework", "-execution.framework"]}, extended=False)
    assert spec is not None and shape(doc, spec) == {"name": "n", "execution": {}}
    assert "unique_metrics" not in shape(doc, None)
    everything = field_spec({"only_fields": ["*"]}, extended=True)
    assert everything is not None and "unique_metrics" in shape(doc, everything)
    joined = field_spec({"projection": ["project.name"], "only_fields": ["bad"]}, extended=True)
    assert joined is not None and joined.joins == {"project": ["name"]} and joined.top_keys() == ("id", "project")
    expanded = expand_references(shape(doc, everything))
    assert expanded["project"] == {"id": "p"} and expanded["execution"]["queue"] == {"id": "q"}
    assert expanded["models"]["input"] == [{"model": {"id": "m"}}]
    with pytest.raises(ApiError, match=r"Fields not defined for object: fields=\(bad\), object=Task"):
        field_spec({"only_fields": ["bad"]}, extended=True)
    with pytest.raises(ApiError, match='Cannot resolve field "project.name"'):
        field_spec({"only_fields": ["project.name"]}, extended=False)
