"""`only_fields`: which parts of each document a listing returns. The one implementation behind tasks (`get_all`,
`get_all_ex`, `get_by_id_ex`, their joins), queues and projects; each caller parses its own field names (whitelist,
escaping) into a `FieldSpec`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from taskstream.schemas.errors import ApiError


@dataclass
class FieldSpec:
    """A parsed projection: include and exclude paths (as parts), and `*` (everything, default exclusions kept)."""

    includes: list[list[str]] = field(default_factory=list)
    excludes: list[list[str]] = field(default_factory=list)
    everything: bool = False

    def top_keys(self) -> tuple[str, ...] | None:
        """The top-level document keys the result can need, or None for the whole document."""
        if self.everything or not self.includes:
            return None
        return tuple(sorted({parts[0] for parts in self.includes}))


def dotted_spec(only_fields: list[str] | None) -> FieldSpec:
    """`["a.b", "-c"]` as a spec: dotted paths split on every dot, `-path` excludes. A path that is not a string
    answers the reference's lookup error (400/14)."""
    spec = FieldSpec()
    for path in only_fields or []:
        if not isinstance(path, str):
            raise ApiError(400, 14, "Lookup error (probably an invalid field name or unsupported nested field)",
                           err=f'Cannot resolve field "{path}"')
        if path.startswith("-"):
            spec.excludes.append(path[1:].split("."))
        else:
            spec.includes.append(path.split("."))
    return spec


def wants(spec: FieldSpec | None, name: str) -> bool:
    """Whether the shaped document can hold the top-level field `name`."""
    keys = None if spec is None else spec.top_keys()
    return keys is None or name in keys


def _get(doc: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(doc, dict) or part not in doc:
            return False, None
        doc = doc[part]
    return True, doc


def _put(target: dict[str, Any], parts: list[str], value: Any, copy_value: bool) -> None:
    for part in parts[:-1]:
        existing = target.get(part)
        target = target.setdefault(part, {}) if isinstance(existing, dict) or existing is None else {}
    # Scalars are immutable: only containers need a copy (most listed fields are scalars).
    scalar = isinstance(value, (str, int, float, bool, type(None)))
    target[parts[-1]] = copy.deepcopy(value) if copy_value and not scalar else value


def shape(doc: dict[str, Any], spec: FieldSpec | None, hidden: tuple[str, ...] = (), *,
          owned: bool = False) -> dict[str, Any]:
    """The document as projected: the includes only (an included path missing below an object leaves that object
    as `{}`, as MongoDB projects), or the whole document minus the `hidden` fields (kept with `*`); then the
    excludes removed. Never changes `doc` nor shares its containers, unless the caller `owned` it (decoded for this
    call and not used after): then its values are reused, and without includes `doc` itself is the result."""
    if spec is not None and spec.includes and not spec.everything:
        result: dict[str, Any] = {}
        for parts in spec.includes:
            if len(parts) == 1:  # a whole top-level field, the common case
                if parts[0] in doc:
                    _put(result, parts, doc[parts[0]], not owned)
                continue
            found, value = _get(doc, parts)
            if found:
                _put(result, parts, value, not owned)
            elif isinstance(doc.get(parts[0]), dict):
                result.setdefault(parts[0], {})
    else:
        result = doc if owned else copy.deepcopy(doc)
        if spec is None or not spec.everything:
            for name in hidden:
                result.pop(name, None)
    for parts in spec.excludes if spec else []:
        found, parent = _get(result, parts[:-1])
        if found and isinstance(parent, dict):
            parent.pop(parts[-1], None)
    return result
