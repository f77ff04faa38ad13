"""List-field filters of `get_all` (§6.3b): include / exclude / all buckets, `-x`, `__$not`, `__$all`, `__$any`,
`null` for "missing or empty". Builds one SQL condition with bound parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskstream.schemas.errors import validation_error

STICKY = {"__$all": "all", "__$and": "all", "__$any": "include", "__$or": "include"}
SINGLE = {"__$not": "exclude", "__$nop": "include"}


def buckets(values: list[Any]) -> tuple[dict[str, list[str]], bool, bool]:
    """Sort the items into buckets; return them, whether they combine with AND, and whether null was given."""
    result: dict[str, list[str]] = {"include": [], "exclude": [], "all": []}
    sticky: str | None = None
    single: str | None = None
    first = next((v for v in values if v is not None), None)
    with_and = first in ("__$all", "__$and", "__$not")
    has_null = False
    for value in values:
        if value is None:
            has_null = True
        elif value in STICKY:
            sticky, single = STICKY[value], None
        elif value in SINGLE:
            single = SINGLE[value]
        elif single:
            result[single].append(str(value))
            single = None
        elif sticky:
            result[sticky].append(str(value))
        elif isinstance(value, str) and value.startswith("-"):
            result["exclude"].append(value[1:])
        else:
            result["include"].append(str(value))
    return result, with_and, has_null


def list_condition(param: Callable[[Any], str], expr: str, value: Any, *, is_array: bool,
                   expand: Callable[[str], str] | None = None, indexable: bool = True) -> str | None:
    """The condition for one list filter on `expr` (a text column/expression, or a text[] column).

    `expand` turns the include values' `text[]` parameter into the set actually matched (used to add
    descendant projects for `include_subprojects`, §6.3g). `indexable=False` writes array membership as
    `(... && ...) IS TRUE` (the same truth value on a NOT NULL column), which the planner cannot answer from a
    GIN index: when a selective B-tree filter is present, ANDing in a GIN bitmap of a common tag costs far
    more than it saves, and the planner's GIN cost estimate does not see that."""
    values = value if isinstance(value, list) else [value]
    if not values:
        return None
    if any(isinstance(v, dict | list) for v in values):
        raise validation_error("list filter values must be strings, numbers, booleans or null", value=value)
    groups, with_and, has_null = buckets(values)
    parts = []
    if groups["include"]:
        p = f"{param(groups['include'])}::text[]"
        p = expand(p) if expand else p
        parts.append((f"{expr} && {p}" if indexable else f"({expr} && {p}) IS TRUE") if is_array
                     else f"{expr} = ANY({p})")
    if groups["exclude"]:
        p = param(groups["exclude"])
        parts.append(f"NOT ({expr} && {p}::text[])" if is_array
                     else f"({expr} IS NULL OR NOT ({expr} = ANY({p}::text[])))")
    if groups["all"]:
        p = param(groups["all"])
        contains = f"{expr} @> {p}::text[]" if indexable else f"({expr} @> {p}::text[]) IS TRUE"
        parts.append(contains if is_array else f"{expr} = ALL({p}::text[])")
    condition = f"({(' AND ' if with_and else ' OR ').join(parts)})" if parts else None
    if has_null:
        empty = f"cardinality({expr}) = 0" if is_array else f"({expr} IS NULL OR {expr} = '')"
        return f"({empty} OR {condition})" if condition else empty
    return condition
