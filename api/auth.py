"""Authentication and identity (§2): Basic key pairs on every endpoint, Bearer JWTs from `auth.login`, the
`clearml_token_basic` cookie.

Every way in ends at a key pair: a token names the access key it was granted for (claim `access_key`), and each
call re-checks that key through a cache of at most `CACHE_SECONDS` (`auth_cache.RefreshingCache`), so revoking a
key stops its Basic calls and its tokens within that time, on every replica. The token signing secret is read
through the same cache, so `taskstream credentials rotate-secret` stops every token within that time too.

A key pair's secret is checked with scrypt once (`secret_check`: thread pool, one hash in flight per key, unknown
keys cost the same); after that, while the key's stored hash is unchanged, the same secret is recognised by its
SHA-256 and the key's row is only re-read (in the background while the key is in use). Wrong secrets are counted
per key and per client address (`auth_backoff`): past the limit they are refused at once, without hashing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import jwt

from taskstream.api.auth_backoff import FailureBackoff
from taskstream.api.auth_cache import RefreshingCache
from taskstream.api.auth_settings import AuthSettings
from taskstream.api.secret_check import SecretChecker
from taskstream.commands.accounts import active_key, token_secret, touch_credentials, verify_secret
from taskstream.commands.session import Actor
from taskstream.schemas.enums import SERVER_VERSION, TOKEN_API_VERSION
from taskstream.schemas.errors import ApiError

log = logging.getLogger("taskstream.api.auth")
CACHE_SECONDS = 30.0
TOUCH_SECONDS = 60.0  # `credentials.last_used` is written at most this often per key
DEFAULT_TOKEN_SECONDS = 30 * 24 * 3600
_TOKEN_SECRET = "token_secret"
KeyRecord = tuple[str, Actor]  # (stored secret hash, identity) of an active key pair


@dataclass(frozen=True)
class Grant:
    """Who calls, through which key pair, and until when (`expires`: the presenting token's `exp`; None for a key
    pair, which lasts until revoked)."""

    actor: Actor
    access_key: str
    expires: int | None = None


class Authenticator:
    def __init__(self, pool: asyncpg.Pool, token_secret: str, clock: Callable[[], float] = time.time, *,
                 timer: Callable[[], float] = time.monotonic, settings: AuthSettings | None = None,
                 verify: Callable[[str, str], bool] = verify_secret) -> None:
        self.pool = pool
        self.clock = clock  # seconds since the epoch: the tokens' `iat` and `exp`
        self.settings = settings = settings or AuthSettings.from_env()
        self._checker = SecretChecker(settings.hash_threads, verify)
        self._key_failures = FailureBackoff(settings.key_failures, settings.failure_window, timer)
        self._address_failures = FailureBackoff(settings.address_failures, settings.failure_window, timer)
        self._timer = timer
        self._touched: dict[str, float] = {}  # access key → when its last_used was last written
        self._touches: set[asyncio.Task[None]] = set()
        self._keys: RefreshingCache[KeyRecord | None] = RefreshingCache(self._load_key, CACHE_SECONDS, timer)
        self._secrets: RefreshingCache[str] = RefreshingCache(self._load_secret, CACHE_SECONDS, timer, 1)
        self._secrets.seed(_TOKEN_SECRET, token_secret)
        # access key → (SHA-256 of the secret that matched, the stored hash it matched): while the key's stored
        # hash is unchanged, that secret needs no second scrypt.
        self._verified: dict[str, tuple[bytes, str]] = {}

    @property
    def token_secret(self) -> str:
        """The signing secret as last read (tokens are signed and checked with it)."""
        return self._secrets.peek(_TOKEN_SECRET) or ""

    async def authenticate(self, authorization: str | None, cookie_token: str | None, *,
                           client: str | None = None, worker: str | None = None) -> Grant:
        """The caller's grant, or a 401 error (codes 10, 20, 21, 22, 30); `client` is the caller's address (the
        failures of key pairs are counted per address); the key's `last_used_from` is `worker` or `client`."""
        grant = await self._grant(authorization, cookie_token, client)
        self._note_use(grant.access_key, worker or client)
        return grant

    async def _grant(self, authorization: str | None, cookie_token: str | None, client: str | None) -> Grant:
        if not authorization:
            if cookie_token:
                return await self.verify_token(cookie_token)
            raise ApiError(401, 20)
        scheme, _, payload = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            return await self.verify_token(payload.strip())
        if scheme.lower() != "basic":
            raise ApiError(401, 10)
        try:
            access_key, sep, secret = base64.b64decode(payload.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(401, 21, str(exc)) from exc
        if not sep:
            raise ApiError(401, 21)
        return await self.verify_key_pair(access_key, secret, client)

    async def verify_key_pair(self, access_key: str, secret: str, client: str | None = None) -> Grant:
        """The key pair's grant; 401/22 for a wrong secret, an unknown key, or (without hashing) a key or an
        address past its failure limit. A secret verified before is accepted during a backoff: an attacker
        guessing a key does not lock out the clients already using it."""
        fingerprint = hashlib.sha256(secret.encode()).digest()

        def admit() -> None:
            if self._key_failures.blocked(access_key) or self._address_failures.blocked(client):
                raise _invalid_credentials()

        verified = self._verified.get(access_key)
        if verified is None or verified[0] != fingerprint:
            admit()  # refused before any database read too
        found = await self._keys.get(access_key)
        if found is not None and verified == (fingerprint, found[0]):
            return Grant(found[1], access_key)
        stored = found[0] if found is not None else None  # None: hashed against a dummy, like a known key
        matched = await self._checker.matches(access_key, fingerprint, secret, stored, admit)
        if found is None or not matched:
            self._key_failures.record(access_key)
            self._address_failures.record(client)
            raise _invalid_credentials()
        self._verified[access_key] = (fingerprint, found[0])
        return Grant(found[1], access_key)

    async def issue_token(self, grant: Grant, expiration_sec: int | None = None) -> str:
        """A token for `grant`'s key pair: `expiration_sec` (default 30 days) capped by the server's maximum
        (`TASKSTREAM_MAX_TOKEN_SECONDS`) and, for a caller presenting a token, by that token's own expiry."""
        now = int(self.clock())
        bound = self.settings.max_token_seconds
        expires = now + min(expiration_sec or DEFAULT_TOKEN_SECONDS, bound)
        if grant.expires is not None:
            expires = min(expires, grant.expires)
        claims: dict[str, Any] = {
            "identity": asdict(grant.actor), "access_key": grant.access_key,
            "iat": now, "exp": expires, "auth_type": "Bearer", "env": "<unknown>",
            "api_version": TOKEN_API_VERSION, "server_version": SERVER_VERSION, "server_build": "",
            "feature_set": "basic",
        }
        return jwt.encode(claims, await self._secrets.get(_TOKEN_SECRET), algorithm="HS256")

    async def verify_token(self, token: str) -> Grant:
        """The token's grant if it is signed with the current secret, unexpired, and its key pair is still
        active for the same user; 401/30 otherwise."""
        secret = await self._secrets.get(_TOKEN_SECRET)
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
            actor, access_key, expires = Actor(**claims["identity"]), claims["access_key"], int(claims["exp"])
        except jwt.PyJWTError as exc:
            raise ApiError(401, 30, "invalid jwt token", reason=str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(401, 30, "invalid jwt token", reason="missing identity or access key") from exc
        found = await self._keys.get(access_key) if isinstance(access_key, str) else None
        if found is None or (found[1].company, found[1].user) != (actor.company, actor.user):
            raise ApiError(401, 30, "invalid jwt token", reason="its key pair was revoked")
        # The stored identity, not the claims': a role changed since the token was issued applies at once.
        return Grant(found[1], access_key, expires)

    def _note_use(self, access_key: str, used_from: str | None) -> None:
        """Write the key's `last_used` in the background, at most once per TOUCH_SECONDS: never on the request's
        path, and one row update a minute per key in use, whatever the request rate."""
        now = self._timer()
        if now - self._touched.get(access_key, now - TOUCH_SECONDS) < TOUCH_SECONDS:
            return
        self._touched[access_key] = now
        task = asyncio.get_running_loop().create_task(self._touch(access_key, used_from))
        self._touches.add(task)
        task.add_done_callback(self._touches.discard)

    async def _touch(self, access_key: str, used_from: str | None) -> None:
        try:
            await touch_credentials(self.pool, access_key, used_from)
        except Exception as exc:  # bookkeeping: a failed write is retried by the next use a minute later
            log.warning("writing last_used of %s failed: %r", access_key, exc)

    async def settle(self) -> None:
        """Wait for the background refreshes and last_used writes in flight (tests; shutdown)."""
        await self._keys.settle()
        await self._secrets.settle()
        while self._touches:
            await asyncio.wait(list(self._touches))

    async def close(self) -> None:
        """Stop the background work: last_used writes get a few seconds to finish, refreshes are cancelled."""
        if self._touches:
            await asyncio.wait(list(self._touches), timeout=5)
        for task in list(self._touches):
            task.cancel()
        await self._keys.close()
        await self._secrets.close()
        self._checker.close()

    async def _load_key(self, access_key: str) -> KeyRecord | None:
        found = await active_key(self.pool, access_key)
        if found is None:
            self._verified.pop(access_key, None)
        return found

    async def _load_secret(self, _: str) -> str:
        return await token_secret(self.pool)


def _invalid_credentials() -> ApiError:
    return ApiError(401, 22, "failed to locate provided credentials")
