"""The OpenAPI document, built from the contract (the same HOCON files that drive routing and validation)."""

from __future__ import annotations

from typing import Any

import orjson

from taskstream.schemas.contract import Contract, format_version

_KEYWORDS = {"title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
             "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
             "required", "enum", "type", "description", "format", "default", "nullable", "readOnly", "writeOnly",
             "example", "deprecated"}


def _rewrite_refs(node: Any, service: str) -> Any:
    """A schema of the contract (JSON Schema, as the HOCON files write it) as an OpenAPI 3.0 schema object:
    references point into components, a list of types (`[string, null]`, which 3.0 does not allow) becomes
    `nullable` or `anyOf`, and keys that are not schema keywords (the HOCON files carry some) are dropped."""
    if not isinstance(node, dict):
        return {}
    if isinstance(node.get("$ref"), str):
        return {"$ref": f"#/components/schemas/{service}.{node['$ref'].rsplit('/', 1)[1]}"}
    schema = {k: v for k, v in node.items() if k in _KEYWORDS}
    if isinstance(node.get("properties"), dict):
        schema["properties"] = {name: _rewrite_refs(sub, service) for name, sub in node["properties"].items()}
    for key in ("items", "not"):
        if isinstance(node.get(key), dict):
            schema[key] = _rewrite_refs(node[key], service)
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        schema["additionalProperties"] = _rewrite_refs(extra, service) if isinstance(extra, dict) else bool(extra)
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            schema[key] = [_rewrite_refs(sub, service) for sub in node[key]]
    if isinstance(schema.get("required"), list) and not schema["required"]:
        del schema["required"]
    return _single_type(schema) if isinstance(schema.get("type"), list) else schema


def _single_type(schema: dict[str, Any]) -> dict[str, Any]:
    types = [t for t in schema["type"] if t not in ("null", None)]
    nullable = len(types) < len(schema["type"])
    rest = {k: v for k, v in schema.items() if k != "type"}
    if len(types) == 1:
        return {**rest, "type": types[0], **({"nullable": True} if nullable else {})}
    return {**rest, "anyOf": [{"type": t} for t in types], **({"nullable": True} if nullable else {})}


def _document(contract: Contract) -> bytes:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for name, endpoint in sorted(contract.endpoints.items()):
        service = name.split(".")[0]
        for key, definition in endpoint.definitions.items():
            schemas[f"{service}.{key}"] = _rewrite_refs(definition, service)
        latest = endpoint.latest
        versions = ", ".join(format_version(v) for v in sorted(endpoint.versions))
        paths[f"/{name}"] = {
            "post": {
                "tags": [service],
                "summary": str(latest.get("description", "")).strip().split("\n")[0][:120],
                "description": f"{latest.get('description', '')}\n\nSchema versions: {versions}. Served from "
                               f"API version {format_version(endpoint.min_version)}. Any HTTP method works; "
                               f"`/v{{X.Y}}/{name}` selects a version.",
                "requestBody": {"content": {"application/json": {
                    "schema": _rewrite_refs(latest.get("request") or {"type": "object"}, service)}}},
                "responses": {"200": {"description": "Envelope `{meta, data}`; `data` is:", "content": {
                    "application/json": {"schema": _rewrite_refs(latest.get("response") or {"type": "object"},
                                                                 service)}}}},
                "security": [{"basic": []}, {"bearer": []}],
            }
        }
    return orjson.dumps({
        "openapi": "3.0.3",
        "info": {"title": "taskstream — ClearML tasks API", "version": format_version(contract.max_version)},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"}, "bearer": {"type": "http", "scheme": "bearer"}}},
    })


_CACHE: dict[int, bytes] = {}


def openapi_document(contract: Contract) -> bytes:
    """Built once per contract (the contract is loaded once per process)."""
    if id(contract) not in _CACHE:
        _CACHE[id(contract)] = _document(contract)
    return _CACHE[id(contract)]
