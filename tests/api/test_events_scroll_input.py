"""A scroll id comes back from the client: it is input like any other. A forged one is refused (400/1104), never
run, never a 500 — and nothing in it reaches SQL except as a bound parameter."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import Tenant


def forged(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


async def reported_task(tenant: Tenant) -> str:
    task_id = await tenant.create_task("scrolled")
    events = [{"task": task_id, "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": i,
               "value": float(i), "timestamp": 1_700_000_000_000 + i} for i in range(5)]
    await tenant.raw("/events.add_batch", content="\n".join(json.dumps(e) for e in events).encode(),
                     headers={"Content-Type": "application/json-lines"})
    return task_id


INJECTION = "1) UNION ALL (SELECT 0, 0, to_jsonb(value)::text FROM settings) page --"


@pytest.mark.parametrize("change", [
    {"batch_size": INJECTION}, {"batch_size": True}, {"batch_size": 0}, {"after": ["a", "b"]}, {"after": [1]},
    {"after": "1,2"}, {"order": "sideways; DROP TABLE tasks"}, {"total": "many"}, {"metrics": "m"},
    {"metrics": [1]}, {"event_type": {"$ne": 1}},
])
async def test_a_forged_scroll_state_is_refused(tenant: Tenant, change: dict[str, Any]) -> None:
    task_id = await reported_task(tenant)
    first = await tenant.call("events.get_task_events", task=task_id, batch_size=2)
    state = json.loads(base64.urlsafe_b64decode(first["scroll_id"].encode()))
    failure = await tenant.fails("events.get_task_events", task=task_id, scroll_id=forged({**state, **change}))
    assert (failure.status, failure.subcode) == (400, 1104)


async def test_a_genuine_scroll_continues(tenant: Tenant) -> None:
    task_id = await reported_task(tenant)
    first = await tenant.call("events.get_task_events", task=task_id, batch_size=2)
    second = await tenant.call("events.get_task_events", task=task_id, scroll_id=first["scroll_id"])
    assert [e["iter"] for e in first["events"] + second["events"]] == [0, 1, 2, 3]


async def test_a_forged_debug_image_scroll_is_ignored_not_run(tenant: Tenant) -> None:
    task_id = await reported_task(tenant)
    scroll = forged({task_id: INJECTION})
    answer = await tenant.call("events.debug_images", metrics=[{"task": task_id}], scroll_id=scroll)
    assert answer["metrics"] == [{"task": task_id, "iterations": []}]
