"""Per-request metrics and the request log line, as one pure ASGI middleware (no Request object, no body copy).

The catch-all handler (`api.app.handle`) tells the middleware what only it knows through `note`: the endpoint
name once it is known to exist, the caller's company once authenticated, the envelope's trx, result code and
subcode. Other routes are named from a fixed table; anything else is `unknown` (bounded label values).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskstream.api.http_metrics import Load, request_series

REQUEST_INFO = "taskstream.request"
request_log = logging.getLogger("taskstream.request")

FIXED_ROUTES = {"/health/live": "health.live", "/health/ready": "health.ready", "/metrics": "metrics",
                "/docs": "docs", "/openapi.json": "openapi"}
PREFIX_ROUTES = (("/docs/assets/", "docs"), ("/files/", "files"))


def route_name(path: str) -> str:
    """The endpoint label of a request the catch-all handler did not name."""
    fixed = FIXED_ROUTES.get(path)
    if fixed is not None:
        return fixed
    for prefix, name in PREFIX_ROUTES:
        if path.startswith(prefix):
            return name
    return "unknown"


def note(request: Request, **fields: Any) -> None:
    """Record what the handler learnt about the request (endpoint, company, trx, result_code, subcode)."""
    info = request.scope.get(REQUEST_INFO)
    if info is not None:
        info.update(fields)


class Observability:
    """Counts and times every HTTP request by endpoint and result, tracks those in flight, and writes one log line
    per request when `taskstream.request` logs at INFO (`--log-format json`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info: dict[str, Any] = {}
        scope[REQUEST_INFO] = info
        status = 500  # what the client gets if the app fails before it answers

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        Load.in_flight += 1
        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            Load.in_flight -= 1
            elapsed = time.perf_counter() - started
            endpoint = info.get("endpoint") or route_name(scope["path"])
            count, latency = request_series(endpoint, status, info.get("subcode", 0))
            count.inc()
            latency.observe(elapsed)
            if request_log.isEnabledFor(logging.INFO):
                request_log.info("request", extra={"fields": {
                    "trx": info.get("trx"), "company": info.get("company"), "endpoint": endpoint,
                    "method": scope["method"], "status": status, "result_code": info.get("result_code"),
                    "result_subcode": info.get("subcode"), "duration_ms": round(elapsed * 1000, 3)}})
