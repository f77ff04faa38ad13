"""`tasks.get_all` / `get_all_ex` compiled to one SQL query over the task read model (§6).

Every filter, the order and the page become SQL with bound parameters; field names come from a whitelist
(`task_query.paths`), client values are always parameters. Nothing is filtered in Python after fetching.

Shape of the query, in three steps:
1. Partitions: the scope is the caller's company plus public tasks (company ''), and a plain status filter
   (`status: [a, b]`) is one partition per status. Each partition is read by its own LATERAL sub-query with the
   full filter, order and `offset + limit`, so each can walk an index in order and stop early
   (`(company, status, last_update DESC NULLS LAST, id)` and friends, migration 013) instead of reading every
   row of the other statuses. A sub-query returns only the task id and its sort keys: when they and the filtered
   columns are in the index (tags and system tags are INCLUDEd), PostgreSQL answers it with an index-only scan
   and never reads the rows it drops.
2. The page: the short lists merged in the requested order, then OFFSET / LIMIT.
3. The documents: only the page's rows are looked up by id, and only the top-level keys a projection can use
   are kept (`doc - <the other keys>`, cheaper than rebuilding the object) before they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskstream.projections.query.list_filters import buckets, list_condition
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder
from taskstream.projections.task_query.filters import (
    add_datetimes,
    add_multi_field,
    add_patterns,
    add_ranges,
    add_search_text,
)
from taskstream.projections.task_query.ordering import OrderTerm, default_order, order_terms
from taskstream.projections.task_query.paths import ARRAY_COLUMNS, COLUMNS, TASK_FIELDS, json_text, unescape_path
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
# At most this many statuses are read as partitions of their own (ClearML has ten); a longer list is one filter.
MAX_STATUS_PARTITIONS = 12


def status_partitions(value: Any) -> list[str] | None:
    """The distinct statuses of a plain `status` include list (no exclusions, `__$` operators or null), read one
    partition each; None for any other status filter, which stays a condition."""
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, dict | list) for v in values):
        return None  # nothing to split, or a malformed filter that `list_condition` answers with a 400
    groups, _, has_null = buckets(values)
    if has_null or groups["exclude"] or groups["all"] or not groups["include"]:
        return None
    distinct = sorted(set(groups["include"]))
    return distinct if len(distinct) <= MAX_STATUS_PARTITIONS else None


def add_list_filters(b: SqlBuilder, data: dict[str, Any], scope: str, subprojects: bool,
                     skip: tuple[str, ...] = ()) -> None:
    """The list fields (but those in `skip`, read as partitions) and every `hyperparams.*` key (§6.3b)."""
    # With an id/project/parent filter a B-tree index narrows the rows; tag membership is then a row filter.
    selective = any(data.get(name) not in (None, [], "") for name in ("id", "project", "parent"))
    for name in LIST_FIELDS:
        if data.get(name) is None or name in skip:
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
    """The document, or without the top-level keys a projection cannot use (less to send and parse). Why remove
    the others instead of picking these: `jsonb - text[]` is one pass over the stored document, several times
    cheaper than rebuilding an object from `jsonb_each`. A key outside the task fields would stay in; the
    projection (`fields.shape`) drops it, as it drops everything it was not asked for."""
    if top_keys is None:
        return "t.doc"
    return f"t.doc - {b.param(sorted(TASK_FIELDS - set(top_keys)))}::text[]"


def _ordered(terms: list[OrderTerm], names: list[str] | None = None) -> str:
    return ", ".join(f"{name if names is None else names[i]} {direction}"
                     for i, (name, direction) in enumerate(terms))


def compile_get_all(data: dict[str, Any], company: str, options: QueryOptions = QueryOptions(),
                    table: str = "tasks") -> tuple[str, list[Any]]:
    """SELECT doc for the caller's company and public tasks, filtered, ordered and paged.

    Raises ApiError (400/12, 14, 16, 21) for malformed filters, unknown sort fields and bad paging.
    """
    b = SqlBuilder()
    scope = f"{b.param([company, ''])}::text[]"
    partitions = [f"unnest({scope}) AS c(cid)"]
    where = ["company = c.cid"]
    statuses = status_partitions(data["status"]) if data.get("status") is not None else None
    if statuses is not None:
        partitions.append(f"unnest({b.param(statuses)}::text[]) AS s(sid)")
        where.append("status = s.sid")
    if options.hide_hidden and not data.get("id"):
        where.append("NOT (system_tags @> ARRAY['hidden'])")
    add_list_filters(b, data, scope, options.include_subprojects, skip=("status",) if statuses else ())
    add_patterns(b, data)
    add_ranges(b, data)
    add_datetimes(b, data)
    add_multi_field(b, data)
    search_text = add_search_text(b, data)
    if default_order(data.get("order_by")):
        terms: list[OrderTerm] = [("created", "ASC NULLS LAST"), ("id", "ASC")]
    else:
        terms = order_terms(b, data.get("order_by"), search_text)
    offset, limit = options.window or paging(data)
    keys = [f"_o{i}" for i in range(len(terms))]
    selected_keys = ", ".join(f"{expression} AS {key}" for (expression, _), key in zip(terms, keys, strict=True))
    conditions = " AND ".join([*where, *b.where])
    page = (f"SELECT k.* FROM {' CROSS JOIN '.join(partitions)} CROSS JOIN LATERAL "
            f"(SELECT id AS _id, {selected_keys} FROM {table} WHERE {conditions} ORDER BY {_ordered(terms)} "
            f"LIMIT {b.param(offset + limit)}) AS k "
            f"ORDER BY {_ordered(terms, keys)} LIMIT {b.param(limit)} OFFSET {b.param(offset)}")
    selected = _selected(b, options.top_keys)
    sql = (f"SELECT {selected} AS selected_doc FROM ({page}) AS p "
           f"CROSS JOIN LATERAL (SELECT doc FROM {table} WHERE id = p._id) AS t "
           f"ORDER BY {_ordered(terms, ['p.' + key for key in keys])}")
    return sql, b.args
