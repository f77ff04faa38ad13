"""Pure decisions for creating and changing a task's fields: create, validate, edit, update, ping.

Each `decide_*` takes the current document (or None) and the command, and returns the events to append or raises
an `ApiError` (a rejection writes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from taskstream.commands import task_document as td
from taskstream.commands.messages import CreateTask, EditTask, PingTask, UpdateTask
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import forbidden_public, invalid_task_id, invalid_task_status
from taskstream.schemas.events import Event, TaskCreated, TaskEdited, TaskPinged, TaskUpdated

USER_SETTABLE = frozenset({"name", "comment", "tags", "system_tags", "project", "status_message", "created"})
MERGED_ONE_LEVEL = ("execution", "script", "output", "models")
UPDATE_FIELDS = {"name": "name", "comment": "comment", "tags": "tags", "system_tags": "system_tags",
                 "project": "project", "status_message": "status_message", "output__error": "output.error"}


def writable(doc: dict[str, Any] | None, task_id: str, company: str) -> dict[str, Any]:
    """The task as loaded for writing (§2.5): missing or foreign → 400/101, public → 403/21."""
    if doc is None or doc.get("company") not in (company, ""):
        raise invalid_task_id(id=task_id, company=company)
    if doc.get("company") == "":
        raise forbidden_public(task_id)
    return doc


def _legacy_merge(prepared: dict[str, Any], execution: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Move legacy `execution.parameters`/`model_desc` into hyper-params/configuration (§3.3).

    Without new items of the target (absent or empty), the task's own items are kept and its legacy ones
    replaced, so an empty legacy map removes them; with new items, the legacy ones are merged into those."""
    for legacy_key, target, convert in (("parameters", "hyperparams", td.legacy_parameters),
                                        ("model_desc", "configuration", td.legacy_configuration)):
        legacy = execution.get(legacy_key)
        if legacy is None:
            execution.pop(legacy_key, None)
            continue
        execution[legacy_key] = {}
        converted = convert(legacy)
        base = prepared.get(target) or {}
        current = (previous or {}).get(target) or {}
        if not base and current:
            base, removed = _without_legacy(current, target)
            if not converted and not removed:
                continue
        elif not converted:
            continue
        if target == "hyperparams":
            for section, items in converted.items():
                base.setdefault(section, {}).update(items)
        else:
            base.update(converted)
        prepared[target] = base


def _without_legacy(current: dict[str, Any], target: str) -> tuple[dict[str, Any], bool]:
    """The items that are not of type legacy (hyper-param sections left empty are dropped), and whether any was."""
    if target == "configuration":
        kept = {k: v for k, v in current.items() if v.get("type") != "legacy"}
        return kept, len(kept) < len(current)
    sections = {s: {k: v for k, v in items.items() if v.get("type") != "legacy"} for s, items in current.items()}
    removed = sum(map(len, current.values())) > sum(map(len, sections.values()))
    return {s: items for s, items in sections.items() if items}, removed


def prepare_fields(fields: dict[str, Any], now: datetime, previous: dict[str, Any] | None,
                   saved: bool = True) -> dict[str, Any]:
    """Validate and convert the given task fields into document form (only the keys that were sent). The rules the
    reference's task model applies when it saves (name length, required and string item fields, artifact type:
    400/800) apply only when `saved` (`validate` saves nothing, §5.10)."""
    prepared: dict[str, Any] = {}
    checks: dict[str, Callable[[Any], Any]] = {
        "name": lambda name: td.check_name(name, 3 if saved else 0),
        "hyperparams": lambda value: td.check_hyperparams(value, saved),
        "configuration": lambda value: td.check_configuration(value, saved),
        "script": td.check_script, "container": td.check_container, "runtime": td.check_runtime}
    for key, value in fields.items():
        if key in checks:
            prepared[key] = checks[key](value)
        elif key in ("tags", "system_tags"):
            prepared[key] = td.check_tags(value, key, check_prefix="tags" in fields)
        elif key == "models":
            prepared[key] = td.check_models(value, now)
        elif key == "output_dest":
            prepared["output"] = {"destination": value.strip() if isinstance(value, str) else value}
        elif key in ("type", "comment", "parent", "project", "status"):
            prepared[key] = value
    if "execution" in fields:
        execution = td.check_execution(fields["execution"], saved)
        _legacy_merge(prepared, execution, previous)
        prepared["execution"] = execution
    return prepared


