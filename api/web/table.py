"""The tasks table's query: what the query string may ask (each value checked and bounded), the `tasks.get_all_ex`
request it becomes (the very compiler the API runs), and the rows and column choices the template shows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from taskstream.commands.decide_telemetry import field_hash
from taskstream.schemas.enums import TASK_STATUSES, TASK_TYPES

PAGE_SIZES = (25, 50, 100)
MAX_PAGE = 10_000 // 25
MAX_VALUES = 50  # tags, users, statuses or types in one filter
MAX_TEXT = 200
MAX_COLUMNS = 10  # chosen metric or hyper-parameter columns
SORTABLE = {"name": "name", "status": "status", "type": "type", "user": "user", "started": "started",
            "last_update": "last_update", "last_iteration": "last_iteration", "tags": "tags", "created": "created"}
# last_metrics and hyperparams: the chosen columns' values and the columns one may add (from the listed tasks).
FIELDS = ["id", "name", "status", "type", "tags", "system_tags", "user.name", "project.name", "started",
          "last_update", "last_iteration", "status_reason", "last_metrics", "hyperparams"]
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _texts(params: QueryParams, name: str, limit: int = MAX_TEXT) -> list[str]:
    values = [v.strip() for v in params.getlist(name)[:MAX_VALUES]]
    return [v for v in values if v and len(v) <= limit and "\x00" not in v]  # PostgreSQL's text holds no NUL


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, low), high)


def _pair(value: str) -> tuple[str, str] | None:
    first, sep, second = value.partition("|")
    return (first, second) if sep and first and second else None


@dataclass(frozen=True)
class TableQuery:
    """One view of the tasks table. Unknown statuses, types and sort keys are dropped, texts and lists bounded."""

    project: str | None = None
    statuses: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    search: str = ""
    archived: bool = False
    sort: str = "-last_update"
    page: int = 0
    page_size: int = 50
    metrics: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    params: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def from_params(cls, params: QueryParams) -> TableQuery:
        project = params.get("project") or None
        metrics = tuple(p for p in map(_pair, _texts(params, "metric")) if p)[:MAX_COLUMNS]
        hyper = tuple(p for p in map(_pair, _texts(params, "param")) if p)[:MAX_COLUMNS]
        query = cls(
            project=project if project and _ID.match(project) else None,
            statuses=tuple(s for s in _texts(params, "status") if s in TASK_STATUSES),
            types=tuple(t for t in _texts(params, "type") if t in TASK_TYPES),
            tags=tuple(_texts(params, "tag", 100)), users=tuple(u for u in _texts(params, "user") if _ID.match(u)),
            search=(params.get("q") or "").replace("\x00", "").strip()[:MAX_TEXT],
            archived=params.get("archived") == "1",
            page=_int(params.get("page"), 0, 0, MAX_PAGE),
            page_size=_int(params.get("page_size"), 50, PAGE_SIZES[0], PAGE_SIZES[-1]),
            metrics=metrics, params=hyper)
        sort = params.get("sort") or "-last_update"
        return replace(query, sort=sort if query.sort_field(sort) else "-last_update")

    def sort_field(self, sort: str) -> str | None:
        """The `order_by` field of a sort key (`-` prefix: descending), None for an unknown one."""
        key = sort.lstrip("-")
        if key in SORTABLE:
            return SORTABLE[key]
        kind, _, rest = key.partition(":")
        pair = _pair(rest)
        if kind == "m" and pair in self.metrics:
            return f"last_metrics.{field_hash(pair[0])}.{field_hash(pair[1])}.value"
        if kind == "p" and pair in self.params:
            return f"hyperparams.{pair[0]}.{pair[1]}.value"
        return None

    def listing(self) -> dict[str, Any]:
        """The `tasks.get_all_ex` request of this view."""
        data: dict[str, Any] = {
            "only_fields": FIELDS,
            "order_by": [("-" if self.sort.startswith("-") else "") + str(self.sort_field(self.sort))],
            "page": self.page, "page_size": self.page_size,
            "system_tags": ["archived"] if self.archived else ["-archived"],
        }
        if self.project:
            data["project"] = [self.project]
        for name, values in (("status", self.statuses), ("type", self.types), ("tags", self.tags),
                             ("user", self.users)):
            if values:
                data[name] = list(values)
        if self.search:
            data["name"] = "(?i)" + re.escape(self.search)
        return data

    def url(self, **changes: Any) -> str:
        """This view's URL with `changes` applied (sort, page, ...)."""
        view = replace(self, **changes)
        pairs: list[tuple[str, Any]] = []
        if view.project:
            pairs.append(("project", view.project))
        pairs += [("status", s) for s in view.statuses] + [("type", t) for t in view.types]
        pairs += [("tag", t) for t in view.tags] + [("user", u) for u in view.users]
        if view.search:
            pairs.append(("q", view.search))
        if view.archived:
            pairs.append(("archived", "1"))
        pairs += [("metric", f"{m}|{v}") for m, v in view.metrics] + [("param", f"{s}|{n}") for s, n in view.params]
        if view.sort != "-last_update":
            pairs.append(("sort", view.sort))
        if view.page:
            pairs.append(("page", view.page))
        if view.page_size != 50:
            pairs.append(("page_size", view.page_size))
        return "/tasks" + ("?" + urlencode(pairs) if pairs else "")

    def sort_url(self, key: str) -> str:
        """Sort by `key`: descending first for times and numbers, ascending for texts; again to flip."""
        if self.sort.lstrip("-") == key:
            return self.url(sort=key if self.sort.startswith("-") else f"-{key}", page=0)
        textual = key in ("name", "status", "type", "user", "tags")
        return self.url(sort=key if textual else f"-{key}", page=0)

    def sorted_as(self, key: str) -> str:
        """`ascending`, `descending` or `none` (the header's aria-sort)."""
        if self.sort.lstrip("-") != key:
            return "none"
        return "descending" if self.sort.startswith("-") else "ascending"


