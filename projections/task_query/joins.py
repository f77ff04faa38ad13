"""Joins of `get_all_ex` / `get_by_id_ex` (§6.7): `project.name`, `parent.name`, `user.name`, `project.*`, …

The referenced documents are read from the read models in one query per reference kind, in the caller's
company-or-public scope; a reference that cannot be found stays `{"id": …}`.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.projections.query.fields import FieldSpec, shape
from taskstream.projections.task_query.fields import expand_references
from taskstream.schemas import json_codec

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
        found = {r["id"]: json_codec.loads(r["doc"]) for r in rows}
        for task in tasks:
            target = task.get(ref)
            if isinstance(target, dict) and target.get("id") in found:
                target.update(_joined_part(found[target["id"]], fields))


async def name_queues(conn: asyncpg.Connection | asyncpg.Pool, tasks: list[dict[str, Any]], company: str) -> None:
    """`execution.queue` of the `_ex` forms is `{"id", "name"}`, as the reference answers it, whenever the queue
    is the caller's (a deleted or foreign queue stays `{"id": …}`); in place, one query for the page."""
    queues = [q for t in tasks if isinstance(q := (t.get("execution") or {}).get("queue"), dict) and q.get("id")]
    if not queues:
        return
    rows = await conn.fetch("SELECT id, name FROM queues WHERE id = ANY($1::text[]) AND company = $2",
                            sorted({q["id"] for q in queues}), company)
    names = {r["id"]: r["name"] for r in rows}
    for queue in queues:
        if queue["id"] in names:
            queue["name"] = names[queue["id"]]
