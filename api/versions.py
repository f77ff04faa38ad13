"""Input conversions for old API versions (§1.5, §3.6): `< 2.13` model and docker fields, `< 2.3` tags."""

from __future__ import annotations

import copy
from typing import Any

from taskstream.schemas.contract import Version
from taskstream.schemas.errors import ApiError

# Below 2.3, these tags given in `tags` (without `system_tags`) are system tags (§1.5).
SYSTEM_TAGS = frozenset({"active", "archived", "development", "-active", "-archived", "-development"})
SYSTEM_TAG_PREFIXES = ("annotat", "-annotat")


def _split_tags(data: dict[str, Any]) -> None:
    """Like the reference's `partition_tags`: both lists come out de-duplicated (they are sets there)."""
    tags = data.get("tags")
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags) and not data.get("system_tags"):
        system = {t for t in tags if t in SYSTEM_TAGS or t.lower().startswith(SYSTEM_TAG_PREFIXES)}
        data["tags"], data["system_tags"] = sorted(set(tags) - system), sorted(system)


def conform_tags(data: dict[str, Any], requested: Version) -> dict[str, Any]:
    """Below 2.3, the request with old-client `tags` split into tags and system tags (update, get_all filters)."""
    if requested >= (2, 3):
        return data
    data = dict(data)
    _split_tags(data)
    return data


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def conform_task_input(data: dict[str, Any], requested: Version) -> dict[str, Any]:
    """The request's task fields as a 2.13+ request would send them."""
    if requested >= (2, 13):
        data = dict(data)
        if isinstance(data.get("execution"), dict):
            data["execution"] = {k: v for k, v in data["execution"].items() if k not in ("model", "docker_cmd")}
        return data
    data = copy.deepcopy(data)
    for parent, mode, name in (("execution", "input", "Input Model"), ("output", "output", "Output Model")):
        model = data[parent].pop("model", None) if isinstance(data.get(parent), dict) else None
        if model is not None:
            data["models"] = {**_object(data.get("models")), mode: [{"name": name, "model": model}] if model else []}
    execution = data.get("execution")
    docker_cmd = execution.pop("docker_cmd", None) if isinstance(execution, dict) else None
    if docker_cmd is not None:
        if not isinstance(docker_cmd, str):
            raise ApiError(400, 800, None, execution="docker_cmd: StringField only accepts string values")
        # Set into whatever `container` was sent, as the reference's nested_set does.
        image, _, arguments = docker_cmd.partition(" ")
        data["container"] = {**_object(data.get("container")), "image": image, "arguments": arguments}
    return conform_tags(data, requested)
