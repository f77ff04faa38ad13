"""Conditions with bound parameters, and the filters every listing shares: ids and regular expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from taskstream.schemas.errors import ApiError, validation_error


@dataclass
class SqlBuilder:
    """Collects conditions and their bound parameters (`$n` placeholders in order of first use)."""

    args: list[Any] = field(default_factory=list)
    where: list[str] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"


MAX_PATTERN = 1000


def check_regex(pattern: str) -> None:
    """400/21 for a pattern Python's `re` rejects. The one check every client regex passes before it reaches
    PostgreSQL (the task executor also maps PostgreSQL's own rejections, `task_query.execution`)."""
    if len(pattern) > MAX_PATTERN:
        raise ApiError(400, 21, None, err=f"pattern longer than {MAX_PATTERN} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ApiError(400, 21, None, err=str(exc)) from exc
    except RecursionError as exc:  # e.g. thousands of nested groups
        raise ApiError(400, 21, None, err="pattern nested too deeply") from exc


def add_regex(b: SqlBuilder, expr: str, pattern: Any) -> None:
    """`expr` matches the case-sensitive regex anywhere; an empty or non-string pattern means no filter."""
    if isinstance(pattern, str) and pattern:
        check_regex(pattern)
        b.where.append(f"{expr} ~ {b.param(pattern)}")


def add_ids(b: SqlBuilder, column: str, ids: Any) -> None:
    """`column` is one of the ids (a single id or a list); none given means no filter."""
    if ids:
        listed = ids if isinstance(ids, list) else [ids]
        if not all(isinstance(i, str) for i in listed):
            raise validation_error("ids must be strings", id=ids)
        b.where.append(f"{column} = ANY({b.param(listed)}::text[])")


def select_page(b: SqlBuilder, selected: str, table: str, order: list[str], window: tuple[int, int]) -> str:
    """`SELECT selected FROM table WHERE <conditions> ORDER BY order LIMIT/OFFSET window` (offset, limit)."""
    offset, limit = window
    where = " AND ".join(b.where) or "TRUE"
    return (f"SELECT {selected} FROM {table} WHERE {where} ORDER BY {', '.join(order)} "
            f"LIMIT {b.param(limit)} OFFSET {b.param(offset)}")
