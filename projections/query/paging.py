"""Paging of every listing (§6.5, the reference's `validate_paging`): `page` ≥ 0 and `page_size` ≥ 1, else 400/12;
`page_size` is capped at 500, and a missing one means 500."""

from __future__ import annotations

from typing import Any

from taskstream.schemas.errors import validation_error

MAX_PAGE_SIZE = 500
# The offset is a bigint in SQL; no listing has this many rows, so a page past it is a client's mistake.
MAX_OFFSET = 2**53


def page_window(data: dict[str, Any]) -> tuple[int, int]:
    """(offset, limit) of the requested page."""
    page = data.get("page")
    size = data.get("page_size")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 0):
        raise validation_error("page must be >=0", field="page")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        raise validation_error("page_size must be >0", field="page_size")
    limit = min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = int(page or 0) * limit
    if offset > MAX_OFFSET:
        raise validation_error(f"page * page_size must be <= {MAX_OFFSET}", field="page")
    return offset, int(limit)
