"""Pure decisions for the single-field task calls: artifacts (§5.32, §5.33), models (§5.7, §5.8), requirements
(§5.29), make_public/make_private (§2.5), move (§5.42) and update_batch (§5.12).

Calls over several tasks decide on all of them at once and return the events per task id, so a rejection of
any id writes nothing for all of them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskstream.commands import task_document as td
from taskstream.commands.decide_params import updatable
from taskstream.commands.decide_task import active_duration, decide_update, writable
from taskstream.commands.messages import UpdateTask
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, invalid_task_id, validation_error
from taskstream.schemas.events import (
    ArtifactsDeleted,
    ArtifactsUpdated,
    Event,
    ModelsEdited,
    RequirementsSet,
    TaskMadePrivate,
    TaskMadePublic,
    TaskMoved,
)

Docs = dict[str, dict[str, Any] | None]


@dataclass(frozen=True)
class AddOrUpdateArtifacts:
    task: str
    artifacts: list[dict[str, Any]]


@dataclass(frozen=True)
class DeleteArtifacts:
    task: str
    artifacts: list[dict[str, Any]]


@dataclass(frozen=True)
class AddOrUpdateModel:
    task: str
    name: str
    model: str
    type: str
    iteration: int | None = None


@dataclass(frozen=True)
class DeleteModels:
    task: str
    models: list[dict[str, Any]]


@dataclass(frozen=True)
class SetRequirements:
    task: str
    requirements: dict[str, Any]


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


def decide_make_public(docs: Docs, company: str) -> dict[str, list[Event]]:
    """Every id a task of the caller's company (not public yet), else 400/101 naming the others."""
    missing = [i for i, doc in docs.items() if doc is None or doc.get("company") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    return {i: [TaskMadePublic(set={"company": "", "company_origin": company})] for i in docs}


def decide_make_private(docs: Docs, company: str) -> dict[str, list[Event]]:
    """Every id public and published by the caller's company, else 400/101 naming the others."""
    missing = [i for i, doc in docs.items()
               if doc is None or doc.get("company") != "" or doc.get("company_origin") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    return {i: [TaskMadePrivate(set={"company": company}, unset=["company_origin"])] for i in docs}


def decide_move(docs: Docs, project: str, company: str, now: datetime) -> dict[str, list[Event]]:
    """Tasks of the caller's company get the project; unknown, foreign and public ids are silently skipped."""
    stamp = iso(now)
    return {i: [TaskMoved(project=project, set={"project": project, "last_change": stamp})]
            for i, doc in docs.items() if doc is not None and doc.get("company") == company}


def decide_update_batch(docs: Docs, items: dict[str, dict[str, Any]], company: str,
                        now: datetime) -> dict[str, list[Event]]:
    """Every task writable (any public → 403/21 first, then missing → 400/101); each item as in `update`."""
    public = [i for i, doc in docs.items() if doc is not None and doc.get("company") == ""]
    if public:
        raise ApiError(403, 21, f"cannot modify public task(s), ids={tuple(public)!r}")
    missing = [i for i, doc in docs.items() if doc is None or doc.get("company") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    decided = {i: decide_update(docs[i], UpdateTask(i, item), company, now, batch=True) for i, item in items.items()}
    return {i: events for i, events in decided.items() if events}
