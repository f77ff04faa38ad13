"""`order_by` of `get_all` (§6.4) as ORDER BY terms over the task read model.

* Missing values: an ascending first key puts empty values (missing, null, "", []) last; a later ascending key
  puts missing/null first and a descending key puts them last, as MongoDB sorts.
* Hyper-parameter values are strings; they order numeric-aware: values that read as numbers first, by value,
  then the others as text (a value's number-ness is stored beside it in `params`, `task_read_model.NUMBER`).
  Metric values are JSON numbers and order by value.
* `@text_score` orders by search relevance (needs `search_text`); `id` always ends the list (stable paging).
"""

from __future__ import annotations

from typing import Any

from taskstream.projections.query.sql import SqlBuilder
from taskstream.projections.task_query.filters import text_rank
from taskstream.projections.task_query.paths import (
    ARRAY_COLUMNS,
    COLUMNS,
    TEXT_COLUMNS,
    is_param_value,
    json_text,
    json_value,
    known_path,
    param_number,
)
from taskstream.schemas.errors import ApiError

_NUMBER = r"'^\s*-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*$'"


def _terms_for(b: SqlBuilder, parts: list[str]) -> tuple[list[str], str]:
    """(sort expressions, "is empty" condition) of one field."""
    name = parts[0]
    if len(parts) == 1 and name in ARRAY_COLUMNS:
        column = ARRAY_COLUMNS[name]
        return [column], f"cardinality({column}) = 0"
    if len(parts) == 1 and name in COLUMNS:
        column = COLUMNS[name]
        empty = f"({column} IS NULL OR {column} = '')" if column in TEXT_COLUMNS else f"{column} IS NULL"
        return [column], empty
    if name == "hyperparams":
        text = json_text(b, parts)
        numeric = (param_number(b, parts) if is_param_value(parts)
                   else f"(CASE WHEN {text} ~ {_NUMBER} THEN {text}::numeric END)")
        return [numeric, text], f"({text} IS NULL OR {text} = '')"
    value = json_value(b, parts)
    return [value], f"({value} IS NULL OR {value} IN ('null'::jsonb, '\"\"'::jsonb, '[]'::jsonb))"


def order_fields(order_by: Any) -> list[str]:
    """The requested sort keys, a bare string meaning one key."""
    fields = [order_by] if isinstance(order_by, str) else list(order_by or [])
    return [f for f in fields if isinstance(f, str) and f]


OrderTerm = tuple[str, str]  # (expression, direction): ("last_update", "DESC NULLS LAST")


def order_terms(b: SqlBuilder, order_by: Any, search_text: str | None) -> list[OrderTerm]:
    """ORDER BY terms; 400/14 for an unknown field, 400/16 for `@text_score` without `search_text`."""
    fields = order_fields(order_by)
    terms: list[OrderTerm] = []
    for index, spec in enumerate(fields):
        descending = spec.startswith("-")
        name = spec.lstrip("-")
        if name == "@text_score":
            if search_text is None:
                raise ApiError(400, 16, "text score cannot be used in order_by when search text is not used")
            terms.append((text_rank(b, search_text), "DESC"))
            continue
        expressions, empty = _terms_for(b, known_path(name))
        if descending:
            terms.extend((e, "DESC NULLS LAST") for e in expressions)
            continue
        first = index == 0 and "[" not in name
        if first and not empty.endswith("IS NULL"):
            terms.append((f"({empty})", "ASC"))
        nulls = "NULLS LAST" if first else "NULLS FIRST"
        terms.extend((e, f"ASC {nulls}") for e in expressions)
    if not any(f.lstrip("-") == "id" for f in fields):
        terms.append(("id", "ASC"))
    return terms


def default_order(order_by: Any) -> bool:
    """Without `order_by`, tasks come in creation order (the reference's storage order)."""
    return not order_fields(order_by)
