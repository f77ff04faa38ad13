"""The listing endpoints' read (`tasks.get_all`, `get_all_ex`, `get_by_id_ex`, §5.2–5.4, §6): compiled, run,
projected and, for the `_ex` forms, reference-expanded and joined. Output conversions by API version stay with
the caller (`documents.for_version`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.task_query.compiler import QueryOptions
from taskstream.projections.task_query.execution import fetch_tasks
from taskstream.projections.task_query.fields import expand_references, field_spec, shape
from taskstream.projections.task_query.joins import apply_joins, name_queues


async def list_tasks(pool: asyncpg.Pool, company: str, data: dict[str, Any], *, extended: bool,
                     by_id: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """(tasks as projected, scroll id in scroll mode) for the caller's company and public tasks (see §6.1 and
    §5.2 for how the three endpoints differ). Raises ApiError (400) for malformed filters and projections."""
    spec = field_spec(data, extended)
    options = QueryOptions(
        include_subprojects=extended and not by_id and bool(data.get("include_subprojects")),
        hide_hidden=not by_id and not data.get("search_hidden"),
        top_keys=spec.top_keys() if spec else None,
    )
    scroll = "scroll_id" in data and not by_id
    docs, scroll_id = await fetch_tasks(pool, company, data, options, scroll)
    tasks = [shape(doc, spec, owned=True) for doc in docs]  # each decoded for this call only
    if extended:
        tasks = [expand_references(t) for t in tasks]
        if spec is not None and spec.joins:
            await apply_joins(pool, tasks, spec.joins, company)
        await name_queues(pool, tasks, company)
    return tasks, scroll_id
