"""The OpenAPI document, built from the contract (the same HOCON files that drive routing and validation)."""

from __future__ import annotations

from typing import Any

import orjson

from taskstream.schemas.contract import Contract, format_version


def _rewrite_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        return {
            k: (f"#/components/schemas/{service}.{v.rsplit('/', 1)[1]}" if k == "$ref" and isinstance(v, str)
                else _rewrite_refs(v, service))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, service) for v in node]
    return node


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
