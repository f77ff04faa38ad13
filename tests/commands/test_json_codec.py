"""Stored JSON is read and written exactly, also integers beyond 64 bits (pure logic, no I/O)."""

from __future__ import annotations

import json

import pytest

from taskstream.schemas import json_codec


@pytest.mark.parametrize("raw", ['{"x": 123456789012345678901}', b'{"x": -123456789012345678901}',
                                 '{"x": [1, 2.5, "12345678901234567890"]}', '{"x": 1e300}'])
def test_loads_and_dumps_round_trip_exactly(raw: str | bytes) -> None:
    value = json_codec.loads(raw)
    assert json_codec.loads(json_codec.dumps(value)) == value
    if "123456789012345678901" in str(raw):
        assert abs(value["x"]) == 123456789012345678901 and isinstance(value["x"], int)


def test_dumps_is_compact_utf8() -> None:
    assert json_codec.dumps({"a": "é", "b": 2**70}) == '{"a":"é","b":1180591620717411303424}'.encode()


@pytest.mark.parametrize("raw", ['{"v": 0.0058823529411764705}', b'{"v": [1.5, 12345678901234567890123.0]}',
                                 '{"v": 1234567890123456789012e3, "w": -0.00000000000000000001}'])
def test_long_floats_are_read_as_floats(raw: str | bytes) -> None:
    assert repr(json_codec.loads(raw)) == repr(json.loads(raw))  # repr: 1e22 == 10**22, but not as text


@pytest.mark.parametrize("raw", ['12345678901234567890123', '[0.5, -12345678901234567890123]',
                                 b'{"a": 1.25, "b": 98765432109876543210987}'])
def test_long_integers_beside_floats_stay_exact(raw: str | bytes) -> None:
    value = json_codec.loads(raw)
    assert repr(value) == repr(json.loads(raw))
    assert repr(json.loads(json_codec.dumps(value))) == repr(json.loads(raw))


@pytest.mark.parametrize("number", [9223372036854775808, -9223372036854775809, 18446744073709551616, 2**70])
def test_integers_of_nineteen_digits_and_more_stay_integers(number: int) -> None:
    for raw in (f'{{"x": [{number}]}}', f'{{"x": [{number}]}}'.encode()):
        assert json_codec.loads(raw) == {"x": [number]} and isinstance(json_codec.loads(raw)["x"][0], int)


@pytest.mark.parametrize("raw", ['{\n  "x":\n123456789012345678901234}', '[\t-12345678901234567890123]',
                                 '{"a": 0.12345678901234567890123, "b": 12345678901234567890123}',
                                 '{"s": "v1.12345678901234567890123", "n":\r98765432109876543210}'])
def test_long_integers_after_any_json_separator_stay_exact(raw: str) -> None:
    value = json_codec.loads(raw)
    assert repr(value) == repr(json.loads(raw))
    assert [v for v in (value.values() if isinstance(value, dict) else value) if isinstance(v, int)]


def test_any_mix_of_long_numbers_reads_as_the_standard_library_reads_it() -> None:
    import random

    rng = random.Random(13)
    digits = "0123456789"

    def number() -> str:
        whole = rng.choice("123456789") + "".join(rng.choice(digits) for _ in range(rng.randrange(0, 26)))
        fraction = "." + "".join(rng.choice(digits) for _ in range(rng.randrange(1, 26))) if rng.random() < .5 else ""
        exponent = f"e{rng.randrange(-5, 5)}" if rng.random() < .2 else ""
        return rng.choice(["", "-"]) + whole + fraction + exponent

    for _ in range(2000):
        items = [number() if rng.random() < .8 else f'"k{number()}"' for _ in range(rng.randrange(1, 6))]
        raw = "[" + rng.choice([",", ", ", ",\n "]).join(items) + "]"
        expected = repr(json.loads(raw))  # repr, not ==: an integer read as an exact float would compare equal
        assert repr(json_codec.loads(raw)) == expected, raw
        assert repr(json_codec.loads(raw.encode())) == expected, raw
