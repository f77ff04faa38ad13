"""The unit of work: one command, one transaction, and the idempotency record of its answer.

Every handler runs its work through `run_command`, so a command's events, its read-model rows and its idempotency
record commit together or not at all (G3), and a retried request returns the first answer (G2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from taskstream.commands.handlers.context import CommandContext
from taskstream.commands.session import CommandSession, record_idempotent_response, stored_response
from taskstream.commands.store import StaleVersion
from taskstream.schemas.errors import ApiError

Work = Callable[[CommandSession], Awaitable[dict[str, Any]]]
Produce = Callable[[], Awaitable[dict[str, Any]]]


async def run_command(ctx: CommandContext, company: str, metadata: dict[str, Any], work: Work,
                      idempotency_key: str | None = None) -> dict[str, Any]:
    """Run `work` in one transaction (events, read models and idempotency record commit together, G3).

    With an idempotency key, a retried request returns the first response and appends nothing (G2). A deadlock
    (which the lock order rules out, but PostgreSQL is the judge) rolls everything back and answers 400/121.
    Each replayed answer, deadlock and stale version is told to `ctx.observe` (the API counts them).
    """
    async with ctx.pool.acquire() as conn:
        if idempotency_key:
            previous = await stored_response(conn, company, idempotency_key, str(metadata.get("endpoint")))
            if previous is not None:
                _observe(ctx, "replayed")
                return previous
        transaction = conn.transaction()
        await transaction.start()
        try:
            response = await work(CommandSession(conn, ctx.stores, metadata))
            if idempotency_key:
                first = await record_idempotent_response(
                    conn, company, idempotency_key, str(metadata.get("endpoint")), response
                )
                if first is not None:
                    await transaction.rollback()
                    _observe(ctx, "replayed")
                    return first
        except asyncpg.DeadlockDetectedError as exc:
            await transaction.rollback()
            _observe(ctx, "deadlock")
            raise ApiError(400, 121, "concurrent change") from exc
        except StaleVersion:
            await transaction.rollback()
            _observe(ctx, "stale_version")
            raise
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
        return response


async def run_once(ctx: CommandContext, company: str, idempotency_key: str | None, endpoint: str,
                   produce: Produce) -> dict[str, Any]:
    """An answer made of several transactions (a batch call), recorded under one idempotency key.

    A retry returns the first call's answer. The parts are not retried individually: a call interrupted half-way
    and retried re-runs its remaining parts.
    """
    if idempotency_key:
        async with ctx.pool.acquire() as conn:
            previous = await stored_response(conn, company, idempotency_key, endpoint)
        if previous is not None:
            _observe(ctx, "replayed")
            return previous
    response = await produce()
    if idempotency_key:
        async with ctx.pool.acquire() as conn:
            first = await record_idempotent_response(conn, company, idempotency_key, endpoint, response)
        if first is not None:
            _observe(ctx, "replayed")
        return first or response
    return response


def _observe(ctx: CommandContext, outcome: str) -> None:
    if ctx.observe is not None:
        ctx.observe(outcome)
