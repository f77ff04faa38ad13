"""`order_by` over a whitelist of columns (queues): `name` or `-name`, unknown fields 400/14; `tail` always ends
the order (stable paging)."""

from __future__ import annotations

from typing import Any

from taskstream.schemas.errors import ApiError


def column_order(order_by: Any, columns: dict[str, str], tail: tuple[str, ...]) -> list[str]:
    """ORDER BY terms of the requested keys (non-strings skipped) followed by `tail`."""
    terms = []
    for item in order_by or []:
        if not isinstance(item, str):
            continue
        column = columns.get(item.lstrip("-+"))
        if column is None:
            raise ApiError(400, 14, None, field=item)
        terms.append(f"{column} {'DESC' if item.startswith('-') else 'ASC'}")
    return [*terms, *tail]
