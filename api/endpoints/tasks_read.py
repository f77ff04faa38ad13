"""The reading tasks endpoints: answered from the task read model only (never by folding streams)."""

from __future__ import annotations

import json
from typing import Any

from api.call import Call, endpoint
from api.endpoints.task_commands import require_task_id
from projections.documents import for_version, project
from projections.task_query import TASK_FIELDS, compile_get_all
from schemas.errors import ApiError, invalid_task_id


def _only_fields(data: dict[str, Any]) -> list[str] | None:
    fields = data.get("projection", data.get("only_fields"))
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = list(fields)
    bad = [f for f in fields if not isinstance(f, str) or f.lstrip("-").split(".")[0] not in TASK_FIELDS]
    if bad:
        raise ApiError(400, 14, "Lookup error (probably an invalid field name or unsupported nested field)",
                       err=f'Cannot resolve field "{bad[0]}"')
    return list(fields)


@endpoint("tasks.get_by_id")
async def get_by_id(call: Call) -> dict[str, Any]:
    task_id = require_task_id(call)
    raw = await call.ctx.pool.fetchval(
        "SELECT doc FROM tasks WHERE id = $1 AND company = ANY($2::text[])", task_id, [call.actor.company, ""])
    if raw is None:
        raise invalid_task_id(id=task_id, company=call.actor.company)
    return {"task": for_version(json.loads(raw), call.requested)}


@endpoint("tasks.get_all")
async def get_all(call: Call) -> dict[str, Any]:
    only_fields = _only_fields(call.data)
    sql, args = compile_get_all(call.data, call.actor.company)
    rows = await call.ctx.pool.fetch(sql, *args)
    tasks = [for_version(project(json.loads(r["doc"]), only_fields, exclude_defaults=True), call.requested)
             for r in rows]
    return {"tasks": tasks}