def new_task_document(prepared: dict[str, Any], task_id: str, company: str, user: str,
                      now: datetime) -> dict[str, Any]:
    stamp = iso(now)
    doc: dict[str, Any] = {
        "id": task_id, "company": company, "user": user, "status": "created",
        "created": stamp, "last_update": stamp, "last_change": stamp, "last_iteration": 0,
        "tags": [], "system_tags": [], "configuration": {}, "hyperparams": {}, "container": {}, "runtime": {},
        "last_metrics": {}, "metric_stats": {}, "unique_metrics": [], "output": {},
        "execution": td.default_execution(), "models": {"input": [], "output": []}, "script": td.default_script(),
    }
    for key, value in prepared.items():
        if key in ("execution", "script", "output", "models"):
            doc[key] = {**doc[key], **value}
        elif key != "status" and value is not None:
            doc[key] = value
    return doc


def decide_create(command: CreateTask, task_id: str, company: str, user: str, now: datetime) -> list[Event]:
    prepared = prepare_fields(command.fields, now, None)
    return [TaskCreated(task=new_task_document(prepared, task_id, company, user, now))]


def decide_edit(doc: dict[str, Any] | None, command: EditTask, company: str, now: datetime) -> list[Event]:
    task = writable(doc, command.task, company)
    if not command.force and task.get("status") != "created":
        raise invalid_task_status(expected="created", status=task.get("status"))
    prepared = prepare_fields(command.fields, now, task)
    if not prepared:
        return []
    changes: dict[str, Any] = {}
    for key, value in prepared.items():
        if key in MERGED_ONE_LEVEL:
            changes[key] = {**(task.get(key) or {}), **value}
        else:
            changes[key] = value
    stamp = iso(now)
    changes["last_change"] = stamp
    if not set(prepared) <= USER_SETTABLE:
        changes["last_update"] = stamp
    return [TaskEdited(set=changes, force=command.force)]


def decide_update(doc: dict[str, Any] | None, command: UpdateTask, company: str, now: datetime,
                  batch: bool = False) -> list[Event]:
    """`tasks.update` (§5.11); in a `batch` (update_batch, which the reference writes without its task model) a
    string name is stored as given, whatever its length."""
    writable(doc, command.task, company)
    changes: dict[str, Any] = {}
    for key, path in UPDATE_FIELDS.items():
        if key not in command.fields:
            continue
        value = command.fields[key]
        if key == "name":
            value = value if batch and isinstance(value, str) else td.check_name(value)
        elif key in ("tags", "system_tags"):
            value = td.check_tags(value, key, check_prefix="tags" in command.fields)
        changes[path] = value
    if not changes:
        return []
    changes["last_change"] = iso(now)
    return [TaskUpdated(set=changes)]


def decide_ping(doc: dict[str, Any] | None, command: PingTask, company: str, now: datetime) -> list[Event]:
    """Ping never fails: a missing, foreign or public task is silently ignored (§5.31)."""
    if doc is None or doc.get("company") != company:
        return []
    stamp = iso(now)
    changes: dict[str, Any] = {"last_update": stamp, "last_change": stamp}
    duration = active_duration(doc, now)
    if duration is not None:
        changes["active_duration"] = duration
    return [TaskPinged(set=changes)]


def active_duration(doc: dict[str, Any], now: datetime) -> int | None:
    """Whole seconds since `started` while the task is in progress (refreshed by ping, events, models)."""
    if doc.get("status") != "in_progress" or not doc.get("started"):
        return None
    return int((now - datetime.fromisoformat(doc["started"])).total_seconds())

