"""`only_fields` / `projection` of `get_all`, `get_all_ex` and `get_by_id_ex` (§6.1, §6.6, §6.7): which parts
of each task document are returned, which references are joined, and the `{"id": …}` reference expansion of
the `_ex` endpoints."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from taskstream.projections.documents import DEFAULT_EXCLUDED
from taskstream.projections.query_paths import TASK_FIELDS, lookup_error, unescape_path
from taskstream.schemas.errors import ApiError

JOINABLE = ("project", "parent", "user")
OBJECT_FIELDS = frozenset({"output", "execution", "models", "container", "script", "hyperparams",
                           "configuration", "runtime", "last_metrics", "metric_stats", "enqueue_status"})
REFERENCE_FIELDS = ("company", "user", "project", "parent")


@dataclass
class FieldSpec:
    """A parsed projection: include/exclude paths (unescaped parts), `*`, and requested joins."""

    includes: list[list[str]] = field(default_factory=list)
    excludes: list[list[str]] = field(default_factory=list)
    everything: bool = False
    joins: dict[str, list[str]] = field(default_factory=dict)

    def top_keys(self) -> tuple[str, ...] | None:
        """The top-level document keys the result can need, or None for the whole document."""
        if self.everything or not self.includes:
            return None
        return tuple(sorted({parts[0] for parts in self.includes}))


def _requested(data: dict[str, Any]) -> list[Any] | None:
    fields = data.get("projection") if data.get("projection") is not None else data.get("only_fields")
    if isinstance(fields, str):
        return list(fields)
    return fields if isinstance(fields, list) else None


def field_spec(data: dict[str, Any], extended: bool) -> FieldSpec | None:
    """The projection of a call, or None without one. Unknown fields: 400/14, with the `get_all` (Lookup
    error) or `get_all_ex` (Fields not defined for object) message (§6.1)."""
    requested = _requested(data)
    if requested is None:
        return None
    spec, unknown = FieldSpec(), []
    for entry in requested:
        if not isinstance(entry, str) or entry in ("", "-"):
            unknown.append(str(entry))
            continue
        exclude, name = entry.startswith("-"), entry.lstrip("-")
        if extended and name == "*":
            spec.everything = spec.everything or not exclude
            continue
        parts = unescape_path(name)
        if parts[0] not in TASK_FIELDS or (not extended and len(parts) > 1 and parts[0] not in OBJECT_FIELDS):
            unknown.append(name)
        elif extended and not exclude and parts[0] in JOINABLE and len(parts) > 1:
            spec.joins.setdefault(parts[0], []).append(".".join(parts[1:]))
            spec.includes.append([parts[0]])
        else:
            (spec.excludes if exclude else spec.includes).append(parts)
    if unknown:
        if extended:
            raise ApiError(400, 14, None, fields=unknown, object="Task")
        raise lookup_error(unknown[0])
    if extended and spec.includes and not spec.everything:
        spec.includes.append(["id"])
    return spec


def _get(doc: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(doc, dict) or part not in doc:
            return False, None
        doc = doc[part]
    return True, doc


def _put(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        existing = target.get(part)
        target = target.setdefault(part, {}) if isinstance(existing, dict) or existing is None else {}
    # Scalars are immutable: only containers need a copy (most listed fields are scalars).
    target[parts[-1]] = value if isinstance(value, (str, int, float, bool, type(None))) else copy.deepcopy(value)


def shape(doc: dict[str, Any], spec: FieldSpec | None) -> dict[str, Any]:
    """The document as projected: includes only (a missing sub-field leaves its parent as `{}`), or the whole
    document minus the default exclusions (kept with `*`); then the `-x` excludes removed."""
    if spec is not None and spec.includes and not spec.everything:
        result: dict[str, Any] = {}
        for parts in spec.includes:
            found, value = _get(doc, parts)
            if found:
                _put(result, parts, value)
            elif len(parts) > 1 and isinstance(doc.get(parts[0]), dict):
                result.setdefault(parts[0], {})
    else:
        result = copy.deepcopy(doc)
        if spec is None or not spec.everything:
            for name in DEFAULT_EXCLUDED:
                result.pop(name, None)
    for parts in spec.excludes if spec else []:
        found, parent = _get(result, parts[:-1])
        if found and isinstance(parent, dict):
            parent.pop(parts[-1], None)
    return result


def _reference(value: Any) -> Any:
    return ({"id": value} if value else {}) if isinstance(value, str) else value


def expand_references(doc: dict[str, Any]) -> dict[str, Any]:
    """`get_all_ex` form: every reference field becomes `{"id": …}` (`{}` for an empty id) (§6.7)."""
    for name in REFERENCE_FIELDS:
        if name in doc:
            doc[name] = _reference(doc[name])
    execution = doc.get("execution")
    if isinstance(execution, dict) and "queue" in execution:
        execution["queue"] = _reference(execution["queue"])
    models = doc.get("models")
    for kind in ("input", "output"):
        for item in (models.get(kind) or []) if isinstance(models, dict) else []:
            if isinstance(item, dict) and "model" in item:
                item["model"] = _reference(item["model"])
    return doc
