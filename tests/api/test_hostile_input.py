"""Hostile or careless request bodies answer a clear 4xx ClearML error and leave nothing behind."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Tenant


async def count_tasks(tenant: Tenant) -> int:
    return len((await tenant.call("tasks.get_all", user=[tenant.user], only_fields=["id"]))["tasks"])


@pytest.mark.parametrize("value", ["100000000000000000000", "NaN", "Infinity", "1e999"])
async def test_a_number_the_log_cannot_hold_is_refused_and_no_task_is_created(tenant: Tenant, value: str) -> None:
    body = f'{{"name": "poison", "type": "training", "runtime": {{"x": {value}}}}}'.encode()
    response = await tenant.raw("/tasks.create", content=body, headers={"Content-Type": "application/json"})
    meta = response.json()["meta"]
    assert (response.status_code, meta["result_code"], meta["result_subcode"]) == (400, 400, 12)
    assert await count_tasks(tenant) == 0


async def test_a_nul_in_a_name_is_refused(tenant: Tenant) -> None:
    failure = await tenant.fails("tasks.create", name="a\x00b", type="training")
    assert (failure.status, failure.subcode) == (400, 12)
    assert await count_tasks(tenant) == 0


async def test_a_lone_surrogate_in_a_tag_pattern_is_refused(tenant: Tenant) -> None:
    body = b'{"tags": ["\\udaac"]}'
    response = await tenant.raw("/tasks.get_all", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


async def test_runtime_nested_300_deep_is_refused(tenant: Tenant) -> None:
    nested: object = 1
    for _ in range(300):
        nested = {"a": nested}
    body = json.dumps({"name": "deep", "type": "training", "runtime": nested}).encode()
    response = await tenant.raw("/tasks.create", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


async def test_a_100k_deep_array_is_a_client_error(tenant: Tenant) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await tenant.raw("/tasks.get_all", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["meta"]["error_stack"] in ("", None)


async def test_a_huge_integer_in_the_query_string_is_refused(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.get_all", method="GET", params={"page": "9" * 40, "page_size": "1"})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


async def test_a_reasonable_runtime_value_round_trips(tenant: Tenant) -> None:
    task_id = await tenant.create_task(runtime={"big": 9223372036854775807, "float": 1e20, "emoji": "\U0001f600"})
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["runtime"] == {"big": 9223372036854775807, "float": 1e20, "emoji": "\U0001f600"}


async def test_a_value_jsonb_turns_into_a_big_integer_never_breaks_other_tenants_reads(
        tenant: Tenant, other_tenant: Tenant) -> None:
    # jsonb stores the float 1e20 as the integer 100000000000000000000, beyond orjson's 64 bits.
    task_id = await tenant.create_task(runtime={"x": 1e20})
    await tenant.call("tasks.make_public", ids=[task_id])
    listed = await other_tenant.call("tasks.get_all", id=[task_id])
    assert listed["tasks"][0]["runtime"] == {"x": 100000000000000000000}
    assert (await other_tenant.call("tasks.get_by_id", task=task_id))["task"]["runtime"]["x"] == 10**20


@pytest.mark.parametrize("endpoint", ["tasks.reset_many", "tasks.archive_many", "tasks.unarchive_many",
                                      "tasks.enqueue_many", "tasks.dequeue_many", "tasks.publish_many"])
async def test_ids_of_the_wrong_type_answer_the_reference_validation_error(tenant: Tenant, endpoint: str) -> None:
    failure = await tenant.fails(endpoint, ids=["a", None])
    assert (failure.status, failure.subcode) == (400, 12)
    assert failure.msg == 'Validation error (all items must be instances of "str", and not "nonetype".)'
    failure = await tenant.fails(endpoint, ids=[{}])
    assert failure.msg == 'Validation error (all items must be instances of "str", and not "dict".)'


async def test_tags_of_the_wrong_type_are_refused_on_create(tenant: Tenant) -> None:
    failure = await tenant.fails("tasks.create", name="tagged", type="training", tags=["ok", 5])
    assert failure.msg == 'Validation error (all items must be instances of "str", and not "int".)'


LISTINGS = ["tasks.get_all", "queues.get_all", "projects.get_all"]


@pytest.mark.parametrize("endpoint", LISTINGS)
@pytest.mark.parametrize("pattern", ["a{1,300}", "(" * 900, "(" * 3000])
async def test_a_regex_postgresql_or_python_cannot_compile_is_a_400_21(tenant: Tenant, endpoint: str,
                                                                      pattern: str) -> None:
    response = await tenant.raw(f"/{endpoint}", {"name": pattern})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 21)


@pytest.mark.parametrize("endpoint", LISTINGS)
async def test_ids_that_are_not_strings_are_a_400_12(tenant: Tenant, endpoint: str) -> None:
    response = await tenant.raw(f"/{endpoint}", {"id": [{}]})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


@pytest.mark.parametrize("body", [{"system_tags": [{}]}, {"tags": {}}, {"parent": {}}, {"project": [[]]}])
async def test_list_filter_values_that_are_objects_are_a_400_12(tenant: Tenant, body: dict[str, object]) -> None:
    response = await tenant.raw("/tasks.get_all", body)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


@pytest.mark.parametrize("body", [{"page": 99999999999999999, "page_size": 500}, {"last_iteration": [1e20, None]},
                                  {"page": 1e20, "page_size": 10}, {"size": 1e20, "scroll_id": ""}])
async def test_huge_paging_and_range_numbers_are_client_errors(tenant: Tenant, body: dict[str, object]) -> None:
    response = await tenant.raw("/tasks.get_all", body)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


@pytest.mark.parametrize("body", [{"max_task_entries": -1}, {"id": [1]}])
async def test_bad_queue_listing_arguments_are_client_errors(tenant: Tenant, body: dict[str, object]) -> None:
    response = await tenant.raw("/queues.get_all", body)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


async def test_a_scroll_size_is_capped(tenant: Tenant) -> None:
    for _ in range(3):
        await tenant.create_task()
    first = await tenant.call("tasks.get_all", user=[tenant.user], scroll_id="", size=10**12, only_fields=["id"])
    assert len(first["tasks"]) == 3


async def test_an_overlong_idempotency_key_is_refused(tenant: Tenant) -> None:
    response = await tenant.raw("/tasks.create", {"name": "keyed", "type": "training"},
                                headers={"Idempotency-Key": "k" * 6000})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)
    assert await count_tasks(tenant) == 0


async def test_a_5000_digit_version_in_the_path_is_a_client_error(tenant: Tenant) -> None:
    response = await tenant.raw(f"/v{'9' * 5000}.0/tasks.get_all", {})
    assert response.status_code == 400


@pytest.mark.parametrize("endpoint", ["models.get_all", "models.get_all_ex", "projects.get_all", "queues.get_all"])
async def test_only_fields_that_are_not_strings_are_a_lookup_error(tenant: Tenant, endpoint: str) -> None:
    response = await tenant.raw(f"/{endpoint}", {"only_fields": [{}]})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 14)


@pytest.mark.parametrize("artifact", [{"key": "k", "type": "t", "mode": {}}, {"key": {}, "type": "t"},
                                      {"key": None, "type": "t"},
                                      {"key": "k", "type": "t", "mode": "sideways"}, {"key": "k", "type": ["t"]}])
@pytest.mark.parametrize("endpoint", ["tasks.validate", "tasks.create"])
async def test_artifact_fields_of_the_wrong_type_are_a_400_12(tenant: Tenant, endpoint: str,
                                                             artifact: dict[str, object]) -> None:
    failure = await tenant.fails(endpoint, name="abc", type="training", execution={"artifacts": [artifact]})
    assert (failure.status, failure.subcode) == ((400, 800) if artifact["key"] is None else (400, 12))


@pytest.mark.parametrize("endpoint", LISTINGS)
@pytest.mark.parametrize("paging", [{"page_size": True}, {"page": True, "page_size": 5}])
async def test_booleans_are_not_page_numbers(tenant: Tenant, endpoint: str, paging: dict[str, object]) -> None:
    response = await tenant.raw(f"/{endpoint}", paging)
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)


async def test_query_string_keys_obey_the_nesting_limit(tenant: Tenant) -> None:
    deep = ".".join(["a"] * 300)
    response = await tenant.raw("/tasks.create", {"name": "deep", "type": "training"}, params={f"runtime.{deep}": "1"})
    assert (response.status_code, response.json()["meta"]["result_subcode"]) == (400, 12)
    assert await count_tasks(tenant) == 0
