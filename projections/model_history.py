"""`models.get_history`: a model's events read from its stream in the log, folded to say which fields each one
wrote. A model's stream is short (a handful of events), so it is read per request rather than kept in an audit
table; nothing else is needed to answer it, and it cannot lag behind the writers."""

from __future__ import annotations

from typing import Any

import asyncpg

from taskstream.commands.evolve import evolve
from taskstream.commands.store import read_stream
from taskstream.schemas.clock import iso
from taskstream.schemas.model_events import ModelChanged, ModelCreated


def _entry(record: Any, event: Any, doc: dict[str, Any] | None) -> dict[str, Any]:
    meta = record.metadata
    written = event.set if isinstance(event, ModelChanged) else event.model if isinstance(event, ModelCreated) else {}
    return {"version": record.version, "time": iso(record.recorded), "event": record.type,
            "event_id": str(record.event_id), "company": (doc or {}).get("company", meta.get("company")),
            "user": meta.get("user"), "endpoint": meta.get("endpoint"),
            "force": bool(getattr(event, "force", False) or meta.get("forced", False)), "fields": written}


async def model_history(pool: asyncpg.Pool, model_id: str, companies: list[str]) -> list[dict[str, Any]] | None:
    """The model's events in version order, or None unless it is a model stream whose (last) company is one of
    `companies`. A deleted model's history stays readable by its company."""
    async with pool.acquire() as conn:
        records = await read_stream(conn, model_id)
    if not records or records[0].type != ModelCreated.type_name():
        return None
    entries, doc, company = [], None, None
    for record in records:
        event = record.event()
        doc = evolve(doc, event)
        company = doc.get("company") if doc is not None else company
        entries.append(_entry(record, event, doc))
    return entries if company in companies else None
