"""Joins of `get_all_ex` / `get_by_id_ex` (§6.7): `project.name`, `parent.name`, `user.name`, `project.*`, …

The referenced documents are read from the read models in one query per reference kind, in the caller's
company-or-public scope; a reference that cannot be found stays `{"id": …}`.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from taskstream.projections.query.fields import FieldSpec, shape
from taskstream.projections.task_query.fields import expand_references

_LOOKUPS = {
    "project": "SELECT id, doc FROM projects WHERE id = ANY($1::text[]) AND company = ANY($2::text[])",
    "parent": "SELECT id, doc FROM tasks WHERE id = ANY($1::text[]) AND company = ANY($2::text[])",
    "user": "SELECT id, jsonb_build_object('id', id, 'name', name, 'company', company) AS doc FROM users "
            "WHERE id = ANY($1::text[]) AND company = ANY($2::text[])",
}


def _joined_part(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The requested fields of a referenced document, its own references expanded as well."""
    spec = FieldSpec(everything=True) if "*" in fields else FieldSpec(includes=[f.split(".") for f in fields])
    return expand_references(shape(doc, spec))


async def apply_joins(conn: asyncpg.Connection | asyncpg.Pool, tasks: list[dict[str, Any]],
                      joins: dict[str, list[str]], company: str) -> None:
    """Merge the joined fields into each task's (already expanded) reference objects, in place."""
    for ref, fields in joins.items():
        ids = sorted({t[ref]["id"] for t in tasks if isinstance(t.get(ref), dict) and t[ref].get("id")})
        if not ids:
            continue
        rows = await conn.fetch(_LOOKUPS[ref], ids, [company, ""])
        found = {r["id"]: json.loads(r["doc"]) for r in rows}
        for task in tasks:
            target = task.get(ref)
            if isinstance(target, dict) and target.get("id") in found:
                target.update(_joined_part(found[target["id"]], fields))
