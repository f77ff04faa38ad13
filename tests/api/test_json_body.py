"""Request JSON that could poison the log is refused at parse time (pure logic, no I/O)."""

from __future__ import annotations

import pytest

from taskstream.api import json_body
from taskstream.schemas.errors import ApiError


def refused(body: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        json_body.loads(body)
    return caught.value


@pytest.mark.parametrize("literal", [b"100000000000000000000", b"9223372036854775808", b"18446744073709551615",
                                     b"-9223372036854775809", b"1" * 400])
def test_an_integer_outside_64_bits_is_refused_with_the_reason(literal: bytes) -> None:
    error = refused(b'{"runtime": {"x": ' + literal + b"}}")
    assert (error.code, error.subcode) == (400, 12)
    assert "64-bit" in error.msg


@pytest.mark.parametrize("literal", [b"9223372036854775807", b"-9223372036854775808", b"1e20", b"1.5e300"])
def test_numbers_in_range_are_kept_exactly(literal: bytes) -> None:
    value = json_body.loads(b'{"x": ' + literal + b"}")["x"]
    assert value == (int(literal) if literal.isdigit() or literal[1:].isdigit() else float(literal))


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"])
def test_nan_infinity_and_overflowing_numbers_are_refused(literal: bytes) -> None:
    error = refused(b'{"runtime": {"x": [' + literal + b"]}}")
    assert (error.code, error.subcode) == (400, 12)


@pytest.mark.parametrize("text", [b'"a\\u0000b"', b'"\\udaac"', b'"x\\udc00y"'])
def test_nul_and_lone_surrogates_are_refused_in_values(text: bytes) -> None:
    error = refused(b'{"name": ' + text + b"}")
    assert (error.code, error.subcode) == (400, 12)
    assert "NUL" in error.msg


def test_nul_is_refused_in_keys_too() -> None:
    assert refused(b'{"a\\u0000": 1}').subcode == 12


def test_an_escaped_backslash_before_u0000_is_ordinary_text() -> None:
    assert json_body.loads(b'{"name": "\\\\u0000"}') == {"name": "\\u0000"}


def test_a_valid_surrogate_pair_is_kept() -> None:
    assert json_body.loads(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


@pytest.mark.parametrize("depth", [json_body.MAX_DEPTH + 1, 300, 100_000])
def test_nesting_deeper_than_the_limit_is_refused(depth: int) -> None:
    error = refused(b"[" * depth + b"]" * depth)
    assert (error.code, error.subcode) == (400, 12)
    assert "nested" in error.msg


def test_nesting_at_the_limit_is_accepted() -> None:
    depth = json_body.MAX_DEPTH
    assert json_body.loads(b"[" * depth + b"]" * depth) is not None


@pytest.mark.parametrize("body", [b"{", b'{"a": }', b"\xff\xfe"])
def test_malformed_json_keeps_the_reference_answer(body: bytes) -> None:
    error = refused(body)
    assert (error.code, error.subcode, error.msg) == (400, 0, json_body.BAD_JSON)
