"""Reads of the project read model: `projects.get_all` / `get_by_id` in the caller's company plus public projects
(company ''), ordered by name, then id."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.query.execution import fetch_bounded
from taskstream.projections.query.fields import dotted_spec, shape
from taskstream.projections.query.paging import page_window
from taskstream.projections.query.sql import SqlBuilder, add_ids, add_regex, select_page
from taskstream.schemas import json_codec


def compile_get_all(data: dict[str, Any], company: str) -> tuple[str, list[Any]]:
    """SQL and parameters for `projects.get_all` (filters: id, name and basename regexes)."""
    b = SqlBuilder()
    b.where.append(f"company = ANY({b.param([company, ''])}::text[])")
    add_ids(b, "id", data.get("id"))
    add_regex(b, "name", data.get("name"))
    add_regex(b, "doc->>'basename'", data.get("basename"))
    return select_page(b, "doc", "projects", ["name", "id"], page_window(data)), b.args


async def list_projects(pool: asyncpg.Pool, company: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """`projects.get_all`, projected by `only_fields`. Raises ApiError (400) for an invalid regex, bad paging or a
    field name that is not a string (400/14)."""
    sql, args = compile_get_all(data, company)
    only = data.get("only_fields")
    spec = dotted_spec(only if isinstance(only, list) else None)  # checked before the query runs
    return [shape(json_codec.loads(r["doc"]), spec) for r in await fetch_bounded(pool, sql, args)]


async def project_by_id(pool: asyncpg.Pool, company: str, project_id: str) -> dict[str, Any] | None:
    """The project, if it is the company's or public; else None."""
    raw = await pool.fetchval("SELECT doc FROM projects WHERE id = $1 AND company = ANY($2::text[])",
                              project_id, [company, ""])
    return None if raw is None else dict(json_codec.loads(raw))
