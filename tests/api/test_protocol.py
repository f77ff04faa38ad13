"""The ClearML wire protocol (§1): URL forms, methods, body and query string, envelopes, version resolution,
request validation. Everything here goes through raw HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant


def meta(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json()["meta"])


async def test_success_envelope(tenant: Tenant) -> None:
    task_id = await tenant.create_task("envelope")
    response = await tenant.raw("/tasks.get_by_id", {"task": task_id})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"meta", "data"}
    m = body["meta"]
    assert re.fullmatch(r"[0-9a-f]{32}", m["id"]) and m["trx"] == m["id"]
    assert m["endpoint"] == {"name": "tasks.get_by_id", "requested_version": "2.22", "actual_version": "1.0"}
    assert (m["result_code"], m["result_subcode"], m["result_msg"]) == (200, 0, "OK")
    assert (m["error_stack"], m["error_data"]) == ("", {})
    assert body["data"]["task"]["id"] == task_id
    echoed = await tenant.raw("/tasks.get_by_id", {"task": task_id}, headers={"X-Clearml-Trx": "my-trx"})
    assert meta(echoed)["trx"] == "my-trx" and meta(echoed)["id"] != "my-trx"


async def test_error_envelope(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.get_by_id", {"task": "nope"})
    assert response.status_code == 400
    body = response.json()
    assert body["data"] == {}
    m = body["meta"]
    assert (m["result_code"], m["result_subcode"]) == (400, 101)
    assert m["result_msg"] == f"Invalid task id: id=nope, company={tenant.company}"
    assert m["error_stack"] is None and m["error_data"] == {}
    assert m["endpoint"]["name"] == "tasks.get_by_id"


async def test_empty_data_is_an_object(tenant: Tenant) -> None:
    task_id = await tenant.create_task("pinged")
    assert (await tenant.raw("/tasks.ping", {"task": task_id})).json()["data"] == {}


@pytest.mark.parametrize("path", ["/tasks.get_all", "tasks.get_all", "/v2.13/tasks.get_all", "/v2.13/tasks.get_all/",
                                  "/v21/tasks.get_all"])
async def test_url_forms(tenant: Tenant, path: str) -> None:
    response = await tenant.raw("/" + path.lstrip("/"), {"page_size": 1})
    assert response.status_code == 200, response.text
    assert "tasks" in response.json()["data"]


async def test_invalid_paths(tenant: Tenant) -> None:
    response = await tenant.raw("/v2/tasks.get_by_id", {})
    assert response.status_code == 400
    m = meta(response)
    assert (m["result_code"], m["result_subcode"], m["result_msg"]) == \
        (400, 0, "Invalid request path /v2/tasks.get_by_id")
    assert m["endpoint"] == {"name": "", "requested_version": 1.0, "actual_version": None}
    zero = meta(await tenant.raw("/v01.5/tasks.get_by_id", {}))
    assert (zero["result_code"], zero["result_subcode"]) == (400, 2)
    assert zero["result_msg"] == \
        "Request path has invalid version: version=01.5, reason=Invalid leading zero in major: '01.5'"


async def test_unknown_endpoint_is_404(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.foo", {})
    assert response.status_code == 404
    m = meta(response)
    assert (m["result_code"], m["result_subcode"]) == (404, 0)
    assert m["result_msg"] == "Unable to find endpoint for name tasks.foo and version 2.22"
    assert m["endpoint"]["actual_version"] is None


@pytest.mark.parametrize(("version", "requested", "actual"), [
    ("2.22", "2.22", "1.0"), ("9.99", "9.99", "1.0"), ("2.1", "2.1", "1.0"), ("1.5", 1.5, 1.0), ("2.0", 2.0, 1.0),
])
async def test_version_echo(tenant: Tenant, version: str, requested: Any, actual: Any) -> None:
    response = await tenant.raw(f"/v{version}/tasks.get_all", {"page_size": 1})
    assert response.status_code == 200
    assert meta(response)["endpoint"] == {"name": "tasks.get_all", "requested_version": requested,
                                          "actual_version": actual}


async def test_version_resolution_uses_the_highest_min_version_not_above_requested(tenant: Tenant) -> None:
    for version, status in (("2.2", 200), ("2.5", 200), ("9.99", 200)):
        task_id = await tenant.create_task("completed")
        await tenant.call("tasks.started", task=task_id)
        response = await tenant.raw(f"/v{version}/tasks.completed", {"task": task_id})
        assert response.status_code == status
        assert meta(response)["endpoint"]["actual_version"] == "2.2"
    task_id = await tenant.create_task("too old")
    response = await tenant.raw("/v2.1/tasks.completed", {"task": task_id})
    assert response.status_code == 404
    m = meta(response)
    assert m["result_msg"] == "Unable to find endpoint for name tasks.completed and version 2.1"
    assert m["endpoint"]["actual_version"] is None
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"] == "created"
    old = await tenant.raw("/v0.9/tasks.get_by_id", {"task": task_id})
    assert old.status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
async def test_any_method_with_json_body(tenant: Tenant, method: str) -> None:
    task_id = await tenant.create_task("methods")
    response = await tenant.raw("/tasks.get_by_id", {"task": task_id}, method=method)
    assert response.status_code == 200 and response.json()["data"]["task"]["id"] == task_id


async def test_body_parsed_whatever_the_content_type(tenant: Tenant) -> None:
    task_id = await tenant.create_task("content type")
    response = await tenant.raw("/tasks.get_by_id", method="GET", content=json.dumps({"task": task_id}).encode(),
                                headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


async def test_query_string_merges_into_and_overrides_body(tenant: Tenant) -> None:
    first = await tenant.create_task("query one")
    second = await tenant.create_task("query two")
    response = await tenant.raw("/tasks.get_all", {"user": [tenant.user]}, method="GET",
                                params=[("only_fields", "id"), ("only_fields", "name"), ("page_size", "1"),
                                        ("order_by", "name")])
    assert response.status_code == 200
    assert response.json()["data"]["tasks"] == [{"id": first, "name": "query one"}]
    response = await tenant.raw("/tasks.get_by_id", {"task": "from-body"}, params={"task": second})
    assert response.json()["data"]["task"]["id"] == second
    response = await tenant.raw("/tasks.get_all", {"id": [first]}, params=[("id[]", second),
                                                                            ("only_fields[]", "id")])
    assert response.json()["data"]["tasks"] == [{"id": second}]


async def test_query_values_are_typed_and_dotted_keys_nest(tenant: Tenant) -> None:
    task_id = await tenant.create_task("query typed")
    response = await tenant.raw("/tasks.edit", {"task": task_id}, params={"script.branch": "dev", "force": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["fields"]["script"]["branch"] == "dev"


async def test_malformed_json_is_400(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.get_all", content=b"{not json")
    assert response.status_code == 400
    m = meta(response)
    assert (m["result_code"], m["result_subcode"]) == (400, 0)
    assert m["result_msg"] == "The browser (or proxy) sent a request that this server could not understand."


async def test_non_object_body_is_400_not_500(tenant: Tenant) -> None:
    """Deliberate deviation: the reference answers 500/0 "Data should be a dict"; a client mistake is a 4xx here."""
    response = await tenant.raw("/tasks.get_all", content=b"[1, 2]")
    assert response.status_code == 400
    assert (meta(response)["result_code"], meta(response)["result_msg"]) == (400, "Data should be a dict")


async def test_empty_body_is_an_empty_object(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.get_all", content=b"")
    assert response.status_code == 200


async def test_unknown_fields_are_ignored(tenant: Tenant) -> None:
    task_id = await tenant.create_task("unknown fields", surprise={"deep": 1})
    response = await tenant.raw("/tasks.get_by_id", {"task": task_id, "what": "ever"})
    assert response.status_code == 200 and "surprise" not in response.json()["data"]["task"]


async def test_validation_messages(tenant: Tenant) -> None:
    cases = [
        ("tasks.get_by_id", {}, "Validation error (error for field 'task'. field is required!)"),
        ("tasks.get_by_id", {"task": None}, "Validation error (field is required!)"),
        ("tasks.get_by_id", {"task": 123}, 'Validation error (value is wrong, expected type "str" 123)'),
        ("tasks.create", {"name": "abc", "type": "bad"}, "Validation error (value 'bad' is not a valid choice.)"),
        ("auth.login", {"expiration_sec": "abc"}, "Validation error (invalid literal for int() with base 10: 'abc')"),
    ]
    for endpoint, body, msg in cases:
        response = await tenant.raw(f"/{endpoint}", body)
        assert response.status_code == 400, (endpoint, body)
        assert (meta(response)["result_subcode"], meta(response)["result_msg"]) == (12, msg)


async def test_booleans_coerced_by_truthiness(tenant: Tenant) -> None:
    task_id = await tenant.create_task("truthy")
    response = await tenant.call("tasks.stopped", task=task_id, force="false")
    assert response["fields"]["status"] == "stopped"


async def test_options_and_content_encoding(tenant: Tenant) -> None:
    assert (await tenant.raw("/tasks.get_all", method="OPTIONS")).status_code == 200
    response = await tenant.raw("/tasks.get_all", content=b"x", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 415
    assert response.text == "Content encoding is not supported (gzip)"
