"""The reading tasks endpoints: answered from the task read model only (never by folding streams).

The listing endpoints (`get_all`, `get_all_ex`, `get_by_id_ex`) live in `api.endpoints.tasks_query`."""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.request_fields import require_task_id
from taskstream.projections.documents import for_version
from taskstream.projections.task_reads import task_document
from taskstream.schemas.errors import invalid_task_id


@endpoint("tasks.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    doc = await task_document(call.ctx.pool, task_id, call.actor.company)
    if doc is None:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    return {"task": for_version(doc, call.requested)}
