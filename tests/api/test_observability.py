"""The API's own metrics and the example dashboard and alert rules (issue 12): requests counted and timed per
endpoint and result with bounded labels, client retries counted, readiness while draining, `/metrics` without the
database, and every metric the deploy/observability files use is one the server exposes."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from taskstream.api import lifecycle
from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from taskstream.api.limits import Limits
from taskstream.api.observability import route_name
from tests.api.test_database_unavailable import closed_port
from tests.conftest import Tenant

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
METRIC_NAME = re.compile(r"\btaskstream_[a-z0-9_]+")


def all_counted(endpoint: str) -> float:
    return sum(sample.value for family in REGISTRY.collect() for sample in family.samples
               if sample.name == "taskstream_http_requests_total" and sample.labels.get("endpoint") == endpoint)


def requests_counted(endpoint: str, code: str, subcode: str = "0") -> float:
    return REGISTRY.get_sample_value("taskstream_http_requests_total",
                                     {"endpoint": endpoint, "code": code, "subcode": subcode}) or 0.0


async def test_requests_are_counted_by_endpoint_code_and_subcode(tenant: Tenant) -> None:
    created = requests_counted("tasks.create", "200")
    missing = requests_counted("tasks.get_by_id", "400", "101")
    unknown = all_counted("unknown")
    timed = REGISTRY.get_sample_value("taskstream_http_request_duration_seconds_count",
                                      {"endpoint": "tasks.create", "code": "200"}) or 0.0
    await tenant.create_task()
    assert (await tenant.fails("tasks.get_by_id", task=uuid.uuid4().hex)).subcode == 101
    for path in ("/no.such_endpoint", f"/v2.13/{uuid.uuid4().hex}.x", "/a/b/c"):  # one label for all of them
        assert (await tenant.raw(path, {})).status_code in (400, 404)
    assert requests_counted("tasks.create", "200") == created + 1
    assert requests_counted("tasks.get_by_id", "400", "101") == missing + 1
    assert all_counted("unknown") == unknown + 3
    assert REGISTRY.get_sample_value("taskstream_http_request_duration_seconds_count",
                                     {"endpoint": "tasks.create", "code": "200"}) == timed + 1


def test_routes_outside_the_api_have_fixed_names() -> None:
    assert [route_name(p) for p in ("/health/live", "/health/ready", "/metrics", "/docs", "/docs/assets/x.js",
                                    "/files/a/b.bin", "/openapi.json", "/anything")] == [
        "health.live", "health.ready", "metrics", "docs", "docs", "files", "openapi", "unknown"]


async def test_a_retried_command_is_counted_as_a_retry(tenant: Tenant) -> None:
    before = REGISTRY.get_sample_value("taskstream_command_retries_total") or 0.0
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await tenant.raw("/tasks.create", {"name": "retried", "type": "training"}, headers=key)
    again = await tenant.raw("/tasks.create", {"name": "retried", "type": "training"}, headers=key)
    assert first.json()["data"] == again.json()["data"]
    assert REGISTRY.get_sample_value("taskstream_command_retries_total") == before + 1


async def test_ready_answers_503_while_draining(http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "_draining", True)
    response = await http.get("/health/ready")
    assert (response.status_code, response.json()) == (503, {"status": "draining"})
    assert (await http.get("/health/live")).status_code == 200


async def test_metrics_answer_without_the_database(ctx: AppContext) -> None:
    unreachable = await asyncpg.create_pool(f"postgresql://nobody@127.0.0.1:{closed_port()}/none", min_size=0,
                                            max_size=1, timeout=5)
    app = create_app(None, Limits())
    app.state.ctx = AppContext(pool=unreachable, contract=ctx.contract, auth=ctx.auth)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        response = await client.get("/metrics")
    await unreachable.close()
    assert response.status_code == 200
    assert "taskstream_database_up 0" in response.text and "taskstream_http_requests_total" in response.text


def exposed_names(text: str) -> set[str]:
    """Every name a query may use: the families, and the series each family's type adds."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


async def test_dashboard_and_alerts_use_only_metrics_the_server_exposes(http: httpx.AsyncClient) -> None:
    exposed = exposed_names((await http.get("/metrics")).text)
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert expressions and alerts and all(rule["alert"] and rule["expr"] and rule["for"] for rule in alerts)
    referenced = {name for text in expressions + [rule["expr"] for rule in alerts]
                  for name in METRIC_NAME.findall(text)}
    assert {"taskstream_subscriber_lag", "taskstream_http_requests_total",
            "taskstream_http_request_duration_seconds_bucket"} <= referenced
    assert referenced <= exposed, sorted(referenced - exposed)
    mentioned = {name for path in OBSERVABILITY.iterdir() for name in METRIC_NAME.findall(path.read_text())}
    assert mentioned <= exposed, sorted(mentioned - exposed)
