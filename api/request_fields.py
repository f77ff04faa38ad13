"""Request fields the endpoints share: reading a task id and an optional text from the request.

The commands themselves run in `commands.handlers`.
"""

from __future__ import annotations

from typing import Any

from taskstream.api.call import Call
from taskstream.schemas.errors import ApiError


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def require_task_id(call: Call, key: str = "task") -> str:
    value = call.data.get(key)
    if not isinstance(value, str):
        raise ApiError(400, 12, f"error for field '{key}'. field is required!")
    return value
