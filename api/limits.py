"""Limits on what a client can make the server hold or do, read from the environment once at start-up.

| env | meaning | default |
|---|---|---|
| TASKSTREAM_MAX_BODY_BYTES | largest request body accepted (413 above it), read only after authentication | 10 MiB |
| TASKSTREAM_MAX_BATCH_IDS | most ids in one `ids` / `tasks` list (each is locked in one transaction) | 1000 |
| TASKSTREAM_MAX_BATCH_LINES | most lines in one JSON-lines call (`tasks.update_batch`, `events.add_batch`) | 10000 |
| TASKSTREAM_DEBUG | `1`: 500 answers carry the exception text and traceback (never on a shared network) | off |
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def env_int(name: str, default: int) -> int:
    """A positive integer setting from the environment; `default` when unset, empty, not a number or 0."""
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch_ids: int = 1000
    max_batch_lines: int = 10_000
    debug: bool = False

    @classmethod
    def from_env(cls) -> Limits:
        return cls(max_body_bytes=env_int("TASKSTREAM_MAX_BODY_BYTES", cls.max_body_bytes),
                   max_batch_ids=env_int("TASKSTREAM_MAX_BATCH_IDS", cls.max_batch_ids),
                   max_batch_lines=env_int("TASKSTREAM_MAX_BATCH_LINES", cls.max_batch_lines),
                   debug=os.environ.get("TASKSTREAM_DEBUG", "") in ("1", "true", "yes"))
