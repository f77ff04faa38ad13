"""`only_fields` / `projection` of `get_all`, `get_all_ex` and `get_by_id_ex` (§6.1, §6.6, §6.7): the task field
names a call may ask for and which references it joins, and the `{"id": …}` reference expansion of the `_ex`
endpoints. Shaping the documents is `query.fields.shape`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from taskstream.projections.documents import DEFAULT_EXCLUDED
from taskstream.projections.query import fields
from taskstream.projections.task_query.paths import TASK_FIELDS, lookup_error, unescape_path
from taskstream.schemas.errors import ApiError

JOINABLE = ("project", "parent", "user")
OBJECT_FIELDS = frozenset({"output", "execution", "models", "container", "script", "hyperparams",
                           "configuration", "runtime", "last_metrics", "metric_stats", "enqueue_status"})
REFERENCE_FIELDS = ("company", "user", "project", "parent")


@dataclass
class TaskFieldSpec(fields.FieldSpec):
    """A task projection: the generic spec (paths unescaped) plus the references to join (`_ex` endpoints)."""

    joins: dict[str, list[str]] = field(default_factory=dict)


def _requested(data: dict[str, Any]) -> list[Any] | None:
    requested = data.get("projection") if data.get("projection") is not None else data.get("only_fields")
    if isinstance(requested, str):
        return list(requested)
    return requested if isinstance(requested, list) else None


def field_spec(data: dict[str, Any], extended: bool) -> TaskFieldSpec | None:
    """The projection of a call, or None without one. Unknown fields: 400/14, with the `get_all` (Lookup
    error) or `get_all_ex` (Fields not defined for object) message (§6.1)."""
    requested = _requested(data)
    if requested is None:
        return None
    spec, unknown = TaskFieldSpec(), []
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


def shape(doc: dict[str, Any], spec: fields.FieldSpec | None, *, owned: bool = False) -> dict[str, Any]:
    """A task document as projected (`query.fields.shape`, `owned` as there); without includes the default
    exclusions are left out (kept with `*`)."""
    return fields.shape(doc, spec, DEFAULT_EXCLUDED, owned=owned)


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
