"""The published API document is valid OpenAPI 3.0 (tools such as code generators and fuzzers read it)."""

from __future__ import annotations

import httpx
from openapi_spec_validator import validate


async def test_openapi_json_validates_as_openapi_3(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    validate(document)
    assert document["openapi"].startswith("3.0")


async def test_nullable_container_values_are_described_without_type_lists(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    create = document["paths"]["/tasks.create"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["container"]["additionalProperties"] == {"type": "string", "nullable": True}
