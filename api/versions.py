"""Input conversions for old API versions (§1.5, §3.6): `< 2.13` model and docker fields, `< 2.3` tags."""

from __future__ import annotations

import copy
from typing import Any

from schemas.contract import Version

# Below 2.3, these tags given in `tags` (without `system_tags`) are system tags (§1.5).
SYSTEM_TAGS = frozenset({"active", "archived", "development", "-active", "-archived", "-development"})


def _split_tags(data: dict[str, Any]) -> None:
    if "tags" in data and "system_tags" not in data and isinstance(data["tags"], list):
        tags = data["tags"]
        data["system_tags"] = [t for t in tags if t in SYSTEM_TAGS or str(t).startswith("annotat")]
        data["tags"] = [t for t in tags if t not in data["system_tags"]]


def conform_task_input(data: dict[str, Any], requested: Version) -> dict[str, Any]:
    """The request's task fields as a 2.13+ request would send them."""
    if requested >= (2, 13):
        data = dict(data)
        if isinstance(data.get("execution"), dict):
            data["execution"] = {k: v for k, v in data["execution"].items() if k not in ("model", "docker_cmd")}
        return data
    data = copy.deepcopy(data)
    execution = data.get("execution")
    if isinstance(execution, dict):
        if "model" in execution:
            model = execution.pop("model")
            data.setdefault("models", {})["input"] = [{"name": "Input Model", "model": model}] if model else []
        if "docker_cmd" in execution:
            image, _, arguments = (execution.pop("docker_cmd") or "").partition(" ")
            data["container"] = {"image": image, "arguments": arguments} if image else {}
    output = data.get("output")
    if isinstance(output, dict) and "model" in output:
        model = output.pop("model")
        data.setdefault("models", {})["output"] = [{"name": "Output Model", "model": model}] if model else []
    if requested < (2, 3):
        _split_tags(data)
    return data
