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
# The same pass maps what may stand before a JSON number (whitespace, "[", ",", ":", "-") to ":": a run of digits
# after anything else (".", a letter) is no integer token, so one more search finds whether any run may be one.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789[,- \n\t\r", b"000000000:::::::")
_NINETEEN_ZEROS = b"0" * 19


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`; integers of any size are written exactly."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


_FRACTION = b"."  # before a run of digits: the run is a float's fraction
_MANTISSA = frozenset(b".eE")  # after it: the run is a float's integer part
_NOT_ZERO = re.compile(rb"[^0]")
_INTEGER_START = b":" + _NINETEEN_ZEROS


def _long_integer(encoded: bytes, zeros: bytes) -> bool:
    """Whether UTF-8 JSON `encoded` may hold an integer of 19 digits or more (one orjson might read as a float);
    `zeros` is `encoded` translated by `_DIGITS_TO_ZERO`.

    Why the look at each run's neighbours: a float's digits need no care (it is a float either way), and reported
    metrics are full of them (`0.0058823529411764705` has 19 digits in a row); taking those for integers sent
    every such document to the standard library's slower parser. A run inside a string still counts (harmless).
    Runs are found with `bytes.find` (C), not a regular expression's character class tested at every position,
    which was most of the time of reading a task's reported metrics back."""
    start = zeros.find(_NINETEEN_ZEROS)
    while start != -1:  # `start` begins a run: the search began past the previous run's end, at a non-digit
        after = _NOT_ZERO.search(zeros, start + 19)
        end = len(zeros) if after is None else after.start()
        if encoded[start - 1:start] != _FRACTION and (end == len(encoded) or encoded[end] not in _MANTISSA):
            return True
        start = zeros.find(_NINETEEN_ZEROS, end + 1)
    return False


def long_integer_in(encoded: bytes) -> bool:
    """Whether UTF-8 JSON `encoded` may hold an integer literal of 19 digits or more, which may not fit 64 bits
    (orjson reads those past 64 bits as floats). A float's digits do not count; digits inside a string may."""
    zeros = encoded.translate(_DIGITS_TO_ZERO)
    if _NINETEEN_ZEROS not in zeros:  # no run of 19 digits at all: the common case
        return False
    if _INTEGER_START not in zeros and not zeros.startswith(_NINETEEN_ZEROS):
        return False  # every run is a float's fraction (or inside a string): reported metrics
    return _long_integer(encoded, zeros)


def loads(raw: bytes | str) -> Any:
    """The value of JSON `raw`; integers of any size are read exactly (not as floats)."""
    # surrogatepass: text orjson refuses (a lone surrogate) still reaches orjson and fails there, as before.
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return json.loads(raw) if long_integer_in(encoded) else orjson.loads(raw)
