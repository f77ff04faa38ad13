"""Pure decisions over several tasks at once, all or nothing: make_public/make_private (§2.5), move (§5.42) and
update_batch (§5.12). They return the events per task id, so a rejection of any id writes nothing for all of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taskstream.commands.decide_task import decide_update
from taskstream.commands.messages import (
    UpdateTask,
)
from taskstream.schemas.clock import iso
from taskstream.schemas.errors import ApiError, invalid_task_id
from taskstream.schemas.events import (
    Event,
    TaskMadePrivate,
    TaskMadePublic,
    TaskMoved,
)

Docs = dict[str, dict[str, Any] | None]


def decide_make_public(docs: Docs, company: str) -> dict[str, list[Event]]:
    """Every id a task of the caller's company (not public yet), else 400/101 naming the others."""
    missing = [i for i, doc in docs.items() if doc is None or doc.get("company") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    return {i: [TaskMadePublic(set={"company": "", "company_origin": company})] for i in docs}


def decide_make_private(docs: Docs, company: str) -> dict[str, list[Event]]:
    """Every id public and published by the caller's company, else 400/101 naming the others."""
    missing = [i for i, doc in docs.items()
               if doc is None or doc.get("company") != "" or doc.get("company_origin") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    return {i: [TaskMadePrivate(set={"company": company}, unset=["company_origin"])] for i in docs}


def decide_move(docs: Docs, project: str, company: str, now: datetime) -> dict[str, list[Event]]:
    """Tasks of the caller's company get the project; unknown, foreign and public ids are silently skipped."""
    stamp = iso(now)
    return {i: [TaskMoved(project=project, set={"project": project, "last_change": stamp})]
            for i, doc in docs.items() if doc is not None and doc.get("company") == company}


def decide_update_batch(docs: Docs, items: dict[str, dict[str, Any]], company: str,
                        now: datetime) -> dict[str, list[Event]]:
    """Every task writable (any public → 403/21 first, then missing → 400/101); each item as in `update`."""
    public = [i for i, doc in docs.items() if doc is not None and doc.get("company") == ""]
    if public:
        raise ApiError(403, 21, f"cannot modify public task(s), ids={tuple(public)!r}")
    missing = [i for i, doc in docs.items() if doc is None or doc.get("company") != company]
    if missing:
        raise invalid_task_id(ids=missing)
    decided = {i: decide_update(docs[i], UpdateTask(i, item), company, now, batch=True) for i, item in items.items()}
    return {i: events for i, events in decided.items() if events}
