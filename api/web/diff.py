"""What differs, for the web UI: a task's parameters as flat rows, several tasks' rows side by side with the
differing ones marked (compare page), and the fields an audit entry changed (history tab). Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

MISSING: Any = None  # what a task without the key shows in a comparison
MAX_ROWS = 2000  # a comparison or change list longer than this is cut (the page says so)
MAX_TEXT_DIFF_LINES = 400
# difflib's time grows with the square of the lines (a 40000-line value took 2 s, blocking the process): longer
# values are shown without a line diff, and one comparison diffs at most MAX_TEXT_DIFFS values.
MAX_DIFF_INPUT_LINES = 2000
MAX_TEXT_DIFFS = 50


def flatten(value: Any, prefix: str = "", empty: bool = True) -> dict[str, Any]:
    """Dotted paths to the leaves of nested objects (lists and scalars are leaves); an empty object is a leaf `{}`
    unless `empty` is false (then it is left out, as an object with nothing in it)."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {"": value}
    flat: dict[str, Any] = {}
    for key in sorted(value, key=str):
        path = f"{prefix}.{key}" if prefix else str(key)
        child = value[key]
        if isinstance(child, dict) and child:
            flat.update(flatten(child, path, empty))
        elif empty or child != {}:
            flat[path] = child
    return flat


def hyperparameters(task: dict[str, Any]) -> dict[str, Any]:
    """`section/name` -> value of the task's hyper-parameters (`hyperparams.<section>.<name>.value`)."""
    rows: dict[str, Any] = {}
    sections = task.get("hyperparams")
    for section, params in sorted((sections or {}).items()) if isinstance(sections, dict) else ():
        for name, param in sorted((params or {}).items()) if isinstance(params, dict) else ():
            rows[f"{section}/{name}"] = param.get("value") if isinstance(param, dict) else param
    return rows


def configuration(task: dict[str, Any]) -> dict[str, Any]:
    """name -> value of the task's configuration items (`configuration.<name>.value`)."""
    items = task.get("configuration")
    if not isinstance(items, dict):
        return {}
    return {name: item.get("value") if isinstance(item, dict) else item for name, item in sorted(items.items())}


def display(value: Any) -> str:
    """A value as the page shows it: strings as they are, anything else as compact JSON; absent as ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class CompareRow:
    key: str
    values: list[str]  # one per task, in the tasks' order
    differs: bool
    text_diff: list[str] | None = None  # a unified diff of the first two differing multi-line values


def compare(columns: list[dict[str, Any]]) -> list[CompareRow]:
    """The union of keys over `columns` (one mapping per task), sorted, each with every task's value and whether
    they differ (a key some tasks lack differs). At most MAX_ROWS rows."""
    keys = sorted({key for column in columns for key in column})[:MAX_ROWS]
    rows = []
    diffs = 0
    for key in keys:
        values = [display(column.get(key, MISSING)) for column in columns]
        present = {key in column for column in columns}
        differs = len(set(values)) > 1 or len(present) > 1
        text_diff = _text_diff(values) if differs and diffs < MAX_TEXT_DIFFS else None
        diffs += text_diff is not None
        rows.append(CompareRow(key, values, differs, text_diff))
    return rows


def _text_diff(values: list[str]) -> list[str] | None:
    distinct = list(dict.fromkeys(values))
    if len(distinct) < 2 or not any("\n" in v for v in distinct[:2]):
        return None
    first, second = distinct[0].splitlines(), distinct[1].splitlines()
    if max(len(first), len(second)) > MAX_DIFF_INPUT_LINES:
        return None
    lines = difflib.unified_diff(first, second, "first", "second", lineterm="", n=2)
    return list(lines)[2:MAX_TEXT_DIFF_LINES + 2]


@dataclass(frozen=True)
class Change:
    path: str
    before: str
    after: str
    kind: str  # "added", "removed" or "changed"


def changes(before: Any, after: Any, skip: tuple[str, ...] = ()) -> list[Change]:
    """The leaves that differ between an audit entry's `before` and `after` (dicts of dotted path -> value, or whole
    documents; None for a task's creation or deletion), path order, at most MAX_ROWS; paths in `skip` (and below
    them) left out. An empty object and no object are the same."""
    old, new = flatten(before or {}, empty=False), flatten(after or {}, empty=False)
    found = []
    for path in sorted(old.keys() | new.keys()):
        if path.split(".", 1)[0] in skip:
            continue
        was, now = old.get(path), new.get(path)
        if was == now:
            continue
        kind = "added" if was is None else "removed" if now is None else "changed"
        found.append(Change(path, display(was), display(now), kind))
        if len(found) == MAX_ROWS:
            break
    return found
