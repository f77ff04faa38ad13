"""Authentication settings, read from the environment once at start-up.

| env | meaning | default |
|---|---|---|
| TASKSTREAM_MAX_TOKEN_SECONDS | longest token lifetime `auth.login` grants (longer asks are capped) | 30 days |
| TASKSTREAM_AUTH_HASH_THREADS | threads that run scrypt (off the event loop) | 2 |
| TASKSTREAM_AUTH_KEY_FAILURES | wrong secrets for one key within the window before it is refused unhashed | 10 |
| TASKSTREAM_AUTH_ADDRESS_FAILURES | wrong key pairs from one client address within the window, likewise | 30 |
| TASKSTREAM_AUTH_FAILURE_WINDOW | the window of those counts, seconds | 60 |
"""

from __future__ import annotations

from dataclasses import dataclass

from taskstream.api.limits import env_int


@dataclass(frozen=True)
class AuthSettings:
    max_token_seconds: int = 30 * 24 * 3600
    hash_threads: int = 2
    key_failures: int = 10
    address_failures: int = 30
    failure_window: float = 60.0

    @classmethod
    def from_env(cls) -> AuthSettings:
        return cls(max_token_seconds=env_int("TASKSTREAM_MAX_TOKEN_SECONDS", cls.max_token_seconds),
                   hash_threads=env_int("TASKSTREAM_AUTH_HASH_THREADS", cls.hash_threads),
                   key_failures=env_int("TASKSTREAM_AUTH_KEY_FAILURES", cls.key_failures),
                   address_failures=env_int("TASKSTREAM_AUTH_ADDRESS_FAILURES", cls.address_failures),
                   failure_window=float(env_int("TASKSTREAM_AUTH_FAILURE_WINDOW", int(cls.failure_window))))
