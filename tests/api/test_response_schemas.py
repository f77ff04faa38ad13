"""Every response of the traced client flows (clients.md §3) matches the contract's response schema.

The SDK builds `<Action>Response(**data)` and one mistyped field discards the whole response (clients.md §2):
ints must be ints (not floats or bools), datetimes strings that parse, objects objects, lists lists. `null` is
accepted anywhere (the SDK's setters take None), so nulls are dropped before validating.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
from dateutil import parser as dateparser

from taskstream.api.context import AppContext
from taskstream.schemas.contract import parse_version
from tests.conftest import Tenant

_FORMATS = jsonschema.FormatChecker()


@_FORMATS.checks("date-time", raises=(ValueError, OverflowError))
def _is_datetime(value: object) -> bool:
    return not isinstance(value, str) or bool(dateparser.parse(value))


def _strict_int(_: object, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strict_number(_: object, value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many({"integer": _strict_int, "number": _strict_number})
Validator = jsonschema.validators.extend(jsonschema.Draft7Validator, type_checker=_TYPES)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class Recorder:
    """Calls endpoints like a client (path with or without version) and validates each successful response."""

    def __init__(self, tenant: Tenant, ctx: AppContext) -> None:
        self.tenant = tenant
        self.contract = ctx.contract
        self.checked: list[str] = []

    async def __call__(self, path: str, **body: Any) -> Any:
        response = await self.tenant.raw(f"/{path}", body)
        envelope = response.json()
        assert envelope["meta"]["result_code"] == 200, (path, envelope["meta"])
        self.validate(path, envelope["data"])
        return envelope["data"]

    async def lines(self, path: str, events: list[dict[str, Any]]) -> Any:
        content = "\n".join(json.dumps(e) for e in events).encode()
        response = await self.tenant.raw(f"/{path}", content=content,
                                         headers={"Content-type": "application/json-lines"})
        assert response.json()["meta"]["result_code"] == 200, response.json()["meta"]
        self.validate(path, response.json()["data"])
        return response.json()["data"]

    def validate(self, path: str, data: Any) -> None:
        version_text, _, name = path.rpartition("/")
        endpoint = self.contract.endpoints[name]
        requested = parse_version(version_text[1:]) if version_text else max(endpoint.versions)
        schema_version = max(v for v in endpoint.versions if v <= requested)
        schema = endpoint.versions[schema_version].get("response")
        assert schema, f"{name} has no response schema"
        Validator({**schema, "definitions": endpoint.definitions}, format_checker=_FORMATS).validate(
            _without_nulls(data))
        self.checked.append(path)


def _ms() -> int:
    return int(time.time() * 1000)


async def test_sdk_flow_responses_match_the_contract(tenant: Tenant, ctx: AppContext) -> None:
    call = Recorder(tenant, ctx)
    assert await call("v2.23/projects.get_all", name="^sdk\\-proj$", only_fields=["id"]) == {"projects": []}
    project = (await call("v2.23/projects.create", name="sdk-proj", description=""))["id"]
    task = (await call("v2.23/tasks.create", name="flow b", type="training", system_tags=["development"],
                       comment="Auto-generated", project=project))["id"]
    await call("v2.23/tasks.get_by_id", task=task)
    await call("v2.23/tasks.started", task=task, force=False)
    await call("v2.23/projects.get_by_id", project=project)
    await call("v2.23/tasks.edit", task=task, force=True,
               script={"binary": "python3.11", "repository": "", "entry_point": "flow.py", "diff": "print(1)"})
    await call.lines("v2.23/events.add_batch", [{"timestamp": _ms(), "type": "log", "task": task, "level": "info",
                                                 "worker": "host", "msg": "created"}])
    await call("v2.23/tasks.set_requirements", task=task, requirements={"pip": "clearml", "conda": ""})
    await call("v2.23/tasks.edit", task=task, force=True, runtime={"progress": "0"})
    await call("v2.23/tasks.edit", task=task, force=True, hyperparams={
        "General": {"lr": {"section": "General", "name": "lr", "value": "0.1", "type": "float"}}})
    await call("v2.23/tasks.get_all", id=[task], only_fields=["status", "status_message", "id"])
    await call("v2.23/tasks.ping", task=task)
    await call.lines("v2.23/events.add_batch", [
        {"timestamp": _ms(), "type": "training_stats_scalar", "task": task, "iter": 1, "metric": "loss",
         "variant": "train", "value": 0.5, "allow_locked": False, "model_event": False, "method": "get"}])
    await call("v2.23/tasks.add_or_update_artifacts", task=task, force=True, artifacts=[
        {"key": "a", "type": "dict", "uri": "http://files/a.json", "content_size": 14, "hash": "x",
         "timestamp": int(time.time()), "type_data": {"preview": "{}", "content_type": "application/json"}}])
    await call("v2.23/tasks.completed", task=task, force=False, status_reason="completed", publish=False)
    doc = (await call("v2.23/tasks.get_by_id", task=task))["task"]
    assert isinstance(doc["last_iteration"], int) and isinstance(doc["active_duration"], int)
    listed = await call("v2.23/tasks.get_all", name="^flow\\ b$", project=[project], page=0, page_size=500,
                        only_fields=["id", "name", "last_update", "system_tags"])
    assert [t["id"] for t in listed["tasks"]] == [task]
    await call("v2.23/tasks.get_all", id=[task])
    await call("v2.9/events.get_task_log", task=task, batch_size=100, navigate_earlier=False)


async def test_apiclient_and_clone_flow_responses_match_the_contract(tenant: Tenant, ctx: AppContext) -> None:
    call = Recorder(tenant, ctx)
    task = (await call("v2.23/tasks.create", name="api task", type="training"))["id"]
    await call("v2.23/tasks.edit", task=task, force=False, tags=["x"], comment="c")
    await call("v2.23/tasks.get_all", name="^api task$", page=0, page_size=10, order_by=["-last_update"],
               only_fields=["id", "name", "status"])
    started = await call("v2.23/tasks.started", task=task, force=False)
    assert started["started"] == 1
    await call("v2.23/tasks.stopped", task=task, force=False)
    await call("v2.23/tasks.enqueue", task=task, queue_name="schema-q", verify_watched_queue=False)
    await call("v2.23/tasks.get_by_id", task=task)
    clone = (await call("v2.23/tasks.clone", task=task, new_task_name="cloned", new_task_parent=task))["id"]
    queue = (await call("v2.23/queues.get_all", name="^default$", only_fields=["id"]))["queues"][0]["id"]
    await call("v2.23/tasks.enqueue", task=clone, queue=queue, verify_watched_queue=False)
    await call("v2.23/tasks.dequeue", task=clone)
    reset = await call("v2.23/tasks.reset", task=task, force=True)
    assert isinstance(reset["dequeued"], dict)
    await call("v2.23/tasks.started", task=clone, force=True)
    await call("v2.23/tasks.stop", task=clone)
    await call("v2.23/tasks.failed", task=clone, force=True)
    await call("v2.23/tasks.delete", task=clone, force=True)


async def test_agent_flow_responses_match_the_contract(tenant: Tenant, ctx: AppContext) -> None:
    call = Recorder(tenant, ctx)
    task = (await call("v2.23/tasks.create", name="agent task", type="training"))["id"]
    queue = (await call("v2.5/queues.get_all", name="default", only_fields=["name", "id"]))["queues"][0]["id"]
    await call("v2.5/queues.get_all", id=[queue])
    await call("workers.register", worker="box:0", queues=[queue])
    await call("workers.get_runtime_properties", worker="box:0")
    await call("v2.5/tasks.enqueue", task=task, queue=queue)
    entry = await call("v2.14/queues.get_next_task", queue=queue)
    assert entry["entry"]["task"] == task
    assert await call("v2.14/queues.get_next_task", queue=queue) == {}
    await call("v2.5/tasks.started", task=task, force=True, status_message="pulled by agent")
    await call("workers.status_report", worker="box:0", timestamp=_ms(), task=task, queue=queue, queues=[queue],
               machine_stats={"cpu_usage": [1.0], "memory_used": 100}, is_daemon=True)
    await call("v2.15/tasks.get_all", id=[task], only_fields=["runtime"], search_hidden=True)
    await call("tasks.edit", task=task, force=True, runtime={"_exec_agent_hostname": "box"})
    await call("v2.14/tasks.get_all", id=[task], search_hidden=True, only_fields=["status", "status_message"])
    await call("v2.5/tasks.get_by_id", task=task)
    await call("v2.5/tasks.ping", task=task)
    await call.lines("events.add_batch", [{"timestamp": _ms(), "type": "log", "task": task, "level": "info",
                                           "worker": "box:0", "msg": "line"}])
    await call("workers.get_all")
    await call("v2.5/tasks.completed", task=task, force=False, status_reason="worker execution done")
    await call("workers.unregister", worker="box:0", queues=[])
    assert len(call.checked) >= 18


async def test_other_task_endpoint_responses_match_the_contract(tenant: Tenant, ctx: AppContext) -> None:
    call = Recorder(tenant, ctx)
    task = (await call("v2.23/tasks.create", name="other task", type="training"))["id"]
    await call("v2.23/tasks.validate", name="valid one", type="training")
    await call("v2.23/tasks.update", task=task, comment="updated")
    await call("v2.23/tasks.edit_hyper_params", task=task, hyperparams=[
        {"section": "Args", "name": "lr", "value": "0.1"}])
    await call("v2.23/tasks.get_hyper_params", tasks=[task])
    await call("v2.23/tasks.delete_hyper_params", task=task, hyperparams=[{"section": "Args", "name": "lr"}])
    await call("v2.23/tasks.edit_configuration", task=task, configuration=[{"name": "cfg", "value": "a: 1"}])
    await call("v2.23/tasks.get_configurations", tasks=[task])
    await call("v2.23/tasks.add_or_update_model", task=task, name="m", model="model-id", type="output")
    await call("v2.23/tasks.delete_models", task=task, models=[{"name": "m", "type": "output"}])
    await call("v2.23/tasks.delete_artifacts", task=task, artifacts=[{"key": "nothing"}], force=True)
    await call("v2.23/tasks.get_types")
    await call("v2.23/tasks.started", task=task)
    await call("v2.23/tasks.completed", task=task)
    await call("v2.23/tasks.publish", task=task)
    other = (await call("v2.23/tasks.create", name="other two", type="training"))["id"]
    await call("v2.23/tasks.close", task=other, force=True)
    await call("v2.23/tasks.archive_many", ids=[other])
    await call("v2.23/tasks.unarchive_many", ids=[other])
    await call("v2.23/tasks.reset_many", ids=[other], force=True)
    await call("v2.23/tasks.enqueue_many", ids=[other], queue_name="many-q")
    await call("v2.23/tasks.dequeue_many", ids=[other])
    await call("v2.23/tasks.stop_many", ids=[other], force=True)
    await call("v2.23/tasks.delete_many", ids=[other], force=True)
