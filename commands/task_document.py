"""Turning request fields into task-document fields, as the reference server stores them (§3, §5.9 steps 2–8).

Pure functions: they validate shapes (400/800 data validation, 400/16 tag prefix, 400/12 empty names) and apply
the legacy conversions. References to other entities (parent, project, models) are checked by the handler.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from typing import Any

from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, validation_error

SCRIPT_KEYS = ("binary", "repository", "tag", "branch", "version_num", "entry_point", "working_dir",
               "requirements", "diff")
EXECUTION_KEYS = ("test_split", "parameters", "model_desc", "model_labels", "artifacts", "framework", "queue")
CREATE_KEYS = ("name", "type", "tags", "system_tags", "comment", "parent", "project", "output_dest", "execution",
               "script", "hyperparams", "configuration", "models", "container", "runtime")
EDIT_KEYS = (*CREATE_KEYS, "status")
ARTIFACT_KEYS = ("key", "type", "mode", "uri", "hash", "content_size", "timestamp", "type_data", "display_data")


def default_execution() -> dict[str, Any]:
    return {"test_split": 0, "parameters": {}, "model_desc": {}, "model_labels": {}, "artifacts": []}


def default_script() -> dict[str, Any]:
    return {"binary": "python", "repository": "", "entry_point": "", "requirements": {}}


def artifact_id(artifact: dict[str, Any]) -> str:
    """The reference's storage key of an artifact: md5 of its key, `_`, its mode (§3.4)."""
    return f"{hashlib.md5(str(artifact.get('key')).encode()).hexdigest()}_{artifact.get('mode') or 'output'}"


def data_error(**data: Any) -> ApiError:
    return ApiError(400, 800, None, **data)


def check_name(name: Any, min_length: int = 3) -> str:
    """Stripped; at least `min_length` characters (the reference's model applies 3 when it saves a task or queue,
    so where it writes without its model, `update_batch`, and where it saves nothing, `validate`, 0)."""
    if not isinstance(name, str):
        raise data_error(name="StringField only accepts string values")
    stripped = name.strip()
    if len(stripped) < min_length:
        raise data_error(name="String value is too short")
    return stripped


def check_tags(tags: Any, field: str, check_prefix: bool = True) -> list[str]:
    """Sorted; a value starting with `__$` → 400/16 when `check_prefix` (the reference checks both tag lists only
    when a call sends `tags`: system tags sent without tags are stored as given, conform_tag_fields)."""
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise data_error(**{field: "ListField only accepts list of strings"})
    bad = [t for t in tags if t.startswith("__$")]
    if bad and check_prefix:
        raise ApiError(400, 16, "unsupported tag prefix", values=bad)
    return sorted(tags)


REQUIRED = "Field is required"
STRING_ONLY = "StringField only accepts string values"
# The item models' string fields in their declared order, and whether each is required (ParamsItem,
# ConfigurationItem of the reference's task model): the order its error trees list them in.
PARAM_FIELDS = (("section", True), ("name", True), ("value", True), ("type", False), ("description", False))
CONFIGURATION_FIELDS = PARAM_FIELDS[1:]


def storage_key(name: str) -> str:
    """A section, parameter or configuration name as the reference stores it (§3.3 escaping)."""
    key = name.strip().replace("%", "%%").replace(".", "%2E").replace("$", "%24").replace("__", "%_%_")
    return "%_" + key[1:] if key.startswith("_") else key


def _rendered(tree: Any) -> str:
    """An error tree as the reference prints its model's errors: `{'a': {'b': ValidationError(<msg>,)}}`."""
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{key!r}: {_rendered(value)}" for key, value in tree.items()) + "}"
    return f"ValidationError({tree},)"


def _item_errors(item: dict[str, Any], fields: tuple[tuple[str, bool], ...]) -> dict[str, str]:
    errors = {}
    for key, required in fields:
        if item.get(key) is None:
            if required:
                errors[key] = REQUIRED
        elif not isinstance(item[key], str):
            errors[key] = STRING_ONLY
    return errors


