"""Batch operations (§7): ids handled one after another, in request order, each in its own transaction.

An `ApiError` for one id becomes an entry of `failed` (with `codes`, `msg` and the error's `data`); earlier
successes stay. Any other exception aborts the whole call (500), as on the reference server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from taskstream.api.call import Call
from taskstream.commands.handlers.unit_of_work import run_once
from taskstream.schemas.errors import ApiError

ItemHandler = Callable[[str], Awaitable[dict[str, Any]]]


def failure(item_id: str, error: ApiError) -> dict[str, Any]:
    return {"id": item_id, "error": {"codes": [error.code, error.subcode], "msg": error.msg, "data": error.data}}


async def run_batch(call: Call, handle_one: ItemHandler) -> dict[str, Any]:
    """`{"succeeded": [{id, ...}], "failed": [{id, error}]}` over `call.data["ids"]`.

    An idempotency key covers the whole call (`run_once`): a retry returns the first call's answer, and the items
    run without it (their callers are built from `call` after the key is taken off it).
    """
    key, call.idempotency_key = call.idempotency_key, None

    async def produce() -> dict[str, Any]:
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for item_id in call.data["ids"]:
            try:
                succeeded.append({"id": item_id, **await handle_one(item_id)})
            except ApiError as error:
                failed.append(failure(item_id, error))
        return {"succeeded": succeeded, "failed": failed}

    return await run_once(call.ctx.commands, call.actor.company, key, call.endpoint, produce)
