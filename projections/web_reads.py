"""Reads the web UI needs beyond the API's listings: per-project task counts by status with the last activity, and
the company's users (the tasks table's user filter). Each is scoped to the caller's company (plus public rows) and
runs under the listing timeout (`query.execution.fetch_bounded`)."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.query.execution import fetch_bounded

MAX_PROJECTS = 1000
MAX_USERS = 500

# Why two steps: the counts read the (company, project, status, last_update) index only, whatever the number of
# tasks; the project documents are read for the projects listed, at most MAX_PROJECTS.
_COUNTS = """SELECT project, status, count(*) AS n, max(last_update) AS last_update FROM tasks
             WHERE company = ANY($1::text[]) GROUP BY project, status"""
_PROJECTS = """SELECT id, name, created FROM projects WHERE company = ANY($1::text[]) ORDER BY name, id LIMIT $2"""


async def project_stats(pool: asyncpg.Pool, company: str) -> list[dict[str, Any]]:
    """The company's (and public) projects by name, each `{id, name, created, counts: {status: n}, total,
    last_update}`, then `{id: None, name: None, ...}` for tasks without a project when there are any."""
    scope = [company, ""]
    counts = await fetch_bounded(pool, _COUNTS, [scope])
    projects = await fetch_bounded(pool, _PROJECTS, [scope, MAX_PROJECTS])
    by_project: dict[str | None, dict[str, Any]] = {
        p["id"]: {"id": p["id"], "name": p["name"], "created": p["created"], "counts": {}, "total": 0,
                  "last_update": None} for p in projects}
    for row in counts:
        entry = by_project.get(row["project"])
        if entry is None:
            if row["project"] is not None:
                continue  # a project beyond MAX_PROJECTS, or another company's
            entry = by_project[None] = {"id": None, "name": None, "created": None, "counts": {}, "total": 0,
                                        "last_update": None}
        entry["counts"][row["status"]] = int(row["n"])
        entry["total"] += int(row["n"])
        latest = entry["last_update"]
        if row["last_update"] is not None and (latest is None or row["last_update"] > latest):
            entry["last_update"] = row["last_update"]
    return list(by_project.values())


async def company_users(pool: asyncpg.Pool, company: str) -> list[dict[str, str]]:
    """`{id, name}` of the company's users, by name (at most MAX_USERS)."""
    rows = await fetch_bounded(pool, "SELECT id, name FROM users WHERE company = $1 ORDER BY name, id LIMIT $2",
                               [company, MAX_USERS])
    return [{"id": r["id"], "name": r["name"]} for r in rows]