def _params_section(section: str, items: Any, kind: str) -> dict[str, Any]:
    if not section.strip():
        raise validation_error(f"Empty {kind} name is not allowed")
    if not isinstance(items, dict):
        raise data_error(hyperparams=f"{section}: Only dictionaries may be used in a DictField")
    result = {}
    for name, item in items.items():
        if not str(name).strip():
            raise validation_error("Empty parameter name is not allowed")
        result[name] = _param_item(item, "hyperparams", f"{section}.{name}")
    return result


def _param_item(item: Any, field: str, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise data_error(**{field: f"{where}: Only dictionaries may be used in an EmbeddedDocumentField"})
    return {k: v for k, v in item.items() if v is not None or k == "value"}


def check_hyperparams(hyperparams: Any, saved: bool = True) -> dict[str, Any]:
    """Empty names → 400/12 first; then, when the task is saved, items without `section`, `name` or `value`, or
    with a non-string one → 400/800 `hyperparams={<section>: {<name>: {<field>: ValidationError(...)}}}`."""
    if hyperparams is None:
        return {}
    if not isinstance(hyperparams, dict):
        raise data_error(hyperparams="Only dictionaries may be used in a DictField")
    result = {section: _params_section(section, items, "section") for section, items in hyperparams.items()}
    errors: dict[str, dict[str, dict[str, str]]] = {}
    for section, items in result.items() if saved else ():
        for name, item in items.items():
            if item_errors := _item_errors(item, PARAM_FIELDS):
                errors.setdefault(storage_key(section), {})[storage_key(str(name))] = item_errors
    if errors:
        raise data_error(hyperparams=_rendered(errors))
    return result


def check_configuration(configuration: Any, saved: bool = True) -> dict[str, Any]:
    """As `check_hyperparams`: `configuration={<name>: {<field>: ValidationError(...)}}` when saved."""
    if configuration is None:
        return {}
    if not isinstance(configuration, dict):
        raise data_error(configuration="Only dictionaries may be used in a DictField")
    result = {}
    for name, item in configuration.items():
        if not str(name).strip():
            raise validation_error("Empty configuration name is not allowed")
        result[name] = _param_item(item, "configuration", name)
    errors = {storage_key(str(name)): item_errors for name, item in result.items()
              if saved and (item_errors := _item_errors(item, CONFIGURATION_FIELDS))}
    if errors:
        raise data_error(configuration=_rendered(errors))
    return result


def _check_artifact_strings(item: dict[str, Any]) -> None:
    """The string fields of an artifact are strings (its identity is built from `key` and `mode`), and `mode` is
    `input` or `output`: 400/12 with the request models' messages (§1.8)."""
    for name in ("key", "type", "mode", "uri", "hash"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise validation_error(f'value is wrong, expected type "str" {value}')
    if item.get("mode") not in (None, "input", "output"):
        raise validation_error(f"value '{item['mode']}' is not a valid choice.")


def check_artifacts(artifacts: Any, saved: bool = True) -> list[dict[str, Any]]:
    """Artifacts arrive as a list; identity is (key, mode); output is a list sorted by key. Without `type`, when
    saved → 400/800 `execution={'artifacts': {<id>: {'type': ValidationError(Field is required,)}}}` (§3.4)."""
    if artifacts is None:
        return []
    if isinstance(artifacts, dict):
        artifacts = list(artifacts.values())
    if not isinstance(artifacts, list):
        raise data_error(execution="artifacts: ListField only accepts lists")
    slots: dict[tuple[str, str], dict[str, Any]] = {}
    for item in artifacts:
        if not isinstance(item, dict) or item.get("key") is None:
            # the reference fails with a 500 (no key to compute the artifact's id from)
            raise data_error(execution=_rendered({"artifacts": {"key": REQUIRED}}))
        _check_artifact_strings(item)
        if item.get("type") is None and saved:
            raise data_error(execution=_rendered({"artifacts": {artifact_id(item): {"type": REQUIRED}}}))
        artifact = {k: copy.deepcopy(v) for k, v in item.items() if k in ARTIFACT_KEYS and v is not None}
        artifact.setdefault("mode", "output")
        artifact.setdefault("display_data", [])
        slots[(artifact["key"], artifact["mode"])] = artifact
    return sorted(slots.values(), key=lambda a: a["key"])


def legacy_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """`execution.parameters` → hyper-params of type `legacy` in section Args, or TF_DEFINE for `TF_DEFINE/<name>`
    (§3.3). An empty name → 400/12, as the reference's `split_param_name` and `ensure_non_empty`."""
    result: dict[str, dict[str, Any]] = {}
    for full_name, value in parameters.items():
        prefix, _, rest = full_name.partition("/")
        section, name = ("TF_DEFINE", rest) if prefix == "TF_DEFINE" else ("Args", full_name)
        if not name:
            raise validation_error("Parameter name cannot be empty" if section == "TF_DEFINE"
                                   else "Empty parameter name is not allowed")
        result.setdefault(section, {})[name] = {"section": section, "name": name, "type": "legacy",
                                                "value": str(value)}
    return result


def legacy_configuration(model_desc: dict[str, Any]) -> dict[str, Any]:
    if "" in model_desc:
        raise validation_error("Empty configuration name is not allowed")
    return {name: {"name": name, "value": str(value), "type": "legacy"} for name, value in model_desc.items()}


def check_execution(execution: Any, saved: bool = True) -> dict[str, Any]:
    if not isinstance(execution, dict):
        raise data_error(execution="Only dictionaries may be used in an EmbeddedDocumentField")
    result = {k: copy.deepcopy(v) for k, v in execution.items() if k in EXECUTION_KEYS}
    if "artifacts" in result:
        result["artifacts"] = check_artifacts(result["artifacts"], saved)
    if "model_labels" in result and not isinstance(result["model_labels"], dict):
        raise data_error(execution="model_labels: Only dictionaries may be used in a DictField")
    for key in ("parameters", "model_desc"):
        if result.get(key) is not None and not isinstance(result[key], dict):
            raise data_error(execution=f"{key}: Only dictionaries may be used in a DictField")
    return result


def check_script(script: Any) -> dict[str, Any]:
    if not isinstance(script, dict):
        raise data_error(script="Only dictionaries may be used in an EmbeddedDocumentField")
    result: dict[str, Any] = {}
    for key, value in script.items():
        if key not in SCRIPT_KEYS or value is None:
            continue
        if key == "requirements":
            if not isinstance(value, dict):
                raise data_error(script="requirements: Only dictionaries may be used in a DictField")
            result[key] = value
        elif not isinstance(value, str):
            raise data_error(script=f"{key}: StringField only accepts string values")
        else:
            result[key] = value if key == "diff" else value.strip()
    return result


def check_models(models: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(models, dict):
        raise data_error(models="Only dictionaries may be used in an EmbeddedDocumentField")
    result = {}
    for kind in ("input", "output"):
        if kind not in models:
            continue
        items = models[kind] or []
        if not isinstance(items, list) or not all(isinstance(i, dict) and "model" in i for i in items):
            raise data_error(models=f"{kind}: items must be objects with name and model")
        result[kind] = [{"name": i.get("name"), "model": i["model"], "updated": iso(now)} for i in items]
    return result


def check_container(container: Any) -> dict[str, Any]:
    if container is None:
        return {}
    if not isinstance(container, dict) or not all(isinstance(v, str | None) for v in container.values()):
        raise data_error(container="Only a map of strings may be used")
    return dict(container)


def check_runtime(runtime: Any) -> dict[str, Any]:
    if runtime is None:
        return {}
    if not isinstance(runtime, dict):
        raise data_error(runtime="Only dictionaries may be used in a DictField")
    return copy.deepcopy(runtime)
