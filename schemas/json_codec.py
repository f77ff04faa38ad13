"""JSON for values read back from storage: fast (orjson) and exact for every value the log may already hold.

Why not orjson alone: it cannot encode integers beyond 64 bits, and it decodes them as floats (losing digits).
Such integers reach the server's readers even though requests may not carry them (`api.json_body` refuses them):
PostgreSQL's jsonb writes a float like 1e20 back as the integer 100000000000000000000, and events appended by
older versions were not checked. The log is immutable, so every reader (responses, history, the relay, replay,
subscribers) must handle them; these two functions fall back to the standard library exactly when needed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(rb"\d{19,}")
_LONG_DIGITS_TEXT = re.compile(r"\d{19,}")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`; integers of any size are written exactly."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


def loads(raw: bytes | str) -> Any:
    """The value of JSON `raw`; integers of any size are read exactly (not as floats)."""
    found = _LONG_DIGITS_TEXT.search(raw) if isinstance(raw, str) else _LONG_DIGITS.search(raw)
    return json.loads(raw) if found else orjson.loads(raw)
