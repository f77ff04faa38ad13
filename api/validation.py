"""Request validation driven by the contract's request schema, with the reference server's messages (§1.8).

Top-level fields only, as the reference request models do: required fields, JSON types (ints coerced with int(),
booleans by truthiness), enums, minimum list lengths. Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

from taskstream.schemas.contract import Endpoint
from taskstream.schemas.errors import validation_error

_TYPE_NAMES = {"string": "str", "integer": "int", "number": "float", "array": "list", "object": "dict"}


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/"):
        return {**definitions.get(ref.rsplit("/", 1)[1], {}), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _coerce(name: str, value: Any, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        return value
    if kind == "boolean":
        return bool(value)
    if kind == "integer":
        if isinstance(value, bool):
            return int(value)
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise validation_error(f"invalid literal for int() with base 10: '{value}'") from exc
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    expected = {"string": str, "array": list, "object": dict, "number": float}.get(str(kind))
    if expected is not None and not isinstance(value, expected):
        raise validation_error(f'value is wrong, expected type "{_TYPE_NAMES[str(kind)]}" {value}')
    if "enum" in schema and value not in schema["enum"]:
        raise validation_error(f"value '{value}' is not a valid choice.")
    if kind == "array" and len(value) < schema.get("minItems", 0):
        raise validation_error(f"value '{value}' length is lower than allowed minimum '{schema['minItems']}'.")
    if kind == "array":
        _check_items(value, schema.get("items"))
    return value


_ITEM_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                            "boolean": (bool,), "object": (dict,)}


def _check_items(items: list[Any], schema: Any) -> None:
    """Every item of a list of a simple type has that type, as the reference's list fields check:
    `all items must be instances of "str", and not "nonetype".`"""
    expected = _ITEM_TYPES.get(schema.get("type")) if isinstance(schema, dict) else None
    if expected is None:
        return
    for item in items:
        if not isinstance(item, expected) or (isinstance(item, bool) and bool not in expected):
            raise validation_error(f'all items must be instances of "{expected[0].__name__}", and not '
                                   f'"{type(item).__name__.lower()}".')


ID_LISTS = ("ids", "tasks")


def validate_request(endpoint: Endpoint, data: dict[str, Any], max_ids: int = 1000) -> dict[str, Any]:
    """The request data with types coerced; raises 400/12 on the first invalid field, and for an id list
    (`ids`, `tasks`) longer than `max_ids` (each id is a stream a command locks in one transaction)."""
    for name in ID_LISTS:
        if isinstance(data.get(name), list) and len(data[name]) > max_ids:
            raise validation_error(f"too many ids in '{name}': {len(data[name])} (the limit is {max_ids}, "
                                   f"TASKSTREAM_MAX_BATCH_IDS)")
    if not endpoint.validate:
        return data
    schema = endpoint.request_schema
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    result = dict(data)
    # The reference's request models set the given fields first, then validate the model, each pass in the
    # fields' alphabetical order (jsonmodels walks `dir()` of the model class): a wrong value of any given field
    # is reported before a missing one, and of two missing fields the first by name (`name` before `type`).
    for name in sorted(n for n in data if n in properties):
        value = data[name]
        if value is None:
            if name in required:
                raise validation_error("field is required!")
            continue
        result[name] = _coerce(name, value, _resolve(properties[name], endpoint.definitions))
    for name in sorted(required - data.keys()):
        prop = _resolve(properties.get(name, {}), endpoint.definitions)
        if prop.get("type") == "array" and prop.get("minItems"):
            raise validation_error(f"error for field '{name}'. value '[]' length is lower than allowed "
                                   f"minimum '{prop['minItems']}'.")
        raise validation_error(f"error for field '{name}'. field is required!")
    return result
