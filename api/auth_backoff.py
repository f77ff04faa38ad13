"""Backing off repeated authentication failures, so guessing secrets costs the guesser, not the server.

A `FailureBackoff` counts failures per name (an access key, a client address) in a sliding window: once `limit`
failures fall within `window` seconds, `blocked(name)` is true until the oldest of them leaves the window. A
blocked attempt is answered 401 at once, with no hash and no waiting (nothing is held while refusing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class FailureBackoff:
    def __init__(self, limit: int, window: float, timer: Callable[[], float], max_names: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self._timer = timer
        self._max_names = max_names
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, name: str | None) -> bool:
        failures = self._failures.get(name) if name is not None else None
        return failures is not None and len(failures) >= self.limit and self._timer() - failures[0] < self.window

    def record(self, name: str | None) -> None:
        """One more failure of `name`; only the last `limit` are kept, for at most `max_names` names."""
        if name is None:
            return
        failures = self._failures.pop(name, None) or deque(maxlen=self.limit)
        failures.append(self._timer())
        self._failures[name] = failures  # re-inserted last: the dict's order is the eviction order
        while len(self._failures) > self._max_names:
            del self._failures[next(iter(self._failures))]
