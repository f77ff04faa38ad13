"""`tasks.get_history`: a task's audit trail, read from the audit subscriber's table (projections/audit.py)."""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.projections.audit import task_history
from taskstream.schemas.errors import invalid_task_id


@endpoint("tasks.get_history")
async def get_history(call: Call) -> dict[str, Any]:
    """Readable by the task's company (and by everyone for a public task); otherwise 400/101 like get_by_id."""
    task_id = require_task_id(call)
    history = await task_history(call.ctx.pool, task_id, [call.actor.company, ""],
                                 newest_first=call.data.get("order") == "desc")
    if history is None:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    return {"history": history}
