"""Time as the reference server writes it: UTC, ISO-8601 with `+00:00`, millisecond precision in storage."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, truncated to milliseconds (what a stored value reads back as)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """`2022-01-02T03:04:05+00:00`, with 6 fractional digits only when non-zero."""
    return moment.astimezone(UTC).isoformat()
