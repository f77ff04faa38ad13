"""`tasks.get_all` / `get_all_ex` compiled to one SQL query over the task read model (§6).

Every filter, the order and the page become SQL with bound parameters; field names come from a whitelist
(`task_query.paths`), client values are always parameters. Nothing is filtered in Python after fetching.

Shape of the query: the scope is the caller's company plus public tasks (company ''). Each of the two companies
is read by its own LATERAL sub-query with the full filter, order and `offset + limit`, so each can walk an index
in order (`(company, project, last_update DESC NULLS LAST, id)` and friends); the outer query merges the two
short lists and applies the page; the selected part of each document is computed above the page (a sub-query
with LIMIT is not flattened), so only the returned rows read their document (stored out of line, migration 008).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskstream.projections.query.list_filters import list_condition
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder
from taskstream.projections.task_query.filters import (
    add_datetimes,
    add_multi_field,
    add_patterns,
    add_ranges,
    add_search_text,
)
from taskstream.projections.task_query.ordering import default_order, order_terms
from taskstream.projections.task_query.paths import ARRAY_COLUMNS, COLUMNS, json_text, unescape_path
from taskstream.schemas.errors import validation_error

LIST_FIELDS = ("id", "user", "tags", "system_tags", "type", "status", "project", "parent")
# Descendants of the given projects (and the projects themselves), for `include_subprojects` (§6.3g).
_SUBTREE = ("ARRAY(WITH RECURSIVE subtree(id) AS (SELECT unnest({ids}) UNION "
            "SELECT p.id FROM projects p JOIN subtree s ON p.parent = s.id WHERE p.company = ANY({scope})) "
            "SELECT id FROM subtree)")


@dataclass(frozen=True)
class QueryOptions:
    """How a call reads: which scope rules apply and which part of each document is selected."""

    include_subprojects: bool = False
    hide_hidden: bool = True
    top_keys: tuple[str, ...] | None = None
    window: tuple[int, int] | None = None


# The most rows one call returns with `start`/`size` or a scroll `size` (silently capped, like `page_size`):
# a client must not make the server hold a whole listing at once.
MAX_SIZE = 10_000


def add_list_filters(b: SqlBuilder, data: dict[str, Any], scope: str, subprojects: bool) -> None:
    """The list fields and every `hyperparams.*` key (§6.3b)."""
    # With an id/project/parent filter a B-tree index narrows the rows; tag membership is then a row filter.
    selective = any(data.get(name) not in (None, [], "") for name in ("id", "project", "parent"))
    for name in LIST_FIELDS:
        if data.get(name) is None:
            continue
        expand = (lambda p: _SUBTREE.format(ids=p, scope=scope)) if name == "project" and subprojects else None
        if name in ARRAY_COLUMNS:
            condition = list_condition(b.param, ARRAY_COLUMNS[name], data[name], is_array=True,
                                       indexable=not selective)
        else:
            condition = list_condition(b.param, COLUMNS[name], data[name], is_array=False, expand=expand)
        if condition:
            b.where.append(condition)
    for key, value in data.items():
        if key.startswith("hyperparams.") and value is not None:
            condition = list_condition(b.param, json_text(b, unescape_path(key)), value, is_array=False)
            if condition:
                b.where.append(condition)


def paging(data: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit): the page (`query.paging`), or the undocumented `start`+`size` (§6.5)."""
    if data.get("start") is not None:
        start, size = data["start"], data.get("size")
        if not isinstance(start, int) or start < 0:
            raise validation_error("start must be >=0", field="start")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise validation_error("size must be >0", field="size")
        return start, min(size, MAX_SIZE)
    return page_window(data)


def _selected(b: SqlBuilder, top_keys: tuple[str, ...] | None) -> str:
    """The document, or only its top-level keys a projection can use (less to send and parse)."""
    if top_keys is None:
        return "t.doc"
    return (f"(SELECT coalesce(jsonb_object_agg(key, value), '{{}}'::jsonb) FROM jsonb_each(t.doc) "
            f"WHERE key = ANY({b.param(list(top_keys))}::text[]))")


def compile_get_all(data: dict[str, Any], company: str, options: QueryOptions = QueryOptions(),
                    table: str = "tasks") -> tuple[str, list[Any]]:
    """SELECT doc for the caller's company and public tasks, filtered, ordered and paged.

    Raises ApiError (400/12, 14, 16, 21) for malformed filters, unknown sort fields and bad paging.
    """
    b = SqlBuilder()
    scope = f"{b.param([company, ''])}::text[]"
    if options.hide_hidden and not data.get("id"):
        b.where.append("NOT (system_tags @> ARRAY['hidden'])")
    add_list_filters(b, data, scope, options.include_subprojects)
    add_patterns(b, data)
    add_ranges(b, data)
    add_datetimes(b, data)
    add_multi_field(b, data)
    search_text = add_search_text(b, data)
    if default_order(data.get("order_by")):
        terms = ["created ASC NULLS LAST", "id ASC"]
    else:
        terms = order_terms(b, data.get("order_by"), search_text)
    offset, limit = options.window or paging(data)
    order = ", ".join(terms)
    where = " AND ".join(["company = c.cid", *b.where])
    selected = _selected(b, options.top_keys)
    sql = (f"SELECT {selected} AS selected_doc FROM (SELECT t.doc FROM unnest({scope}) AS c(cid) CROSS JOIN LATERAL "
           f"(SELECT * FROM {table} WHERE {where} ORDER BY {order} LIMIT {b.param(offset + limit)}) AS t "
           f"ORDER BY {order} LIMIT {b.param(limit)} OFFSET {b.param(offset)}) AS t")
    return sql, b.args
