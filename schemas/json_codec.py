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

# A run of 19 ASCII digits (the shortest integer that may not fit 64 bits), found by mapping every digit to "0"
# and searching for 19 of them: both steps run in C over the bytes, ~8× faster than `re.search(r"\d{19,}")`
# (which tests a character class at every position, and was half of replay's time).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_ZEROS = b"0" * 19
# Where such runs were found: each run, to look at its neighbours (`_long_integer`).
_LONG_DIGITS = re.compile(rb"[0-9]{19,}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19,}")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`; integers of any size are written exactly."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


_FRACTION = frozenset((".", b"."))  # before a run of digits: the run is a float's fraction
_MANTISSA = frozenset((".", "e", "E", b".", b"e", b"E"))  # after it: the run is a float's integer part


def _long_integer(raw: bytes | str) -> bool:
    """Whether `raw` may hold an integer of 19 digits or more (one orjson might read as a float).

    Why the look at each run's neighbours: a float's digits need no care (it is a float either way), and reported
    metrics are full of them (`0.0058823529411764705` has 19 digits in a row); taking those for integers sent
    every such document to the standard library's slower parser. A run inside a string still counts (harmless)."""
    runs = _LONG_DIGITS_TEXT.finditer(raw) if isinstance(raw, str) else _LONG_DIGITS.finditer(raw)
    for run in runs:
        start, end = run.span()
        if raw[start - 1:start] not in _FRACTION and raw[end:end + 1] not in _MANTISSA:
            return True
    return False


def loads(raw: bytes | str) -> Any:
    """The value of JSON `raw`; integers of any size are read exactly (not as floats)."""
    # surrogatepass: text orjson refuses (a lone surrogate) still reaches orjson and fails there, as before.
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _NINETEEN_ZEROS not in encoded.translate(_DIGITS_TO_ZERO):  # no run of 19 digits at all: the common case
        return orjson.loads(raw)
    return json.loads(raw) if _long_integer(raw) else orjson.loads(raw)
