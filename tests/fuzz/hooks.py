"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by tests/fuzz/test_schemathesis.py): a check that every
answer is a ClearML envelope whose `meta.result_code` is the HTTP status, with a `data` member."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def clearml_envelope(ctx: Any, response: Any, case: Any) -> None:
    """Every response of the API is `{"meta": {..., "result_code": <HTTP status>}, "data": ...}`; not those that
    carry no body by design: HEAD, and OPTIONS (a CORS preflight answers an empty 200, tests/api/test_protocol)."""
    if case.method.upper() in ("HEAD", "OPTIONS"):
        return
    try:
        body = response.json()
    except ValueError as exc:
        raise AssertionError(f"not a JSON envelope: {response.text[:200]!r}") from exc
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or "data" not in body:
        raise AssertionError(f"not a ClearML envelope: {response.text[:200]!r}")
    if meta.get("result_code") != response.status_code:
        raise AssertionError(f"meta.result_code {meta.get('result_code')} != HTTP status {response.status_code}")
