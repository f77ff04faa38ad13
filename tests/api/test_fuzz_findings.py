"""Server errors found by the schemathesis fuzz (tests/fuzz), each now a 4xx ClearML error or, for a value the
reference accepts, stored: numbers beyond what a column, an interval or a date holds; field names that are not
strings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Tenant


async def test_worker_timeout_beyond_32_bits_is_400(tenant: Tenant) -> None:
    for endpoint in ("workers.register", "workers.status_report"):
        failure = await tenant.fails(endpoint, worker="box:1", timeout=2**40, timestamp=1)
        assert (failure.status, failure.code, failure.subcode) == (400, 400, 12), endpoint
        assert "timeout" in failure.msg
    assert await tenant.call("workers.register", worker="box:1", timeout=2**31 - 1) == {}
    assert [w["id"] for w in (await tenant.call("workers.get_all"))["workers"]] == ["box:1"]


@pytest.mark.parametrize("last_seen", [10**12, 2**63 - 1, 1e20])
async def test_workers_get_all_last_seen_beyond_a_date_is_400(tenant: Tenant, last_seen: Any) -> None:
    failure = await tenant.fails("workers.get_all", last_seen=last_seen)
    assert (failure.status, failure.subcode) == (400, 12)
    assert "last_seen" in failure.msg


async def test_workers_get_all_with_the_largest_last_seen_lists_workers(tenant: Tenant) -> None:
    await tenant.call("workers.register", worker="box:2")
    workers = (await tenant.call("workers.get_all", last_seen=2**31 - 1))["workers"]
    assert [w["id"] for w in workers] == ["box:2"]


@pytest.mark.parametrize("from_timestamp", [1e30, "99999999999999999999999"])
async def test_task_log_from_timestamp_beyond_64_bits_is_400(tenant: Tenant, from_timestamp: Any) -> None:
    task = await tenant.create_task()
    failure = await tenant.fails("events.get_task_log", task=task, from_timestamp=from_timestamp)
    assert (failure.status, failure.subcode) == (400, 12)


async def test_task_log_with_a_huge_batch_size_answers(tenant: Tenant) -> None:
    task = await tenant.create_task()
    assert (await tenant.call("events.get_task_log", task=task, batch_size=2**62))["returned"] == 0


async def test_queue_max_task_entries_beyond_64_bits_is_400(tenant: Tenant) -> None:
    queue = (await tenant.call("queues.create", name="bounded queue"))["id"]
    for body in ({"queue": queue, "max_task_entries": 1e30}, {"queue": queue, "max_task_entries": -1}):
        failure = await tenant.fails("queues.get_by_id", **body)
        assert (failure.status, failure.subcode) == (400, 12)
    failure = await tenant.fails("queues.get_all", max_task_entries=-1)
    assert (failure.status, failure.subcode) == (400, 12)


async def test_an_iteration_beyond_32_bits_is_stored(tenant: Tenant) -> None:
    """`last_iteration` holds any 64-bit iteration (the read model's column was 32-bit: 500)."""
    task = await tenant.create_task()
    scalar = {"task": task, "type": "training_stats_scalar", "iter": 2**40, "metric": "m", "variant": "v",
              "value": 1.0}
    response = await tenant.raw("/events.add_batch", content=json.dumps(scalar).encode(),
                                headers={"Content-Type": "application/json-lines"})
    assert response.json()["meta"]["result_code"] == 200, response.json()["meta"]
    await tenant.call("tasks.add_or_update_model", task=task, name="m", model="x", type="output", iteration=2**41)
    assert (await tenant.call("tasks.get_by_id", task=task))["task"]["last_iteration"] == 2**41
    listed = await tenant.call("tasks.get_all", id=[task], last_iteration=[2**40, None], only_fields=["id"])
    assert [t["id"] for t in listed["tasks"]] == [task]


async def test_login_expiration_beyond_any_date_is_not_a_server_error(tenant: Tenant) -> None:
    bodies = (b'{"expiration_sec": 1e999}', b'{"expiration_sec": 1e300}', b'{"expiration_sec": 9223372036854775807}')
    for body in bodies:
        response = await tenant.raw("/auth.login", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (body, response.json()["meta"])
        assert response.json()["meta"]["result_code"] == response.status_code



@pytest.mark.parametrize("only_fields", [[{}], [1], ["name", None]])
async def test_project_listing_field_names_must_be_strings(tenant: Tenant, only_fields: list[Any]) -> None:
    failure = await tenant.fails("projects.get_all", only_fields=only_fields)
    assert (failure.status, failure.subcode) == (400, 14)
    assert "Cannot resolve field" in failure.msg


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
async def test_a_method_no_route_takes_answers_an_envelope(tenant: Tenant, method: str) -> None:
    response = await tenant.raw("/tasks.get_all", method=method)
    assert response.status_code == 405
    assert response.json()["meta"]["result_code"] == 405 and response.json()["data"] == {}
