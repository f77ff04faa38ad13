"""Pure decisions of the models service (issue 10 §2): create, edit, update, publish, metadata, archive, delete.

A model is a stream; each function takes the model's current document (None: no such model) and returns the
events of the call or raises the reference server's rejection. Ownership (the caller's company) is checked here:
a public model is read-only (400/201, as the reference finds no model of the caller's company to write).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from taskstream.commands.messages import ChangeModel, CreateModel, DeleteModel, EditMetadata
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, validation_error
from taskstream.schemas.event_base import Event
from taskstream.schemas.model_events import (
    ModelArchived,
    ModelCreated,
    ModelDeleted,
    ModelEdited,
    ModelMetadataChanged,
    ModelPublished,
    ModelTaskUnlinked,
    ModelUnarchived,
    ModelUpdated,
)

ARCHIVED = "archived"
# The fields `models.create` and `models.edit` write (the reference's `create_fields`).
WRITABLE = ("name", "tags", "system_tags", "task", "comment", "uri", "project", "parent", "framework", "design",
            "labels", "ready", "metadata")
# The fields `models.update` writes: those a user may set (the reference's `safe_update`).
USER_SETTABLE = ("name", "project", "created", "comment", "tags", "system_tags", "uri", "ui_cache", "metadata")
# Writing any of these also moves `last_update` (the reference's `last_update_fields`).
LAST_UPDATE_FIELDS = frozenset({"uri", "framework", "design", "labels", "ready", "metadata", "system_tags", "tags"})
MIN_NAME = 3


def invalid_model(model_id: str, company: str) -> ApiError:
    return ApiError(400, 201, None, company=company, id=model_id)


def owned(doc: dict[str, Any] | None, model_id: str, company: str) -> dict[str, Any]:
    """The model's document if the company owns it; else 400/201 (public models are read-only)."""
    if doc is None or doc.get("company") != company:
        raise invalid_model(model_id, company)
    return doc


