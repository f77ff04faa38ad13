"""The ClearML wire protocol (tasks-behaviour.md §1): request paths and versions, bodies, the envelope."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from taskstream.api import json_body
from taskstream.schemas import json_codec
from taskstream.schemas.contract import Version, format_version, parse_version
from taskstream.schemas.errors import ApiError

ENDPOINT_PATH = re.compile(r"^/?(?:v(?P<version>[^/]*)/)?(?P<endpoint>[a-zA-Z_]\w+\.[a-zA-Z_]\w+)/?$")
_VERSION = re.compile(r"^\d{1,6}\.?\d{1,6}$")  # bounded: a 5000-digit version must not reach int()
BAD_JSON = json_body.BAD_JSON


@dataclass(frozen=True)
class RequestPath:
    endpoint: str
    requested: Version
    requested_text: str


def parse_path(path: str, max_version: Version) -> RequestPath:
    """`/tasks.x`, `/v2.13/tasks.x`, `/v2.13/tasks.x/`; no version means the server's maximum."""
    match = ENDPOINT_PATH.match(path)
    if match is None or (match["version"] is not None and not _VERSION.match(match["version"])):
        raise ApiError(400, 0, f"Invalid request path {path}")
    text = match["version"]
    if text is None:
        return RequestPath(match["endpoint"], max_version, format_version(max_version))
    major, _, minor = text.partition(".") if "." in text else (text[:-1], ".", text[-1])
    for part, label in ((major, "major"), (minor, "minor")):
        if len(part) > 1 and part.startswith("0"):
            raise ApiError(400, 2, None, version=text, reason=f"Invalid leading zero in {label}: '{text}'")
    return RequestPath(match["endpoint"], parse_version(f"{major}.{minor}"), text)


def _scalar(value: str) -> Any:
    if re.fullmatch(r"\d+", value):
        return json_body.check_scalar(int(value))
    if re.fullmatch(r"\d*\.\d*", value) and value != ".":
        return json_body.check_scalar(float(value))
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    return json_body.check_scalar(value)


def merge_query(data: dict[str, Any], items: list[tuple[str, str]]) -> dict[str, Any]:
    """Query-string parameters override the body: dotted keys nest, repeated or `[]` keys make lists (§1.3)."""
    grouped: dict[str, list[str]] = {}
    listed: set[str] = set()
    for key, value in items:
        if key.endswith("[]"):
            key = key[:-2]
            listed.add(key)
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        value: Any = [_scalar(v) for v in values] if len(values) > 1 or key in listed else _scalar(values[0])
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part), dict | None) else node
        node[leaf] = value
    json_body.check_depth(data)  # dotted keys nest: the merged data obeys the body's depth limit too
    return data


def parse_body(body: bytes, content_type: str) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """The call's data, and its batched data for `application/json-lines` bodies."""
    if "json-lines" in content_type:
        items = []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json_body.loads(line)
            if not isinstance(item, dict):
                raise ApiError(400, 0, f"json lines must contain objects, found: {type(item).__name__}")
            items.append(item)
        return {}, items
    if not body.strip():
        return {}, None
    data = json_body.loads(body)
    if not isinstance(data, dict):
        raise ApiError(400, 0, "Data should be a dict")
    return data, None


def _version_value(text: str | None, requested: Version | None) -> Any:
    """Below 2.1 the reference server echoes versions as JSON numbers (§1.5)."""
    if text is None:
        return None
    if requested is not None and requested < (2, 1):
        return float(text)
    return text


def envelope(
    *, endpoint: str, requested_text: str | None, requested: Version | None, actual: Version | None,
    data: Any, trx: str | None, code: int = 200, subcode: int = 0, msg: str = "OK",
    error_stack: str | None = "", call_id: str | None = None,
) -> bytes:
    call_id = call_id or uuid4().hex
    meta = {
        "id": call_id,
        "trx": trx or call_id,
        "endpoint": {
            "name": endpoint,
            "requested_version": _version_value(requested_text, requested),
            "actual_version": _version_value(format_version(actual) if actual else None, requested),
        },
        "result_code": code,
        "result_subcode": subcode,
        "result_msg": msg,
        "error_stack": error_stack,
        "error_data": {},
    }
    return json_codec.dumps({"meta": meta, "data": data if data is not None else {}})
