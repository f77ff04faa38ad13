"""Entity ids: 32 lowercase hex characters, as `uuid4().hex` (clients treat `^[-a-f0-9]{30,}$` as an id)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