def _metric_value(task: dict[str, Any], metric: str, variant: str) -> Any:
    entry = ((task.get("last_metrics") or {}).get(field_hash(metric)) or {}).get(field_hash(variant)) or {}
    return entry.get("value")


def _param_value(task: dict[str, Any], section: str, name: str) -> Any:
    return (((task.get("hyperparams") or {}).get(section) or {}).get(name) or {}).get("value")


def table_rows(tasks: list[dict[str, Any]], query: TableQuery) -> list[dict[str, Any]]:
    """The listed tasks as the template shows them, with the chosen metric and hyper-parameter values."""
    rows = []
    for task in tasks:
        row = dict(task)
        row["metric_values"] = [_metric_value(task, m, v) for m, v in query.metrics]
        row["param_values"] = [_param_value(task, s, n) for s, n in query.params]
        rows.append(row)
    return rows


def metric_options(tasks: list[dict[str, Any]], query: TableQuery) -> list[tuple[str, str]]:
    """The metric columns one may add: the (metric, variant) pairs reported by the listed tasks, and the chosen."""
    found = {(v["metric"], v["variant"]) for t in tasks for m in (t.get("last_metrics") or {}).values()
             if isinstance(m, dict) for v in m.values()
             if isinstance(v, dict) and isinstance(v.get("metric"), str) and isinstance(v.get("variant"), str)}
    return sorted(found | set(query.metrics))[:100]


def param_options(tasks: list[dict[str, Any]], query: TableQuery) -> list[tuple[str, str]]:
    """The hyper-parameter columns one may add: those of the listed tasks, and the chosen."""
    found = {(section, name) for t in tasks for section, values in (t.get("hyperparams") or {}).items()
             if isinstance(values, dict) for name in values}
    return sorted(found | set(query.params))[:100]
