"""Behaviours compared call by call with the reference server's recorded answers (issue 14), each read back
through the API."""

from __future__ import annotations

from tests.conftest import Tenant

MIN_ONE = "Validation error (value '[]' length is lower than allowed minimum '1'.)"


async def test_list_fields_below_their_minimum_length_answer_the_reference_message(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    cases = [
        ("tasks.add_or_update_artifacts", {"task": task_id, "artifacts": []}, MIN_ONE),
        ("tasks.get_hyper_params", {"tasks": []}, MIN_ONE),
        ("tasks.archive", {"tasks": []}, MIN_ONE),
        ("tasks.archive", {"ids": []},
         "Validation error (error for field 'tasks'. value '[]' length is lower than allowed minimum '1'.)"),
        ("tasks.archive_many", {"ids": []}, MIN_ONE),
        ("tasks.reset_many", {"ids": [None]},
         'Validation error (all items must be instances of "str", and not "nonetype".)'),
    ]
    for endpoint, body, msg in cases:
        failure = await tenant.fails(endpoint, **body)
        assert (failure.status, failure.subcode, failure.msg) == (400, 12, msg), (endpoint, body)
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert "archived" not in task["system_tags"]


async def test_missing_required_fields_are_reported_in_the_reference_order(tenant: Tenant) -> None:
    for _ in range(3):
        failure = await tenant.fails("tasks.validate")
        assert failure.msg == "Validation error (error for field 'name'. field is required!)"
    wrong_before_missing = await tenant.fails("tasks.create", type="nope")
    assert wrong_before_missing.msg == "Validation error (value 'nope' is not a valid choice.)"


async def test_empty_parameter_and_configuration_names_answer_the_minimum_length_message(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    message = "Validation error (value '' length is lower than allowed minimum '1'.)"
    cases = [
        ("tasks.edit_hyper_params", {"hyperparams": [{"section": "", "name": "a", "value": "1"}]}),
        ("tasks.edit_hyper_params", {"hyperparams": [{"section": "s", "name": "", "value": "1"}]}),
        ("tasks.delete_hyper_params", {"hyperparams": [{"section": ""}]}),
        ("tasks.edit_configuration", {"configuration": [{"name": "", "value": "1"}]}),
    ]
    for endpoint, body in cases:
        failure = await tenant.fails(endpoint, task=task_id, **body)
        assert (failure.subcode, failure.msg) == (12, message), (endpoint, body)
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert (task["hyperparams"], task["configuration"]) == ({}, {})


async def test_a_rejected_publish_names_the_published_status(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    failure = await tenant.fails("tasks.publish", task=task_id)
    assert failure.msg == "Invalid task status (Invalid status change): current_status=created, new_status=published"
    batch = await tenant.call("tasks.publish_many", ids=[task_id])
    assert batch["failed"][0]["error"]["data"] == {"current_status": "created", "new_status": "published"}
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["status"] == "created"


async def test_move_deeper_than_the_maximum_depth_names_only_the_maximum(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    failure = await tenant.fails("tasks.move", ids=[task_id], project_name="/".join("abcdefghijk"))
    assert (failure.subcode, failure.msg) == (409, "Project path exceed the maximum allowed depth: max_depth=10")
    assert "project" not in (await tenant.call("tasks.get_by_id", task=task_id))["task"]


async def test_impersonation_by_a_user_is_refused(tenant: Tenant) -> None:
    for header in ("X-Clearml-Impersonate-As", "X-Clearml-Act-As"):
        response = await tenant.raw("/tasks.create", {"name": "impersonated", "type": "training"},
                                    headers={header: "someone"})
        meta = response.json()["meta"]
        assert (response.status_code, meta["result_subcode"]) == (400, 6)
        assert meta["result_msg"] == "Impersonation error (impersonation not allowed): role=user"
    assert (await tenant.call("tasks.get_all", name="impersonated"))["tasks"] == []


async def test_malformed_basic_credentials_carry_the_decoder_reason(tenant: Tenant) -> None:
    response = await tenant.http.post("/tasks.get_all", json={}, headers={"Authorization": "Basic abcde"})
    meta = response.json()["meta"]
    assert (response.status_code, meta["result_subcode"]) == (401, 21)
    assert meta["result_msg"].startswith("Unauthorized (malformed credentials) (")
    assert len(meta["result_msg"]) > len("Unauthorized (malformed credentials) ()")


async def test_reset_and_delete_return_file_urls_when_asked(tenant: Tenant) -> None:
    artifacts = [{"key": "out", "type": "t", "uri": "s3://b/out"}, {"key": "in", "type": "t", "mode": "input",
                                                                      "uri": "s3://b/in"}]
    task_id = await tenant.create_task(execution={"artifacts": artifacts})
    reset = await tenant.call("tasks.reset", task=task_id, return_file_urls=True)
    assert reset["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": ["s3://b/out"]}
    assert (await tenant.call("tasks.reset", task=task_id))["urls"] == {}
    many = await tenant.call("tasks.reset_many", ids=[task_id], return_file_urls=True)
    assert many["succeeded"][0]["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": []}
    deleted = await tenant.call("tasks.delete", task=task_id, return_file_urls=True)
    assert deleted["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": ["s3://b/in"]}
    other = await tenant.create_task(execution={"artifacts": artifacts[:1]})
    batch = await tenant.call("tasks.delete_many", ids=[other], return_file_urls=True)
    assert batch["succeeded"][0]["urls"] == {"model_urls": [], "event_urls": [], "artifact_urls": ["s3://b/out"]}
    assert (await tenant.call("tasks.get_all", id=[task_id, other]))["tasks"] == []


async def test_get_all_ex_answers_the_queue_with_its_name(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    queue = await tenant.call("queues.get_default")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue["id"])
    expected = {"id": queue["id"], "name": queue["name"]}
    for body in ({"only_fields": ["execution.queue"]}, {}):
        [task] = (await tenant.call("tasks.get_all_ex", id=[task_id], **body))["tasks"]
        assert task["execution"]["queue"] == expected, body
    [task] = (await tenant.call("tasks.get_by_id_ex", id=[task_id], only_fields=["execution.queue"]))["tasks"]
    assert task["execution"]["queue"] == expected
    [plain] = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["execution.queue"]))["tasks"]
    assert plain["execution"]["queue"] == queue["id"]


LOOKUP = "Lookup error (probably an invalid field name or unsupported nested field): err=Cannot resolve field"


async def test_unknown_order_and_projection_fields_answer_the_lookup_error(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    for body, name in (({"order_by": ["nope"]}, "nope"), ({"order_by": "-nope"}, "nope"),
                       ({"order_by": ["name", "-nope"]}, "nope"), ({"only_fields": ["id", "nope"]}, "nope")):
        failure = await tenant.fails("tasks.get_all", **body)
        assert (failure.status, failure.subcode, failure.msg) == (400, 14, f'{LOOKUP} "{name}"'), body
    failure = await tenant.fails("tasks.get_all_ex", order_by=["nope"])
    assert (failure.subcode, failure.msg) == (14, f'{LOOKUP} "nope"')
    failure = await tenant.fails("tasks.get_all_ex", only_fields=["nope"])
    assert (failure.subcode, failure.msg) == (14, "Fields not defined for object: fields=(nope), object=Task")
    assert len((await tenant.call("tasks.get_all", id=[task_id], order_by=["-name"]))["tasks"]) == 1


def _plus_micros(stamp: str, micros: int) -> str:
    from datetime import datetime, timedelta
    return (datetime.fromisoformat(stamp) + timedelta(microseconds=micros)).isoformat()


async def test_datetime_ranges_over_a_change_made_a_moment_ago(tenant: Tenant) -> None:
    """Bounds compare at the stored millisecond precision, as the reference's BSON dates do: a bound taken within
    the millisecond of a change still covers it, in every form of §6.3d."""
    never = await tenant.create_task("never changed")
    task_id = await tenant.create_task("changed now")
    await tenant.call("tasks.started", task=task_id)
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    for field in ("status_changed", "last_update"):
        stamp = task[field]
        low, high = _plus_micros(stamp, 400), _plus_micros(stamp, 1000)
        naive = low.replace("+00:00", "")
        forms = [[low, high], [naive, high.replace("+00:00", "Z")], [naive.replace("T", " "), high],
                 [f">={low}", f"<={high}"], [f">= {naive}", f"< {high}"], [f">={low}"], low]
        for value in forms:
            listed = await tenant.call("tasks.get_all", id=[task_id, never], only_fields=["name"], **{field: value})
            assert [t["name"] for t in listed["tasks"]] == ["changed now"], (field, value)
        listed = await tenant.call("tasks.get_all", id=[task_id], **{field: [f"<{low}"]})
        assert listed["tasks"] == [], field
    # A null lower bound also matches the tasks whose status never changed (a missing value), as range fields do.
    listed = await tenant.call("tasks.get_all", id=[task_id, never], only_fields=["name"], order_by=["name"],
                               status_changed=[None, _plus_micros(task["status_changed"], 1000)])
    assert [t["name"] for t in listed["tasks"]] == ["changed now", "never changed"]
    listed = await tenant.call("tasks.get_all", id=[task_id, never], only_fields=["name"],
                               status_changed=[None, "2000-01-01"])
    assert [t["name"] for t in listed["tasks"]] == ["never changed"]


async def test_edit_below_2_13_echoes_the_docker_command(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    response = await tenant.raw("/v2.12/tasks.edit", {"task": task_id, "execution": {"docker_cmd": "img --arg"}})
    fields = response.json()["data"]["fields"]
    assert fields["container"] == {"image": "img", "arguments": "--arg"}
    assert fields["execution"]["docker_cmd"] == "img --arg"
    response = await tenant.raw("/v2.12/tasks.edit", {"task": task_id, "container": {"image": "other"}})
    assert response.json()["data"]["fields"]["execution"] == {"docker_cmd": "other"}
    current = (await tenant.call("tasks.edit", task=task_id, container={"image": "third"}))["fields"]
    assert "execution" not in current
    task = (await tenant.raw("/v2.12/tasks.get_by_id", {"task": task_id})).json()["data"]["task"]
    assert (task["container"], task["execution"]["docker_cmd"]) == ({"image": "third"}, "third")


def _artifact_id(key: str, mode: str) -> str:
    import hashlib
    return f"{hashlib.md5(key.encode()).hexdigest()}_{mode}"


async def test_reset_echoes_artifacts_in_the_reference_shape(tenant: Tenant) -> None:
    kept = {"key": "in", "type": "t", "mode": "input", "uri": "s3://b/in"}
    artifacts = [{"key": "out", "type": "t", "uri": "s3://b/out"}, kept]
    with_input = await tenant.create_task(execution={"artifacts": artifacts})
    output_only = await tenant.create_task(execution={"artifacts": artifacts[:1]})
    bare = await tenant.create_task()
    for task_id in (with_input, output_only, bare):
        await tenant.call("tasks.started", task=task_id)
    batch = await tenant.call("tasks.reset_many", ids=[with_input, output_only, bare], force=True)
    echoed = [item["fields"].get("execution.artifacts", "absent") for item in batch["succeeded"]]
    assert echoed == [{_artifact_id("in", "input"): {**kept, "display_data": []}}, {}, "absent"]
    single = await tenant.call("tasks.reset", task=with_input, force=True)
    assert "execution.artifacts" not in single["fields"]
    for call in ("tasks.reset", "tasks.reset_many"):
        body = {"task": with_input} if call == "tasks.reset" else {"ids": [with_input]}
        answer = await tenant.call(call, clear_all=True, force=True, **body)
        fields = answer["fields"] if call == "tasks.reset" else answer["succeeded"][0]["fields"]
        assert fields["execution"]["artifacts"] == {}, call
    task = (await tenant.call("tasks.get_by_id", task=with_input))["task"]
    assert task["execution"]["artifacts"] == []
    [task] = (await tenant.call("tasks.get_all", id=[output_only], only_fields=["execution.artifacts"]))["tasks"]
    assert task["execution"]["artifacts"] == []


async def test_a_forced_enqueue_of_a_queued_task_leaves_no_stray_enqueue_status(tenant: Tenant) -> None:
    task_id = await tenant.create_task()
    queue = await tenant.call("queues.get_default")
    other = await tenant.call("queues.create", name="second queue")
    await tenant.call("tasks.enqueue", task=task_id, queue=queue["id"])
    for target in (queue["id"], other["id"]):
        failure = await tenant.fails("tasks.enqueue", task=task_id, queue=target, force=True)
        assert failure.subcode == 706
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert (task["status"], task["enqueue_status"], task["execution"]["queue"]) == ("queued", "created", queue["id"])
    await tenant.call("tasks.dequeue", task=task_id)
    task = (await tenant.call("tasks.get_by_id", task=task_id))["task"]
    assert task["status"] == "created" and "enqueue_status" not in task
    [listed] = (await tenant.call("tasks.get_all", id=[task_id], only_fields=["enqueue_status"]))["tasks"]
    assert "enqueue_status" not in listed


REQUIRED = "ValidationError(Field is required,)"
STRING_ONLY = "ValidationError(StringField only accepts string values,)"


async def test_storage_validation_answers_the_reference_shapes(tenant: Tenant) -> None:
    cases = [
        ({"hyperparams": {"s": {"p": {"name": "p"}}}},
         f"hyperparams={{'s': {{'p': {{'section': {REQUIRED}, 'value': {REQUIRED}}}}}}}"),
        ({"hyperparams": {"s": {"ok": {"section": "s", "name": "ok", "value": "1"},
                                "p": {"section": "s", "name": "p", "value": 1}}, "a.b": {"q": {"name": "q"}}}},
         f"hyperparams={{'s': {{'p': {{'value': {STRING_ONLY}}}}}, "
         f"'a%2Eb': {{'q': {{'section': {REQUIRED}, 'value': {REQUIRED}}}}}}}"),
        ({"configuration": {"c": {"name": "c", "value": None}}}, f"configuration={{'c': {{'value': {REQUIRED}}}}}"),
        ({"execution": {"artifacts": [{"key": "k", "uri": "s3://x"}]}},
         f"execution={{'artifacts': {{'{_artifact_id('k', 'output')}': {{'type': {REQUIRED}}}}}}}"),
    ]
    for fields, data in cases:
        failure = await tenant.fails("tasks.create", name="storage check", type="training", **fields)
        assert (failure.status, failure.subcode, failure.msg) == (400, 800, f"Data validation error: {data}"), fields
        # validate checks what create checks before saving; the storage-level rules apply when saving only
        assert await tenant.call("tasks.validate", name="ab", type="training", **fields) == {}
    assert (await tenant.call("tasks.get_all", name="^storage check$"))["tasks"] == []
    short = await tenant.fails("tasks.create", name=" ab ", type="training")
    assert (short.subcode, short.msg) == (800, "Data validation error: name=String value is too short")


async def test_names_shorter_than_three_where_the_reference_accepts_them(tenant: Tenant) -> None:
    task_id = await tenant.create_task("long name")
    assert (await tenant.fails("tasks.update", task=task_id, name="ab")).subcode == 800
    assert (await tenant.fails("tasks.edit", task=task_id, name="ab")).subcode == 800
    response = await tenant.raw("/tasks.update_batch", headers={"Content-Type": "application/json-lines"},
                                content=f'{{"task": "{task_id}", "name": "ab"}}'.encode())
    assert (response.status_code, response.json()["data"]) == (200, {"updated": 1})
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["name"] == "ab"


async def test_operator_prefixed_tags_are_refused_only_with_tags(tenant: Tenant) -> None:
    """The reference checks the `__$` prefix of tags and system tags when the call sends `tags` (§5.9 step 4,
    conform_tag_fields); system tags sent without tags are stored as given."""
    refused = "Invalid value for fields (unsupported tag prefix): values=(__$x)"
    for fields in ({"tags": ["__$x"]}, {"tags": [], "system_tags": ["__$x"]}):
        failure = await tenant.fails("tasks.create", name="tagged", type="training", **fields)
        assert (failure.status, failure.subcode, failure.msg) == (400, 16, refused), fields
    task_id = (await tenant.call("tasks.create", name="tagged", type="training", system_tags=["b", "__$x"]))["id"]
    assert (await tenant.call("tasks.get_by_id", task=task_id))["task"]["system_tags"] == ["__$x", "b"]
    await tenant.call("tasks.update", task=task_id, system_tags=["__$y"])
    assert (await tenant.fails("tasks.update", task=task_id, tags=["t"], system_tags=["__$z"])).subcode == 16
    [task] = (await tenant.call("tasks.get_all", id=[task_id]))["tasks"]
    assert (task["system_tags"], task["tags"]) == (["__$y"], [])
