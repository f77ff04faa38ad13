"""Pure decisions for hyper-parameter and configuration edits (§5.36, §5.37, §5.40, §5.41).

Items arrive as lists and are stored in the maps of §3.3 (`hyperparams[section][name]`,
`configuration[name]`), under their names (stripped; the read model keeps names unescaped). Each decision
writes the whole resulting map: a name may contain `.`, which a dotted event path could not address.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from taskstream.commands.decide_task import writable
from taskstream.commands.messages import DeleteConfiguration, DeleteHyperParams, EditConfiguration, EditHyperParams
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, invalid_task_status, validation_error
from taskstream.schemas.events import (
    ConfigurationDeleted,
    ConfigurationEdited,
    Event,
    HyperParamsDeleted,
    HyperParamsEdited,
)

PROPERTIES = "properties"
PARAM_KEYS = ("section", "name", "value", "type", "description")
CONFIGURATION_KEYS = ("name", "value", "type", "description")


def updatable(doc: dict[str, Any] | None, task_id: str, company: str, force: bool,
              any_status: bool = False) -> dict[str, Any]:
    """Writable (§2.5) and `created`, or `in_progress` with force (get_task_for_update); else 400/110."""
    task = writable(doc, task_id, company)
    allowed = ("created", "in_progress") if force else ("created",)
    if not any_status and task.get("status") not in allowed:
        raise invalid_task_status(expected="created", status=task.get("status"))
    return task


def _text(item: dict[str, Any], key: str, required: bool) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise validation_error(f"error for field '{key}'. field is required!")
        return None
    if not isinstance(value, str):
        raise validation_error(f'value is wrong, expected type "str" {value}')
    return value


def check_items(items: Any, keys: tuple[str, ...], required: tuple[str, ...]) -> list[dict[str, Any]]:
    """Request items with their known keys only; required keys present, every value a string (else 400/12)."""
    if not isinstance(items, list):
        raise validation_error(f'value is wrong, expected type "list" {items}')
    result = []
    for item in items:
        if not isinstance(item, dict):
            raise validation_error(f'value is wrong, expected type "dict" {item}')
        checked = {key: _text(item, key, key in required) for key in keys}
        name_kind = "parameter" if "section" in keys else "configuration"
        for key, kind in (("name", name_kind), ("section", "section")):
            if key in required and checked[key] == "":
                # The reference's item models give section and name a minimum length of 1.
                raise validation_error("value '' length is lower than allowed minimum '1'.")
            if key in required and not str(checked[key]).strip():
                raise validation_error(f"Empty {kind} name is not allowed")
        result.append({k: v for k, v in checked.items() if v is not None})
    return result


def normalize_properties(items: list[dict[str, Any]]) -> bool:
    """`Properties` in any case becomes `properties`; True when every item is in that section (§5.36)."""
    for item in items:
        if item["section"].lower() == PROPERTIES:
            item["section"] = PROPERTIES
    return all(item["section"] == PROPERTIES for item in items)


def _stamps(now: datetime, last_update: bool = True) -> dict[str, Any]:
    stamp = iso(now)
    return {"last_change": stamp, "last_update": stamp} if last_update else {"last_change": stamp}


def _by_section(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sections: dict[str, dict[str, Any]] = {}
    for item in items:
        sections.setdefault(item["section"].strip(), {})[item["name"].strip()] = copy.deepcopy(item)
    return sections


def decide_edit_hyper_params(doc: dict[str, Any] | None, command: EditHyperParams, company: str,
                             now: datetime) -> list[Event]:
    """Upsert (`none`), replace the mentioned sections (`section`) or the whole map (`all`)."""
    items = [dict(item) for item in command.items]
    properties_only = normalize_properties(items)
    task = updatable(doc, command.task, company, command.force, any_status=properties_only)
    given = _by_section(items)
    if command.replace == "all":
        hyperparams = given
    else:
        hyperparams = copy.deepcopy(task.get("hyperparams") or {})
        for section, params in given.items():
            if command.replace == "section":
                hyperparams[section] = params
            else:
                hyperparams.setdefault(section, {}).update(params)
    return [HyperParamsEdited(set={"hyperparams": hyperparams, **_stamps(now, not properties_only)})]


def decide_delete_hyper_params(doc: dict[str, Any] | None, command: DeleteHyperParams, company: str,
                               now: datetime) -> list[Event]:
    """An item without name deletes its section; naming a parameter of such a section too → 400/15."""
    items = [dict(item) for item in command.items]
    properties_only = normalize_properties(items)
    task = updatable(doc, command.task, company, command.force, any_status=properties_only)
    whole = {item["section"].strip() for item in items if not item.get("name")}
    hyperparams = copy.deepcopy(task.get("hyperparams") or {})
    for item in items:
        section = item["section"].strip()
        if not item.get("name"):
            hyperparams.pop(section, None)
            continue
        if section in whole:
            raise ApiError(400, 15,
                           "Cannot delete section field if the whole section was scheduled for deletion")
        if isinstance(hyperparams.get(section), dict):
            # The section stays, even when its last parameter goes (§5.37, Appendix A 17).
            hyperparams[section].pop(item["name"].strip(), None)
    return [HyperParamsDeleted(set={"hyperparams": hyperparams, **_stamps(now, not properties_only)})]


def decide_edit_configuration(doc: dict[str, Any] | None, command: EditConfiguration, company: str,
                              now: datetime) -> list[Event]:
    """Upsert by name, or replace the whole map; no `properties` exception here (§5.40)."""
    task = updatable(doc, command.task, company, command.force)
    given = {item["name"].strip(): copy.deepcopy(item) for item in command.items}
    configuration = given if command.replace else {**copy.deepcopy(task.get("configuration") or {}), **given}
    return [ConfigurationEdited(set={"configuration": configuration, **_stamps(now)})]


def decide_delete_configuration(doc: dict[str, Any] | None, command: DeleteConfiguration, company: str,
                                now: datetime) -> list[Event]:
    """Remove the named items; unknown names are ignored (the call still reports `deleted: 1`)."""
    task = updatable(doc, command.task, company, command.force)
    names = {name.strip() for name in command.names}
    current = task.get("configuration") or {}
    configuration = {k: copy.deepcopy(v) for k, v in current.items() if k not in names}
    return [ConfigurationDeleted(set={"configuration": configuration, **_stamps(now)})]
