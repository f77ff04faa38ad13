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

# Integers of 19 digits or more need the standard library. A digit run is such a number when it stands where a JSON
# number can (first, or after `:`, `[` or `,`, spaces and a minus sign between); digit runs inside strings (ids like
# "bench000…0c") mostly do not, so they do not send every value holding them to the slow path. A string that looks
# like one only costs the standard library's speed, never a wrong value.
_DIGIT_RUN = re.compile(r"[0-9]{19,}")
_DIGIT_RUN_BYTES = re.compile(rb"[0-9]{19,}")
_BETWEEN, _BEFORE = frozenset(" \t\r\n-"), frozenset(":[,")
_BETWEEN_BYTES, _BEFORE_BYTES = frozenset(b" \t\r\n-"), frozenset(b":[,")


def _long_integer(raw: bytes | str) -> bool:
    """Whether JSON `raw` may hold an integer of 19 digits or more (false only when it holds none)."""
    text = isinstance(raw, str)
    between, before = (_BETWEEN, _BEFORE) if text else (_BETWEEN_BYTES, _BEFORE_BYTES)
    runs = _DIGIT_RUN.finditer(raw) if isinstance(raw, str) else _DIGIT_RUN_BYTES.finditer(raw)
    for run in runs:
        index = run.start() - 1
        while index >= 0 and raw[index] in between:
            index -= 1
        if index < 0 or raw[index] in before:
            return True
    return False


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
    return json.loads(raw) if _long_integer(raw) else orjson.loads(raw)
