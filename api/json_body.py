"""Request JSON the server can store, answer and publish: every value a client sends is checked at parse time.

Why at parse time: an accepted value becomes an event, and the log is immutable. A value that PostgreSQL,
orjson or Kafka's encoder cannot handle would break every later reader of that event (responses, history,
the relay, replay), for every tenant who can see it. So a body is refused (400/12, with the reason) when it has
* an integer outside the signed 64-bit range (JSON allows any size; orjson and PostgreSQL's numbers do not),
* `NaN`, `Infinity` or a number that overflows a double (not JSON, though Python's parser accepts them),
* a NUL character or a lone UTF-16 surrogate in a string or a key (PostgreSQL's text cannot hold them),
* containers nested deeper than `MAX_DEPTH` (recursive code downstream would hit Python's recursion limit).

The common case costs one orjson parse, two byte scans and a walk over the containers (not the scalars): the
slow, exact checks run only when orjson refuses the body or a scan finds a sign of trouble.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from taskstream.schemas import json_codec
from taskstream.schemas.errors import ApiError, validation_error

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BAD_JSON = "The browser (or proxy) sent a request that this server could not understand."

_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    """A value the strict fallback parser refuses, with the reason for the client."""


def _checked_int(text: str) -> int:
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _Refused(f"integer {text[:30]}{'...' if len(text) > 30 else ''} is out of the 64-bit range")
    return value


def _checked_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"number {text[:30]} is out of the double range")
    return value


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not a valid JSON number")


def _strict(body: bytes | str) -> Any:
    """Python's parser with the checks as hooks: exact, slower; raises ApiError for any refused body."""
    try:
        return json.loads(body, parse_int=_checked_int, parse_float=_checked_float, parse_constant=_no_constants)
    except _Refused as exc:
        raise validation_error(f"invalid JSON value: {exc}") from exc
    except RecursionError as exc:
        raise validation_error(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:  # also UnicodeDecodeError
        raise ApiError(400, 0, BAD_JSON) from exc


def _check_strings(value: Any) -> None:
    """Refuse NUL and lone surrogates in any string or key (exact walk; run when a scan saw a sign of them)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node or _SURROGATE.search(node):
                raise validation_error("invalid JSON string: NUL characters and lone surrogates are not allowed")
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def check_depth(value: Any) -> None:
    """Refuse containers nested deeper than MAX_DEPTH; visits containers only."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise validation_error(f"JSON nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def loads(body: bytes) -> Any:
    """The JSON value of `body`, with every check of the module comment; ApiError 400 otherwise."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _strict(body)  # tells why orjson refused it: a number, a constant, or plain bad JSON
        _check_strings(value)  # orjson refuses lone surrogates that Python's parser accepts
    else:
        if json_codec.long_integer_in(body):  # may exceed int64 (orjson reads those past 2**64 as floats)
            _strict(body)
        if b"\\u0000" in body:
            _check_strings(value)
    if isinstance(value, dict | list):
        check_depth(value)
    return value


def check_scalar(value: Any) -> Any:
    """The checks for one value that did not come through `loads` (a query-string parameter)."""
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise validation_error("invalid value: integer is out of the 64-bit range")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise validation_error("invalid value: number is out of the double range")
    if isinstance(value, str):
        _check_strings(value)
    return value
