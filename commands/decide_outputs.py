"""Pure decisions for what one task produced and needs: artifacts (§5.32, §5.33), models (§5.7, §5.8) and
requirements (§5.29); one task, one decision."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from taskstream.commands import task_document as td
from taskstream.commands.decide_params import updatable
from taskstream.commands.decide_task import active_duration, writable
from taskstream.commands.messages import (
    AddOrUpdateArtifacts,
    AddOrUpdateModel,
    DeleteArtifacts,
    DeleteModels,
    SetRequirements,
)
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, validation_error
from taskstream.schemas.events import (
    ArtifactsDeleted,
    ArtifactsUpdated,
    Event,
    ModelsEdited,
    RequirementsSet,
)


def check_request_items(items: Any, required: tuple[str, ...],
                        enums: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """List items of a request model: objects with their required keys, enum values checked (else 400/12)."""
    if not isinstance(items, list):
        raise validation_error(f'value is wrong, expected type "list" {items}')
    for item in items:
        if not isinstance(item, dict):
            raise validation_error(f'value is wrong, expected type "dict" {item}')
        for key in required:
            if item.get(key) is None:
                raise validation_error(f"error for field '{key}'. field is required!")
        for key, choices in enums.items():
            if item.get(key) is not None and item[key] not in choices:
                raise validation_error(f"value '{item[key]}' is not a valid choice.")
    return items


def _artifact_slots(artifacts: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["key"], a.get("mode") or "output"): a for a in artifacts}


def decide_add_or_update_artifacts(doc: dict[str, Any] | None, command: AddOrUpdateArtifacts, company: str,
                                   now: datetime) -> list[Event]:
    """Each (key, mode) slot is replaced by the new object; `force` is always on (created or in_progress)."""
    task = updatable(doc, command.task, company, force=True)
    slots = _artifact_slots(copy.deepcopy((task.get("execution") or {}).get("artifacts") or []))
    slots.update(_artifact_slots(td.check_artifacts(command.artifacts)))
    artifacts = sorted(slots.values(), key=lambda a: a["key"])
    stamp = iso(now)
    changes = {"execution.artifacts": artifacts, "last_update": stamp, "last_change": stamp}
    return [ArtifactsUpdated(set=changes)]


def decide_delete_artifacts(doc: dict[str, Any] | None, command: DeleteArtifacts, company: str,
                            now: datetime) -> list[Event]:
    """Remove the (key, mode) slots; ones that do not exist are ignored."""
    task = updatable(doc, command.task, company, force=True)
    gone = {(a["key"], a.get("mode") or "output") for a in command.artifacts}
    current = _artifact_slots(copy.deepcopy((task.get("execution") or {}).get("artifacts") or []))
    artifacts = [a for key, a in current.items() if key not in gone]
    stamp = iso(now)
    return [ArtifactsDeleted(set={"execution.artifacts": sorted(artifacts, key=lambda a: a["key"]),
                                  "last_update": stamp, "last_change": stamp})]


def decide_add_or_update_model(doc: dict[str, Any] | None, command: AddOrUpdateModel, company: str,
                               now: datetime) -> list[Event]:
    """Replace the first item of `models.<type>` with this name, or append one; refresh the statistics."""
    task = updatable(doc, command.task, company, force=True)
    stamp = iso(now)
    item = {"name": command.name, "model": command.model, "updated": stamp}
    models = copy.deepcopy(list((task.get("models") or {}).get(command.type) or []))
    index = next((i for i, m in enumerate(models) if m.get("name") == command.name), None)
    if index is None:
        models.append(item)
    else:
        models[index] = item
    changes: dict[str, Any] = {f"models.{command.type}": models, "last_update": stamp, "last_change": stamp}
    if command.iteration is not None:
        changes["last_iteration"] = max(int(task.get("last_iteration") or 0), command.iteration)
    duration = active_duration(task, now)
    if duration is not None:
        changes["active_duration"] = duration
    return [ModelsEdited(set=changes)]


def decide_delete_models(doc: dict[str, Any] | None, command: DeleteModels, company: str,
                         now: datetime) -> list[Event]:
    """Remove the named items of each type; unknown names are ignored. Sets `last_change` only."""
    task = updatable(doc, command.task, company, force=True)
    changes: dict[str, Any] = {}
    for kind in ("input", "output"):
        names = {m["name"] for m in command.models if m.get("type") == kind}
        if names:
            current = (task.get("models") or {}).get(kind) or []
            changes[f"models.{kind}"] = [copy.deepcopy(m) for m in current if m.get("name") not in names]
    changes["last_change"] = iso(now)
    return [ModelsEdited(set=changes)]


def decide_set_requirements(doc: dict[str, Any] | None, command: SetRequirements, company: str,
                            now: datetime) -> list[Event]:
    """Replace `script.requirements`, in any status."""
    task = writable(doc, command.task, company)
    if not task.get("script"):
        raise ApiError(400, 122, "Task has no script field", task=command.task)
    stamp = iso(now)
    return [RequirementsSet(set={"script.requirements": copy.deepcopy(command.requirements),
                                 "last_update": stamp, "last_change": stamp})]
