"""Task documents as the API returns them: projection (`only_fields`), default exclusions and the conversions
for old API versions (§1.5, §3.6, §6.6, §6.8)."""

from __future__ import annotations

import copy
from typing import Any

from taskstream.projections.query.fields import dotted_spec, shape

DEFAULT_EXCLUDED = ("unique_metrics", "company_origin", "enqueue_status")


def project(doc: dict[str, Any], only_fields: list[str] | None, exclude_defaults: bool) -> dict[str, Any]:
    """`only_fields` as a plain list of dotted paths (`-path` removes a field), through the one implementation,
    `query.fields.shape`; `exclude_defaults` leaves out the task fields the API never returns unasked."""
    return shape(doc, dotted_spec(only_fields), DEFAULT_EXCLUDED if exclude_defaults else ())


def for_version(doc: dict[str, Any], requested: tuple[int, int]) -> dict[str, Any]:
    """Output conversions by requested version: < 2.13 model/docker fields, < 2.9 legacy maps, < 2.3 tags.

    Like the reference's nested_set, a converted field is written even when the projection left out its parent."""
    if requested >= (2, 13):
        return doc
    doc = copy.deepcopy(doc)
    found = doc.get("models")
    models: dict[str, Any] = found if isinstance(found, dict) else {}
    for mode, parent, index in (("input", "execution", 0), ("output", "output", -1)):
        if models.get(mode):
            doc.setdefault(parent, {})["model"] = models[mode][index].get("model")
    container = doc.get("container") or {}
    if container.get("image"):
        doc.setdefault("execution", {})["docker_cmd"] = " ".join(
            p for p in (container["image"], container.get("arguments")) if p)
    if requested < (2, 9):
        _legacy_maps(doc)
    if requested < (2, 3) and doc.get("system_tags"):
        doc["tags"] = sorted(set(doc.get("tags") or []) | set(doc["system_tags"]))
    return doc


def _legacy_maps(doc: dict[str, Any]) -> None:
    """`execution.parameters`/`model_desc` from the legacy-typed items, when there are any (§3.3)."""
    parameters = {
        (f"TF_DEFINE/{name}" if section == "TF_DEFINE" else name): item.get("value")
        for section, items in (doc.get("hyperparams") or {}).items()
        for name, item in items.items() if item.get("type") == "legacy"
    }
    model_desc = {name: item.get("value") for name, item in (doc.get("configuration") or {}).items()
                  if item.get("type") == "legacy"}
    for key, legacy in (("parameters", parameters), ("model_desc", model_desc)):
        if legacy:
            doc.setdefault("execution", {})[key] = legacy
