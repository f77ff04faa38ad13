"""Entity ids: 32 lowercase hex characters, as `uuid4().hex` (clients treat `^[-a-f0-9]{30,}$` as an id)."""

from __future__ import annotations

import itertools
import os
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


class _Sequence:
    """A process's prefix of 64 random bits, drawn again in a forked child, and a counter after it."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count()


_SEQUENCE = _Sequence()


def call_id() -> str:
    """A unique id for a call (the envelope's `meta.id`, a command's `request_id`), in `new_id`'s format.

    Why not `new_id`: these need uniqueness, not unpredictability, and `uuid4` reads the kernel's random source
    each time (a system call: two per request were ~7% of the API process under `get_by_id`, py-spy)."""
    return f"{_SEQUENCE.prefix}{next(_SEQUENCE.counter) & 0xFFFFFFFFFFFFFFFF:016x}"
