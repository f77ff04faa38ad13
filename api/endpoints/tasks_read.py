"""The reading tasks endpoints: answered from the task read model only (never by folding streams).

The listing endpoints (`get_all`, `get_all_ex`, `get_by_id_ex`) live in `api.endpoints.tasks_query`."""

from __future__ import annotations

import json
from typing import Any

from taskstream.api.call import Call, endpoint
from taskstream.api.endpoints.task_commands import require_task_id
from taskstream.projections.documents import for_version
from taskstream.schemas.errors import invalid_task_id


@endpoint("tasks.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    raw = await call.ctx.pool.fetchval(
        "SELECT doc FROM tasks WHERE id = $1 AND company = ANY($2::text[])", task_id, [call.actor.company, ""])
    if raw is None:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    return {"task": for_version(json.loads(raw), call.requested)}
