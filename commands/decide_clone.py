"""Pure decision for `tasks.clone` (§5.6): the new task's first document, from the source and the overrides.

Two steps, because the target project may have to be created (I/O, in the handler) between them:
`plan_clone` checks the request and the source and builds the new fields; `clone_events` stamps the new task.
"X or Y" below is the reference server's rule: an empty value falls back to the source's.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from taskstream.commands import task_document as td
from taskstream.commands.decide_task import new_task_document
from taskstream.commands.messages import CloneTask
from taskstream.schemas.errors import invalid_task_id
from taskstream.schemas.events import Event, TaskCreated

DELETED_PREFIX = "__DELETED__"
# Override keys the reference server drops without applying them (Appendix A 10), and the < 2.13 model and
# docker_cmd overrides, which go to models.input and container instead.
DROPPED_OVERRIDES = ("parameters", "configuration", "model", "docker_cmd")


def _execution(source: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The source execution with the overrides overlaid; output artifacts and the queue removed."""
    given = td.check_execution({k: v for k, v in overrides.items() if k not in DROPPED_OVERRIDES})
    execution = {**copy.deepcopy(source.get("execution") or {}), **given}
    execution["artifacts"] = [a for a in execution.get("artifacts") or [] if a.get("mode") != "output"]
    execution.pop("queue", None)
    return execution


def _input_models(source: dict[str, Any], command: CloneTask, now: datetime) -> list[dict[str, Any]]:
    if command.input_models:
        return list(td.check_models({"input": command.input_models}, now)["input"])
    model = command.execution_overrides.get("model")
    if model:
        return [{"name": "Input Model", "model": model}]
    return copy.deepcopy(list((source.get("models") or {}).get("input") or []))


def _container(source: dict[str, Any], command: CloneTask) -> dict[str, Any]:
    container = td.check_container(command.container)
    if container:
        return container
    docker_cmd = command.execution_overrides.get("docker_cmd")
    if isinstance(docker_cmd, str) and docker_cmd:
        image, _, arguments = docker_cmd.partition(" ")
        return {"image": image, "arguments": arguments}
    return copy.deepcopy(dict(source.get("container") or {}))


def _parent(source: dict[str, Any], command: CloneTask) -> str:
    if command.parent:
        return command.parent
    parent = source.get("parent")
    return str(parent) if parent and not str(parent).startswith(DELETED_PREFIX) else str(source["id"])


def plan_clone(source: dict[str, Any] | None, command: CloneTask, company: str,
               now: datetime) -> dict[str, Any]:
    """The new task's fields (project not resolved yet). Bad tag → 400/16; source not readable → 400/101;
    bad overrides → 400/12 or 400/800; name shorter than 3 → 400/800."""
    tags = td.check_tags(command.tags, "tags")
    system_tags = td.check_tags(command.system_tags, "system_tags")
    if source is None or source.get("company") not in (company, ""):
        raise invalid_task_id(id=command.task)
    output = source.get("output") or {}
    return {
        "name": td.check_name(command.name) if command.name else source.get("name"),
        "type": source.get("type"),
        "comment": command.comment or source.get("comment"),
        "tags": tags or list(source.get("tags") or []),
        "system_tags": system_tags or [t for t in source.get("system_tags") or []
                                       if t not in ("archived", "development")],
        "parent": _parent(source, command),
        "project": command.project or source.get("project"),
        "script": copy.deepcopy(source.get("script") or {}),
        "output": {"destination": output["destination"]} if "destination" in output else {},
        "models": {"input": _input_models(source, command, now), "output": []},
        "container": _container(source, command),
        "execution": _execution(source, command.execution_overrides),
        "hyperparams": td.check_hyperparams(command.hyperparams)
        or copy.deepcopy(source.get("hyperparams") or {}),
        "configuration": td.check_configuration(command.configuration)
        or copy.deepcopy(source.get("configuration") or {}),
    }


def clone_events(planned: dict[str, Any], new_project: str | None, task_id: str, source_id: str, company: str,
                 user: str, now: datetime) -> list[Event]:
    """The clone as one `TaskCreated` (status created, fresh timestamps, empty runtime and metrics).
    `new_project`: the project found or created by `new_project_name` when no `new_task_project` was given."""
    fields = {**planned, "project": new_project or planned.get("project")}
    return [TaskCreated(task=new_task_document(fields, task_id, company, user, now), cloned_from=source_id)]
