"""Limits on what a client can make the server hold or do, read from the environment once at start-up.

| env | meaning | default |
|---|---|---|
| TASKSTREAM_MAX_BODY_BYTES | largest request body accepted (413 above it), read only after authentication | 10 MiB |
| TASKSTREAM_DEBUG | `1`: 500 answers carry the exception text and traceback (never on a shared network) | off |
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024
    debug: bool = False

    @classmethod
    def from_env(cls) -> Limits:
        return cls(max_body_bytes=_int_env("TASKSTREAM_MAX_BODY_BYTES", cls.max_body_bytes),
                   debug=os.environ.get("TASKSTREAM_DEBUG", "") in ("1", "true", "yes"))
