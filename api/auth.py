"""Authentication and identity (§2): Basic key pairs on every endpoint, Bearer JWTs from `auth.login`, the
`clearml_token_basic` cookie. Secrets are stored as salted scrypt hashes; a verified pair is cached in memory for
`CACHE_SECONDS` so a request does not pay for scrypt (a revoked key stops working within that time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import asyncpg
import jwt

from taskstream.commands.accounts import active_key, verify_secret
from taskstream.commands.session import Actor
from taskstream.schemas.enums import SERVER_VERSION, TOKEN_API_VERSION
from taskstream.schemas.errors import ApiError

CACHE_SECONDS = 30.0
DEFAULT_TOKEN_SECONDS = 30 * 24 * 3600
MAX_TOKEN_SECONDS = 31536000


class Authenticator:
    def __init__(self, pool: asyncpg.Pool, token_secret: str, clock: Callable[[], float] = time.time) -> None:
        self.pool = pool
        self.token_secret = token_secret
        self.clock = clock  # seconds since the epoch: the tokens' `iat` and `exp`
        self._cache: dict[str, tuple[bytes, Actor, float]] = {}

    async def authenticate(self, authorization: str | None, cookie_token: str | None) -> Actor:
        """The caller's identity, or a 401 error (codes 10, 20, 21, 22, 30)."""
        if not authorization:
            if cookie_token:
                return self.verify_token(cookie_token)
            raise ApiError(401, 20)
        scheme, _, payload = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return self.verify_token(payload.strip())
        if scheme.lower() != "basic":
            raise ApiError(401, 10)
        try:
            access_key, sep, secret = base64.b64decode(payload.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(401, 21, str(exc)) from exc
        if not sep:
            raise ApiError(401, 21)
        return await self.verify_key_pair(access_key, secret)

    async def verify_key_pair(self, access_key: str, secret: str) -> Actor:
        fingerprint = hashlib.sha256(secret.encode()).digest()
        cached = self._cache.get(access_key)
        if cached and cached[0] == fingerprint and cached[2] > time.monotonic():
            return cached[1]
        found = await active_key(self.pool, access_key)
        if found is None or not verify_secret(secret, found[0]):
            raise ApiError(401, 22, "failed to locate provided credentials")
        actor = found[1]
        self._cache[access_key] = (fingerprint, actor, time.monotonic() + CACHE_SECONDS)
        return actor

    def issue_token(self, actor: Actor, expiration_sec: int | None = None) -> str:
        lifetime = min(expiration_sec or DEFAULT_TOKEN_SECONDS, MAX_TOKEN_SECONDS)
        now = int(self.clock())
        claims: dict[str, Any] = {
            "identity": {k: v for k, v in asdict(actor).items()},
            "iat": now, "exp": now + lifetime, "auth_type": "Bearer", "env": "<unknown>",
            "api_version": TOKEN_API_VERSION, "server_version": SERVER_VERSION, "server_build": "",
            "feature_set": "basic",
        }
        return jwt.encode(claims, self.token_secret, algorithm="HS256")

    def verify_token(self, token: str) -> Actor:
        try:
            claims = jwt.decode(token, self.token_secret, algorithms=["HS256"])
            return Actor(**claims["identity"])
        except jwt.PyJWTError as exc:
            raise ApiError(401, 30, "invalid jwt token", reason=str(exc)) from exc
        except (KeyError, TypeError) as exc:
            raise ApiError(401, 30, "invalid jwt token", reason="missing identity") from exc
