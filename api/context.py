"""Everything a request needs, created once at start-up: the pool, the contract, auth, the inline projectors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from taskstream.api.auth import Authenticator
from taskstream.commands.session import CommandSession, StateStore, record_idempotent_response, stored_response
from taskstream.projections.project_read_model import ProjectReadModel
from taskstream.projections.queue_read_model import QueueReadModel
from taskstream.projections.task_read_model import TaskReadModel
from taskstream.schemas.contract import Contract
from taskstream.schemas.errors import ApiError


@dataclass
class AppContext:
    pool: asyncpg.Pool
    contract: Contract
    auth: Authenticator
    stores: dict[str, StateStore] = field(
        default_factory=lambda: {"task": TaskReadModel(), "project": ProjectReadModel(), "queue": QueueReadModel()}
    )


Work = Callable[[CommandSession], Awaitable[dict[str, Any]]]


async def run_command(ctx: AppContext, company: str, metadata: dict[str, Any], work: Work,
                      idempotency_key: str | None = None) -> dict[str, Any]:
    """Run `work` in one transaction (events, read models and idempotency record commit together, G3).

    With an idempotency key, a retried request returns the first response and appends nothing (G2).
    """
    async with ctx.pool.acquire() as conn:
        if idempotency_key:
            previous = await stored_response(conn, company, idempotency_key)
            if previous is not None:
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
                    return first
        except asyncpg.DeadlockDetectedError as exc:
            await transaction.rollback()
            raise ApiError(400, 121, "concurrent change") from exc
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()
        return response
