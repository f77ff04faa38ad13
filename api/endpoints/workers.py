"""The workers service as the agent uses it: register, status_report (which marks the task it runs), unregister,
get_all, get_runtime_properties. Every answer's `data` is an object, even when empty (clients.md §4)."""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.commands.handlers.telemetry import report_worker_status
from taskstream.commands.messages import WorkerReport
from taskstream.projections.worker_registry import delete_worker, live_workers, unknown_queues, upsert_worker
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError

DEFAULT_LAST_SEEN_SEC = 3600
# Seconds in a worker's `timeout` (an integer column) and in `last_seen` (subtracted from now): beyond these a
# value is a client's mistake (400/12), not a database or date overflow (500).
MAX_SECONDS = 2**31 - 1


def _seconds(name: str, value: Any) -> int | None:
    """A positive number of seconds, None when absent or not positive (the default applies); 400/12 when
    it is beyond MAX_SECONDS."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    if value > MAX_SECONDS:
        raise ApiError(400, 12, f"error for field '{name}'. must be at most {MAX_SECONDS} seconds")
    return value


def _worker_id(call: Call) -> str:
    worker = call.data.get("worker")
    if not isinstance(worker, str) or not worker:
        raise ApiError(400, 12, "error for field 'worker'. field is required!")
    return worker


def _strings(call: Call, name: str) -> list[str] | None:
    value = call.data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, 12, f"error for field '{name}'. expected a list of strings")
    return list(value)


def _text(call: Call, name: str) -> str | None:
    value = call.data.get(name)
    return value if isinstance(value, str) and value else None


def _report(call: Call, status_report: bool) -> WorkerReport:
    return WorkerReport(
        company=call.actor.company, worker=_worker_id(call), user=call.actor.user, now=utc_now(),
        queues=_strings(call, "queues"), tags=_strings(call, "tags"), system_tags=_strings(call, "system_tags"),
        timeout_sec=_seconds("timeout", call.data.get("timeout")),
        task=_text(call, "task") if status_report else None, queue=_text(call, "queue") if status_report else None,
        status_report=status_report)


@endpoint("workers.register")
async def register(call: Call) -> dict[str, Any]:
    """Register (or re-register) the worker for `timeout` seconds (default 600); unknown queues → 400/701."""
    report = _report(call, status_report=False)
    async with call.ctx.pool.acquire() as conn:
        missing = await unknown_queues(conn, report.company, report.queues or [])
        if missing:
            raise ApiError(400, 701, id=missing, company=report.company)
        await upsert_worker(conn, report)
    return {}


@endpoint("workers.status_report")
async def status_report(call: Call) -> dict[str, Any]:
    """Refresh the worker (registering it if needed); with a `task`, record on the task that this worker runs
    it (`WorkerReported`); an unknown task → 400/101 and nothing is written."""
    await report_worker_status(call.ctx.commands, call.caller(), _report(call, status_report=True))
    return {}


@endpoint("workers.unregister")
async def unregister(call: Call) -> dict[str, Any]:
    worker = _worker_id(call)
    async with call.ctx.pool.acquire() as conn:
        if not await delete_worker(conn, call.actor.company, worker):
            raise ApiError(400, 1004, "Worker is not registered", worker=worker)
    return {}


@endpoint("workers.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    """Live workers of the caller's company seen in the last `last_seen` seconds (default 3600)."""
    last_seen = _seconds("last_seen", call.data.get("last_seen")) or DEFAULT_LAST_SEEN_SEC
    return {"workers": await live_workers(call.ctx.pool, call.actor.company, utc_now(), last_seen)}


@endpoint("workers.get_runtime_properties")
async def get_runtime_properties(call: Call) -> dict[str, Any]:
    _worker_id(call)
    return {"runtime_properties": []}
