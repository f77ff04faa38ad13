"""The non-list filter kinds of `get_all` (§6.3 a, c, d, e, f) as SQL conditions with bound parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser

from taskstream.projections.query.sql import SqlBuilder, add_regex, check_regex
from taskstream.projections.task_query.paths import COLUMNS, json_value, jsonpath_of, unescape_path
from taskstream.schemas.errors import validation_error

PATTERN_FIELDS = ("name", "comment")
RANGE_COLUMNS = {"started": "timestamp", "active_duration": "integer", "last_iteration": "integer"}
DATETIME_FIELDS = ("status_changed", "last_update")
MULTI_FIELD_KEYS = {"_any_": " OR ", "_or_": " OR ", "_all_": " AND ", "_and_": " AND "}
_OPERATORS = (">=", "<=", ">", "<")
_SQL_OPERATORS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "": "="}
# ts_rank weights for D, C, B, A: script 1, models 2, name/id/comment 10 (the reference index's weights).
TEXT_WEIGHTS = "'{0.1, 0.1, 0.2, 1.0}'"


def add_patterns(b: SqlBuilder, data: dict[str, Any]) -> None:
    """`name` / `comment`: a case-sensitive regex matched anywhere; empty means no filter (§6.3a)."""
    for name in PATTERN_FIELDS:
        add_regex(b, COLUMNS[name], data.get(name))


def _range_bound(name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            raise validation_error(f"Invalid value for range field {name}")
        return parsed
    if kind == "integer" and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = int(float(value))
        except (ValueError, OverflowError):
            number = None
        if number is not None and -(2**63) <= number < 2**63:  # the column is bigint
            return number
    if kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    raise validation_error(f"Invalid value for range field {name}")


def _range_condition(b: SqlBuilder, expr: str, cast: str, bounds: tuple[Any, Any]) -> str:
    low, high = bounds
    parts = []
    if low is not None:
        parts.append(f"{expr} >= {b.param(low)}::{cast}")
    if high is not None:
        parts.append(f"{expr} <= {b.param(high)}::{cast}")
    condition = " AND ".join(parts)
    return f"({expr} IS NULL OR {condition})" if low is None else f"({condition})"


def _metric_condition(b: SqlBuilder, key: str, bounds: tuple[Any, Any]) -> str:
    """`last_metrics.*` ranges: numbers compare numerically, string bounds compare with string values."""
    value = json_value(b, unescape_path(key))
    numeric = all(v is None or isinstance(v, float) for v in bounds)
    expected = "number" if numeric else "string"
    expr = f"(CASE WHEN jsonb_typeof({value}) = '{expected}' THEN {value} #>> '{{}}' END)"
    expr = f"{expr}::numeric" if numeric else expr
    return _range_condition(b, expr, "numeric" if numeric else "text", bounds)


def add_ranges(b: SqlBuilder, data: dict[str, Any]) -> None:
    """`[min, max]`, inclusive, either side null (a null min also matches a missing value) (§6.3c)."""
    for key, value in data.items():
        kind = RANGE_COLUMNS.get(key) or ("number" if key.startswith("last_metrics.") else None)
        if kind is None or value is None:
            continue
        if not isinstance(value, list) or len(value) != 2:
            raise validation_error(f"Min and max values should be specified for range field {key}")
        if value[0] is None and value[1] is None:
            raise validation_error(f"At least one of min or max values should be provided for field {key}")
        bounds = (_range_bound(key, kind, value[0]), _range_bound(key, kind, value[1]))
        if kind == "number":
            b.where.append(_metric_condition(b, key, bounds))
        else:
            cast = "timestamptz" if kind == "timestamp" else "bigint"
            b.where.append(_range_condition(b, COLUMNS[key], cast, bounds))


def parse_time(text: str) -> datetime | None:
    """Lenient date parsing (dateutil); naive means UTC; None when unparseable (§6.3d). Truncated to the
    millisecond, as the reference's BSON dates are: stored times have that precision, so a bound taken within
    the millisecond of a change (`>= 12:00:00.269400` over a change stored as `.269`) still covers it."""
    try:
        parsed: datetime = date_parser.parse(text)
    except (ValueError, OverflowError):
        return None
    parsed = parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _split_operator(item: str) -> tuple[str, str]:
    for operator in _OPERATORS:
        if item.startswith(operator):
            return operator, item[len(operator):].strip()
    return "", item.strip()


def _datetime_constraints(value: Any) -> tuple[dict[str, datetime], bool]:
    """(the constraints by operator, whether a missing value also matches: the `[null, to]` range form, whose null
    minimum matches a missing value as every range field's does)."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    unprefixed = all(v is None or (isinstance(v, str) and not _split_operator(v)[0]) for v in items)
    constraints: dict[str, datetime] = {}
    if len(items) == 2 and unprefixed:
        for operator, item in zip((">=", "<="), items, strict=True):
            parsed = parse_time(item) if isinstance(item, str) else None
            if parsed is not None:
                constraints[operator] = parsed
        return constraints, items[0] is None and items[1] is not None
    for item in items:
        if isinstance(item, str):
            operator, text = _split_operator(item)
            parsed = parse_time(text)
            if parsed is not None:
                constraints[operator] = parsed
    return constraints, False


def add_datetimes(b: SqlBuilder, data: dict[str, Any]) -> None:
    """`status_changed` / `last_update`: `>`/`>=`/`<`/`<=`/equality constraints or a `[from, to]` range;
    unparseable constraints are ignored (§6.3d)."""
    for key in DATETIME_FIELDS:
        constraints, or_missing = _datetime_constraints(data.get(key))
        conditions = [f"{COLUMNS[key]} {_SQL_OPERATORS[operator]} {b.param(moment)}::timestamptz"
                      for operator, moment in constraints.items()]
        if conditions and or_missing:
            b.where.append(f"({COLUMNS[key]} IS NULL OR {' AND '.join(conditions)})")
        else:
            b.where.extend(conditions)


def _field_matches(b: SqlBuilder, path: str, pattern_param: str) -> str:
    """Any string value at the dotted path matches the regex, case-insensitively (arrays looked through)."""
    jsonpath = b.param(jsonpath_of(unescape_path(path)))
    return (f"EXISTS (SELECT 1 FROM jsonb_path_query(doc, {jsonpath}::jsonpath) AS v "
            f"WHERE jsonb_typeof(v) = 'string' AND (v #>> '{{}}') ~* {pattern_param})")


def add_multi_field(b: SqlBuilder, data: dict[str, Any]) -> None:
    """`_any_`/`_or_` (any field matches) and `_all_`/`_and_` (every field matches) (§6.3e)."""
    for key, joiner in MULTI_FIELD_KEYS.items():
        if key not in data or data[key] is None:
            continue
        value = data[key]
        fields = value.get("fields") if isinstance(value, dict) else None
        pattern = value.get("pattern") if isinstance(value, dict) else None
        if not isinstance(fields, list) or not isinstance(pattern, str) \
                or not all(isinstance(f, str) for f in fields):
            raise validation_error("incorrect field format", field=key)
        if not fields:
            continue
        check_regex(pattern)
        pattern_param = b.param(pattern)
        b.where.append("(" + joiner.join(_field_matches(b, f, pattern_param) for f in fields) + ")")


_TERMS = re.compile(r'"([^"]*)"|(\S+)')


def _terms(text: str) -> tuple[list[str], list[str], list[str]]:
    words, phrases, excluded = [], [], []
    for phrase, word in _TERMS.findall(text):
        if phrase.strip():
            phrases.append(phrase)
        elif word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        elif word:
            words.append(word)
    return words, phrases, excluded


def text_condition(b: SqlBuilder, text: str) -> str:
    """The match condition of `search_text` (§6.3f), MongoDB `$text` style: words are OR-ed, quoted phrases
    must all appear (words then only rank), `-word` excludes. English stemming and stop words."""
    words, phrases, excluded = _terms(text)
    if phrases:
        positive = " && ".join(f"phraseto_tsquery('english', {b.param(p)}::text)" for p in phrases)
    else:
        positive = " || ".join(f"plainto_tsquery('english', {b.param(w)}::text)" for w in words)
    if not positive:
        return "FALSE"
    negative = "".join(f" && !!plainto_tsquery('english', {b.param(w)}::text)" for w in excluded)
    return f"search @@ (({positive}){negative})"


def text_rank(b: SqlBuilder, text: str) -> str:
    """The relevance of a task to `search_text`, for `@text_score` (weights as the reference's index)."""
    words, phrases, _ = _terms(text)
    queries = [f"plainto_tsquery('english', {b.param(w)}::text)" for w in words]
    queries += [f"phraseto_tsquery('english', {b.param(p)}::text)" for p in phrases]
    combined = " || ".join(queries) or "''::tsquery"
    return f"ts_rank({TEXT_WEIGHTS}, search, ({combined}))"


def add_search_text(b: SqlBuilder, data: dict[str, Any]) -> str | None:
    """Adds the `search_text` condition; returns the search text when searching (for `@text_score`)."""
    text = data.get("search_text")
    if not isinstance(text, str) or not text.strip():
        return None
    b.where.append(text_condition(b, text))
    return text