def metadata_map(items: Any) -> dict[str, dict[str, Any]]:
    """The stored form of metadata given as a list of `{key, type, value}` or a map of such items (keyed by key)."""
    listed = list(items.values()) if isinstance(items, dict) else items if isinstance(items, list) else None
    if listed is None:
        raise validation_error("metadata must be a list or a map of {key, type, value}")
    result: dict[str, dict[str, Any]] = {}
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise validation_error("metadata items need a non-empty key", item=item)
        result[item["key"]] = {k: item[k] for k in ("key", "type", "value") if k in item}
    return result


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields in document form: tags sorted, metadata keyed, name and labels validated (400/12)."""
    result = copy.deepcopy(fields)
    name = result.get("name")
    if "name" in result and (not isinstance(name, str) or len(name.strip()) < MIN_NAME):
        raise validation_error(f"name must be a string of at least {MIN_NAME} characters", name=name)
    if isinstance(name, str):
        result["name"] = name.strip()
    labels = result.get("labels")
    if labels is not None and not (isinstance(labels, dict) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in labels.values())):
        raise validation_error("labels values must be integers", labels=labels)
    for key in ("tags", "system_tags"):
        if key in result:
            result[key] = sorted({str(t) for t in result[key] or []})
    if "metadata" in result:
        result["metadata"] = metadata_map(result["metadata"] or [])
    return result


def decide_create(command: CreateModel, model_id: str, company: str, user: str, now: datetime) -> ModelCreated:
    """The new model's document: the given fields over the reference's defaults (ready, empty uri and tags)."""
    stamp = iso(now)
    fields = _checked({k: v for k, v in command.fields.items() if k in WRITABLE and v is not None})
    doc: dict[str, Any] = {"id": model_id, "company": "" if command.public else company, "user": user,
                           "created": stamp, "last_update": stamp, "last_change": stamp, "last_changed_by": user,
                           "uri": "", "ready": True, "tags": [], "system_tags": [], "last_iteration": 0, **fields}
    if command.fields.get("ui_cache") is not None:
        doc["ui_cache"] = copy.deepcopy(command.fields["ui_cache"])
    return ModelCreated(model=doc)


def decide_change(doc: dict[str, Any] | None, command: ChangeModel, company: str, user: str,
                  now: datetime) -> list[Event]:
    """`edit`/`update`: the given fields, `last_change` (and `last_update` when a content field is written).
    Nothing to write → no event (the reference answers `updated: 0`)."""
    owned(doc, command.model, company)
    allowed = WRITABLE if command.kind == "edit" else USER_SETTABLE
    fields = _checked({k: v for k, v in command.fields.items() if k in allowed and v is not None})
    if not fields:
        return []
    stamp = iso(now)
    fields.update(last_change=stamp, last_changed_by=user)
    if LAST_UPDATE_FIELDS & set(fields):
        fields["last_update"] = stamp
    return [ModelEdited(set=fields) if command.kind == "edit" else ModelUpdated(set=fields)]


def decide_publish(doc: dict[str, Any] | None, model_id: str, company: str, user: str, now: datetime,
                   task: str | None = None) -> ModelPublished:
    """`ready` true; an already ready model → 400/203."""
    owned(doc, model_id, company)
    assert doc is not None
    if doc.get("ready"):
        raise ApiError(400, 203, None, company=company, model=model_id)
    stamp = iso(now)
    return ModelPublished(set={"ready": True, "last_update": stamp, "last_change": stamp,
                               "last_changed_by": user}, task=task)


def decide_metadata(doc: dict[str, Any] | None, command: EditMetadata, company: str, user: str,
                    now: datetime) -> ModelMetadataChanged:
    """The whole resulting metadata map: items added or replaced (or the map replaced), keys deleted."""
    owned(doc, command.model, company)
    assert doc is not None
    current = {} if command.replace else copy.deepcopy(doc.get("metadata") or {})
    current.update(copy.deepcopy(command.items))
    for key in command.delete_keys:
        current.pop(key, None)
    stamp = iso(now)
    return ModelMetadataChanged(set={"metadata": current, "last_update": stamp, "last_change": stamp,
                                     "last_changed_by": user})


def decide_archive(doc: dict[str, Any] | None, model_id: str, company: str, user: str, now: datetime,
                   archive: bool) -> ModelArchived | ModelUnarchived:
    """Add (remove) the `archived` system tag; answered as done even when it already was (as the reference)."""
    owned(doc, model_id, company)
    assert doc is not None
    tags = set(doc.get("system_tags") or [])
    tags = tags | {ARCHIVED} if archive else tags - {ARCHIVED}
    changes = {"system_tags": sorted(tags), "last_change": iso(now), "last_changed_by": user}
    return ModelArchived(set=changes) if archive else ModelUnarchived(set=changes)


def decide_task_unlink(doc: dict[str, Any], deleted_task: str | None, user: str,
                       now: datetime) -> ModelTaskUnlinked:
    """The model loses its task link when its task is reset (`task` unset) or deleted (`deleted_task` given:
    `task = "__DELETED__<id>"`)."""
    stamp = iso(now)
    changes = {"last_change": stamp, "last_changed_by": user}
    if deleted_task:
        return ModelTaskUnlinked(set={**changes, "task": f"__DELETED__{deleted_task}"})
    return ModelTaskUnlinked(set=changes, unset=["task"] if "task" in doc else [])


def decide_delete(doc: dict[str, Any] | None, command: DeleteModel, company: str, using_tasks: int,
                  creating_task_status: str | None) -> ModelDeleted:
    """Delete the company's model. Without `force`: used as an input model by tasks → 400/205; created by a task
    that is published → 400/206."""
    owned(doc, command.model, company)
    if using_tasks and not command.force:
        raise ApiError(400, 205, "as execution model, use force=True to delete", num_tasks=using_tasks)
    if creating_task_status == "published" and not command.force:
        assert doc is not None
        raise ApiError(400, 206, "and published, use force=True to delete", task=doc.get("task"))
    return ModelDeleted(force=command.force)
