"""The events service, as far as the clients need it: `events.add_batch` (telemetry in, task fields updated
through one `MetricsReported` per task, `commands.handlers.telemetry`) and `events.get_task_log` (the log lines
back)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.commands.decide_telemetry import RejectedEvent, ReportedEvent, normalize_event
from taskstream.commands.handlers.telemetry import AddEvents, add_events
from taskstream.projections.task_telemetry import read_log, telemetry_company
from taskstream.schemas.clock import utc_now
from taskstream.schemas.errors import ApiError, invalid_task_id

DEFAULT_LOG_BATCH = 500


def _normalize_all(lines: list[dict[str, Any]], now_ms: int) -> tuple[dict[str, list[ReportedEvent]], Counter[str]]:
    by_task: dict[str, list[ReportedEvent]] = defaultdict(list)
    errors: Counter[str] = Counter()
    for line in lines:
        try:
            event = normalize_event(line, now_ms)
        except RejectedEvent as rejected:
            errors[str(rejected)] += 1
            continue
        by_task[event.task].append(event)
    return by_task, errors


@endpoint("events.add_batch")
async def add_batch(call: Call) -> dict[str, Any]:
    """Add the JSON-lines events; every batch that adds something answers {added, errors, errors_info}.
    A batch with nothing to add fails with 400/131 (nothing is written), an empty one with 400/17."""
    if not call.batched:
        raise ApiError(400, 17, "Batch request contains no items")
    now = utc_now()
    by_task, errors = _normalize_all(call.batched, int(now.timestamp() * 1000))
    return await add_events(call.ctx.commands, call.caller(), AddEvents(by_task, now, errors))


def _int_field(call: Call, name: str, default: int | None) -> int | None:
    value = call.data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, 12, f"error for field '{name}'. expected an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, 12, f"error for field '{name}'. invalid literal for int() with base 10: "
                                f"'{value}'") from exc
    # A bigint column is compared with it: 1e30 is the client's mistake (400), not a database error (500).
    if not -(2**63) <= number < 2**63:
        raise ApiError(400, 12, f"error for field '{name}'. must be a 64-bit integer")
    return number


@endpoint("events.get_task_log")
async def get_task_log(call: Call) -> dict[str, Any]:
    """The task's log events, `batch_size` at a time, latest first unless `navigate_earlier` is false;
    `order` ("asc"/"desc") sorts the returned page. Public tasks are readable."""
    task_id = require_task_id(call)
    owner = await telemetry_company(call.ctx.pool, task_id, call.actor.company)
    if owner is None:
        raise invalid_task_id(id=task_id)
    navigate_earlier = bool(call.data.get("navigate_earlier", True))
    batch_size = max(1, min(_int_field(call, "batch_size", DEFAULT_LOG_BATCH) or DEFAULT_LOG_BATCH, 10000))
    page = await read_log(call.ctx.pool, owner, task_id, batch_size, navigate_earlier,
                          _int_field(call, "from_timestamp", None))
    events = page.events
    order = call.data.get("order")
    if (navigate_earlier and order == "asc") or (not navigate_earlier and order == "desc"):
        events.reverse()
    return {"events": events, "returned": len(events), "total": page.total}
