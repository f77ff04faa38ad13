"""`/metrics`: the log head and each subscriber's lag, in the Prometheus text format."""

from __future__ import annotations

import httpx

from taskstream.api.context import AppContext
from taskstream.projections.audit import AuditTrail
from taskstream.projections.subscription import LogSubscription
from tests.conftest import Tenant


async def test_metrics_report_head_and_subscriber_lag(ctx: AppContext, http: httpx.AsyncClient,
                                                      tenant: Tenant) -> None:
    await tenant.create_task("measured")
    await LogSubscription(ctx.pool, AuditTrail()).catch_up()

    response = await http.get("/metrics")

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = dict(line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#"))
    assert int(lines["taskstream_log_head_position"]) > 0
    assert int(lines['taskstream_subscriber_lag{subscriber="audit"}']) == 0
