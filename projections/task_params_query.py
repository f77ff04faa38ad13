"""Reads of task parameters and types from the task read model (§5.5, §5.35, §5.38, §5.39), in SQL.

Every read is scoped to the caller's company plus public tasks (§2.5). Items are ordered with the "C"
collation, which compares code points as the reference server's Python sort does. Tasks come back in storage
order (creation order), not request order, as on the reference server.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from taskstream.schemas.enums import TASK_TYPES
from taskstream.schemas.errors import invalid_task_id

_HYPER_PARAMS = """
SELECT t.id, COALESCE((
    SELECT jsonb_agg(p.value ORDER BY COALESCE(p.value->>'section', s.key) COLLATE "C",
                                      COALESCE(p.value->>'name', p.key) COLLATE "C")
    FROM jsonb_each(COALESCE(t.doc->'hyperparams', '{}'::jsonb)) s,
         jsonb_each(CASE WHEN jsonb_typeof(s.value) = 'object' THEN s.value ELSE '{}'::jsonb END) p
), '[]'::jsonb) AS items
FROM tasks t WHERE t.id = ANY($1::text[]) AND t.company = ANY($2::text[])
ORDER BY t.created, t.id
"""

_CONFIGURATIONS = """
SELECT t.id, COALESCE((
    SELECT jsonb_agg(c.value ORDER BY COALESCE(c.value->>'name', c.key) COLLATE "C")
    FROM jsonb_each(COALESCE(t.doc->'configuration', '{}'::jsonb)) c
    WHERE $3::text[] IS NULL OR c.key = ANY($3::text[])
), '[]'::jsonb) AS items
FROM tasks t WHERE t.id = ANY($1::text[]) AND t.company = ANY($2::text[])
ORDER BY t.created, t.id
"""

_CONFIGURATION_NAMES = """
SELECT t.id, array_agg(c.key ORDER BY c.key COLLATE "C") AS names
FROM tasks t, jsonb_each(COALESCE(t.doc->'configuration', '{}'::jsonb)) c
WHERE t.id = ANY($1::text[]) AND t.company = ANY($2::text[])
  AND (NOT $3::boolean OR COALESCE(c.value->>'value', '') <> '')
GROUP BY t.id, t.created
ORDER BY t.created, t.id
"""

# Tasks of the given projects and all their sub-projects (hidden ones included), else every task but hidden.
_TYPES_IN_PROJECTS = """
WITH RECURSIVE scope(id) AS (
    SELECT unnest($3::text[])
    UNION SELECT p.id FROM projects p JOIN scope ON p.parent = scope.id
)
SELECT DISTINCT type FROM tasks
WHERE company = ANY($1::text[]) AND type = ANY($2::text[]) AND project IN (SELECT id FROM scope)
ORDER BY type
"""
_TYPES = """
SELECT DISTINCT type FROM tasks
WHERE company = ANY($1::text[]) AND type = ANY($2::text[]) AND NOT ('hidden' = ANY(system_tags))
ORDER BY type
"""


def _scope(company: str) -> list[str]:
    return [company, ""]


async def _items_per_task(pool: asyncpg.Pool, sql: str, ids: list[str], company: str,
                          *extra: Any) -> list[tuple[str, list[Any]]]:
    """(task id, items) for every id; an id that is not readable → 400/101 naming all requested ids."""
    rows = await pool.fetch(sql, ids, _scope(company), *extra)
    if len(rows) != len(set(ids)):
        raise invalid_task_id(ids=ids)
    return [(r["id"], json.loads(r["items"])) for r in rows]


async def hyper_params(pool: asyncpg.Pool, ids: list[str], company: str) -> list[dict[str, Any]]:
    """`[{task, hyperparams: [items sorted by (section, name)]}]`."""
    return [{"task": task, "hyperparams": items}
            for task, items in await _items_per_task(pool, _HYPER_PARAMS, ids, company)]


async def configurations(pool: asyncpg.Pool, ids: list[str], names: list[str] | None,
                         company: str) -> list[dict[str, Any]]:
    """`[{task, configuration: [items sorted by name]}]`, only the given names when there are any."""
    return [{"task": task, "configuration": items}
            for task, items in await _items_per_task(pool, _CONFIGURATIONS, ids, company, names or None)]


async def configuration_names(pool: asyncpg.Pool, ids: list[str], skip_empty: bool,
                              company: str) -> list[dict[str, Any]]:
    """`[{task, names}]`; ids are not checked: unknown tasks and tasks without names are simply absent."""
    rows = await pool.fetch(_CONFIGURATION_NAMES, ids, _scope(company), skip_empty)
    return [{"task": r["id"], "names": list(r["names"])} for r in rows]


async def task_types(pool: asyncpg.Pool, company: str, projects: list[str] | None) -> list[str]:
    """The known task types in use, in the given projects and their sub-projects, or everywhere but hidden."""
    if projects:
        rows = await pool.fetch(_TYPES_IN_PROJECTS, _scope(company), list(TASK_TYPES), projects)
    else:
        rows = await pool.fetch(_TYPES, _scope(company), list(TASK_TYPES))
    return [r["type"] for r in rows]
