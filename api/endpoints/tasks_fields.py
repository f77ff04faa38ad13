"""The single-task field endpoints: hyper-parameters, configuration, artifacts, models, requirements
(§5.7, §5.8, §5.29, §5.32, §5.33, §5.35–§5.41), and the reads of parameters and types (§5.5).

Request items are checked before the task is loaded (the reference server's request models run first); each
mutating call is one decision on one task in one transaction (`commands.handlers.task_fields.change_fields`).
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.commands import decide_outputs as dout
from taskstream.commands import decide_params as dp
from taskstream.commands import messages as msg
from taskstream.commands.handlers.task_fields import FieldCommand, change_fields
from taskstream.projections import task_params_query as queries
from taskstream.schemas.errors import validation_error


def required_list(call: Call, key: str) -> list[Any]:
    """A list field with at least one item (§1.8 messages); a missing one reads as `[]`."""
    value = call.data.get(key)
    if value is None:
        raise validation_error(f"error for field '{key}'. value '[]' length is lower than allowed "
                               "minimum '1'.")
    if not isinstance(value, list):
        raise validation_error(f'value is wrong, expected type "list" {value}')
    if not value:
        raise validation_error("value '[]' length is lower than allowed minimum '1'.")
    return value


def _strings(values: list[Any]) -> list[str]:
    for value in values:
        if not isinstance(value, str):
            raise validation_error(f'value is wrong, expected type "str" {value}')
    return values


async def _change(call: Call, command: FieldCommand) -> dict[str, Any]:
    return await change_fields(call.ctx.commands, call.caller(), command)


@endpoint("tasks.get_hyper_params")
async def get_hyper_params(call: Call) -> dict[str, Any]:
    ids = _strings(required_list(call, "tasks"))
    return {"params": await queries.hyper_params(call.ctx.pool, ids, call.actor.company)}


@endpoint("tasks.edit_hyper_params")
async def edit_hyper_params(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dp.check_items(required_list(call, "hyperparams"), dp.PARAM_KEYS, ("section", "name", "value"))
    command = msg.EditHyperParams(task_id, items, call.data.get("replace_hyperparams") or "none",
                                 bool(call.data.get("force")))
    return await _change(call, command)


@endpoint("tasks.delete_hyper_params")
async def delete_hyper_params(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dp.check_items(required_list(call, "hyperparams"), ("section", "name"), ("section",))
    command = msg.DeleteHyperParams(task_id, items, bool(call.data.get("force")))
    return await _change(call, command)


@endpoint("tasks.get_configurations")
async def get_configurations(call: Call) -> dict[str, Any]:
    ids = _strings(required_list(call, "tasks"))
    names = _strings(list(call.data.get("names") or []))
    return {"configurations": await queries.configurations(call.ctx.pool, ids, names, call.actor.company)}


@endpoint("tasks.get_configuration_names")
async def get_configuration_names(call: Call) -> dict[str, Any]:
    ids = _strings(required_list(call, "tasks"))
    skip_empty = bool(call.data.get("skip_empty", True))
    return {"configurations": await queries.configuration_names(call.ctx.pool, ids, skip_empty,
                                                                call.actor.company)}


@endpoint("tasks.edit_configuration")
async def edit_configuration(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dp.check_items(required_list(call, "configuration"), dp.CONFIGURATION_KEYS, ("name", "value"))
    command = msg.EditConfiguration(task_id, items, bool(call.data.get("replace_configuration")),
                                   bool(call.data.get("force")))
    return await _change(call, command)


@endpoint("tasks.delete_configuration")
async def delete_configuration(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    command = msg.DeleteConfiguration(task_id, _strings(required_list(call, "configuration")),
                                     bool(call.data.get("force")))
    return await _change(call, command)


@endpoint("tasks.add_or_update_artifacts")
async def add_or_update_artifacts(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dout.check_request_items(required_list(call, "artifacts"), ("key", "type"),
                                   {"mode": ("input", "output")})
    command = msg.AddOrUpdateArtifacts(task_id, items)
    return await _change(call, command)


@endpoint("tasks.delete_artifacts")
async def delete_artifacts(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dout.check_request_items(required_list(call, "artifacts"), ("key",), {"mode": ("input", "output")})
    command = msg.DeleteArtifacts(task_id, items)
    return await _change(call, command)


@endpoint("tasks.add_or_update_model")
async def add_or_update_model(call: Call) -> dict[str, Any]:
    """The model id is stored as given, unchecked, as the reference stores it (§5.7)."""
    task_id = require_task_id(call)
    data = call.data
    command = msg.AddOrUpdateModel(task_id, data["name"], data["model"], data["type"], data.get("iteration"))
    return await _change(call, command)


@endpoint("tasks.delete_models")
async def delete_models(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    items = dout.check_request_items(required_list(call, "models"), ("name", "type"),
                                   {"type": ("input", "output")})
    command = msg.DeleteModels(task_id, items)
    return await _change(call, command)


@endpoint("tasks.set_requirements")
async def set_requirements(call: Call) -> dict[str, Any]:
    """`fields` is always `{}`, as the reference server answers (Appendix A 3)."""
    task_id = require_task_id(call)
    command = msg.SetRequirements(task_id, call.data["requirements"])
    return await _change(call, command)


@endpoint("tasks.get_types")
async def get_types(call: Call) -> dict[str, Any]:
    projects = _strings(list(call.data.get("projects") or []))
    return {"types": await queries.task_types(call.ctx.pool, call.actor.company, projects)}
