"""Scroll state of `get_all` / `get_all_ex` (§6.5), kept in PostgreSQL so every API replica can continue a
scroll another replica started. A state is `{id, position}`, expires 600 s after its last use, and an unknown or
expired id silently starts a new scroll at position 0 under a new id (as the reference)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from taskstream.schemas.errors import validation_error
from taskstream.schemas.ids import new_id

EXPIRY_SECONDS = 600
MAX_SCROLL_SIZE = 10_000  # rows per scroll call, silently capped like `page_size` (compiler.MAX_SIZE)


@dataclass(frozen=True)
class ScrollWindow:
    scroll_id: str
    offset: int
    limit: int


def scroll_size(data: dict[str, Any]) -> int:
    """The required `size` of a scroll call (integer ≥ 1), else 400/12."""
    size = data.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise validation_error("Integer size parameter greater than 1 should be provided when working with scroll")
    return min(size, MAX_SCROLL_SIZE)


async def open_window(conn: asyncpg.Connection, company: str, data: dict[str, Any]) -> ScrollWindow:
    """The window this call reads. Must run inside the transaction that reads the tasks and then calls
    `advance`: the row lock (FOR UPDATE) serialises concurrent calls on one scroll, so two calls never get
    the same window."""
    size = scroll_size(data)
    requested = data.get("scroll_id")
    scroll_id = requested if isinstance(requested, str) else ""
    position = None
    if scroll_id:
        position = await conn.fetchval(
            "SELECT position FROM scroll_states WHERE id = $1 AND company = $2 AND expires > now() FOR UPDATE",
            scroll_id, company)
    if position is None:
        scroll_id, position = new_id(), 0
        await conn.execute("DELETE FROM scroll_states WHERE expires <= now()")
        await conn.execute(
            "INSERT INTO scroll_states (id, company, position, expires) "
            "VALUES ($1, $2, 0, now() + make_interval(secs => $3))", scroll_id, company, EXPIRY_SECONDS)
    if data.get("refresh_scroll"):
        return ScrollWindow(scroll_id, 0, max(position, size))
    return ScrollWindow(scroll_id, position, size)


async def advance(conn: asyncpg.Connection, window: ScrollWindow, returned: int) -> None:
    """Move the scroll past what this call returned and refresh its expiry."""
    await conn.execute(
        "UPDATE scroll_states SET position = $2, expires = now() + make_interval(secs => $3) WHERE id = $1",
        window.scroll_id, window.offset + returned, EXPIRY_SECONDS)
