"""Tokens are tied to the key pair that was granted them (issue 9, finding 1): a revoked key's tokens stop working
within the verification cache's lifetime, a token never renews itself beyond its own expiry, the server bounds
every token's lifetime, and `taskstream credentials rotate-secret` stops every token at once."""

from __future__ import annotations

import argparse
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from taskstream.api.app import create_app
from taskstream.api.auth import CACHE_SECONDS, Authenticator
from taskstream.api.auth_settings import AuthSettings
from taskstream.api.context import AppContext
from taskstream.api.credentials_cli import run_credentials
from taskstream.api.database import create_pool
from taskstream.commands.accounts import (
    add_credentials,
    bootstrap,
    create_user,
    generate_key_pair,
    revoke,
    token_secret,
)
from taskstream.schemas.ids import new_id
from tests.conftest import scratch_database


class Clock:
    """The authenticator's monotonic timer, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Server:
    """An app with its own authenticator (its own caches and clock) over a given pool."""

    http: httpx.AsyncClient
    auth: Authenticator
    clock: Clock
    pool: asyncpg.Pool

    async def new_key(self) -> tuple[str, str]:
        async with self.pool.acquire() as conn:
            user = await create_user(conn, "tests", new_id(), "grants")
            key, secret = generate_key_pair()
            await add_credentials(conn, user, key, secret)
        return key, secret

    async def login(self, key: str, secret: str, **params: Any) -> str:
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        response = await self.http.get("/auth.login", params=params, headers={"Authorization": f"Basic {basic}"})
        self.http.cookies.clear()
        assert response.json()["meta"]["result_code"] == 200, response.json()["meta"]
        return str(response.json()["data"]["token"])

    async def code(self, path: str, headers: dict[str, str], **params: Any) -> int:
        response = await self.http.get(path, params=params, headers=headers)
        self.http.cookies.clear()
        return int(response.json()["meta"]["result_code"])


async def serve(ctx: AppContext, pool: asyncpg.Pool, secret: str, settings: AuthSettings | None = None
                ) -> AsyncIterator[Server]:
    clock = Clock()
    auth = Authenticator(pool, secret, timer=clock, settings=settings or AuthSettings())
    app = create_app(None)
    app.state.ctx = AppContext(pool=pool, contract=ctx.contract, auth=auth)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        yield Server(client, auth, clock, pool)
    await auth.close()


@pytest.fixture
async def server(ctx: AppContext) -> AsyncIterator[Server]:
    async for one in serve(ctx, ctx.pool, ctx.auth.token_secret):
        yield one


@pytest.fixture
async def own_database(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool, str]]:
    """A separate bootstrapped database (url, pool, token secret): rotating its secret touches no other test."""
    async with scratch_database(database_url, "grants") as url:
        conn = await asyncpg.connect(url)
        boot = await bootstrap(conn, None, None)
        await conn.close()
        pool = await create_pool(url)
        yield url, pool, boot.token_secret
        await pool.close()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"clearml_token_basic={token}", "X-Requested-With": "fetch"}


async def test_the_token_names_its_access_key_and_keeps_the_clients_claims(server: Server) -> None:
    key, secret = await server.new_key()
    claims = claims_of(await server.login(key, secret))
    assert claims["access_key"] == key
    assert {"identity", "exp", "iat", "auth_type", "env", "api_version", "server_version", "server_build",
            "feature_set"} <= set(claims)
    assert claims["feature_set"] == "basic" and tuple(map(int, claims["api_version"].split("."))) >= (2, 23)


async def test_a_revoked_keys_tokens_stop_within_the_cache_lifetime(server: Server) -> None:
    key, secret = await server.new_key()
    token = await server.login(key, secret, expiration_sec=31536000)
    assert await server.code("/tasks.get_all", bearer(token)) == 200
    async with server.pool.acquire() as conn:
        assert await revoke(conn, key)
    server.clock.now += CACHE_SECONDS + 1
    assert await server.code("/tasks.get_all", bearer(token)) == 401
    assert await server.code("/tasks.get_all", cookie(token)) == 401
    assert await server.code("/auth.login", bearer(token)) == 401


async def test_a_key_in_steady_use_sees_its_revocation_through_the_background_refresh(server: Server) -> None:
    key, secret = await server.new_key()
    token = await server.login(key, secret)
    for _ in range(4):  # in use every 10 s: refreshed in the background before it expires, never waited for
        server.clock.now += CACHE_SECONDS / 3
        assert await server.code("/tasks.get_all", bearer(token)) == 200
    async with server.pool.acquire() as conn:
        await revoke(conn, key)
    server.clock.now += CACHE_SECONDS * 0.8  # the next call starts a refresh, the one after sees its answer
    await server.code("/tasks.get_all", bearer(token))
    await server.auth.settle()
    assert await server.code("/tasks.get_all", bearer(token)) == 401


async def test_login_by_token_never_outlives_the_original_grant(server: Server) -> None:
    key, secret = await server.new_key()
    first = await server.login(key, secret, expiration_sec=600)
    for asked in ({}, {"expiration_sec": 31536000}):
        response = await server.http.get("/auth.login", params=asked, headers=bearer(first))
        server.http.cookies.clear()
        minted = claims_of(response.json()["data"]["token"])
        assert minted["exp"] <= claims_of(first)["exp"]
        assert minted["access_key"] == key


async def test_token_lifetime_is_bounded_by_server_configuration(ctx: AppContext,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKSTREAM_MAX_TOKEN_SECONDS", "3600")
    async for bounded in serve(ctx, ctx.pool, ctx.auth.token_secret, AuthSettings.from_env()):
        key, secret = await bounded.new_key()
        for asked in ({}, {"expiration_sec": 10**9}):
            claims = claims_of(await bounded.login(key, secret, **asked))
            assert claims["exp"] - claims["iat"] == 3600
        short = claims_of(await bounded.login(key, secret, expiration_sec=60))
        assert short["exp"] - short["iat"] == 60


async def test_the_default_bound_is_thirty_days(server: Server) -> None:
    key, secret = await server.new_key()
    claims = claims_of(await server.login(key, secret, expiration_sec=31536000))
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600 == AuthSettings().max_token_seconds


async def test_a_token_without_an_access_key_is_refused(server: Server) -> None:
    key, secret = await server.new_key()
    claims = claims_of(await server.login(key, secret))
    del claims["access_key"]
    legacy = jwt.encode(claims, server.auth.token_secret, algorithm="HS256")
    assert await server.code("/tasks.get_all", bearer(legacy)) == 401


async def test_rotate_secret_stops_every_token(ctx: AppContext, own_database: tuple[str, asyncpg.Pool, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url, pool, secret = own_database
    async for running in serve(ctx, pool, secret):
        key, key_secret = await running.new_key()
        token = await running.login(key, key_secret)
        assert await running.code("/tasks.get_all", bearer(token)) == 200
        assert await run_credentials(url, argparse.Namespace(action="rotate-secret")) == 0
        assert "rotate" in capsys.readouterr().out.lower()
        running.clock.now += CACHE_SECONDS + 1  # a running server notices within its cache lifetime
        assert await running.code("/tasks.get_all", bearer(token)) == 401
        fresh = await running.login(key, key_secret)
        assert await running.code("/tasks.get_all", bearer(fresh)) == 200
    async for restarted in serve(ctx, pool, await token_secret(pool)):  # a server started afterwards: at once
        assert await restarted.code("/tasks.get_all", bearer(token)) == 401


async def last_used(pool: asyncpg.Pool, key: str) -> tuple[Any, Any]:
    row = await pool.fetchrow("SELECT last_used, last_used_from FROM credentials WHERE access_key = $1", key)
    return row["last_used"], row["last_used_from"]


async def test_last_used_is_written_at_most_once_a_minute_off_the_request(server: Server) -> None:
    key, secret = await server.new_key()
    assert await last_used(server.pool, key) == (None, None)
    token = await server.login(key, secret)
    for _ in range(5):
        assert await server.code("/tasks.get_all", {**bearer(token), "X-ClearML-Worker": "box-1"}) == 200
    await server.auth.settle()
    first, used_from = await last_used(server.pool, key)
    assert first is not None and used_from == "127.0.0.1"  # the login's address: written once for all six calls
    server.clock.now += 61
    assert await server.code("/tasks.get_all", {**bearer(token), "X-ClearML-Worker": "box-1"}) == 200
    await server.auth.settle()
    later, used_from = await last_used(server.pool, key)
    assert later > first and used_from == "box-1"  # the worker header when the client sends one (§2.2)


async def test_credentials_list_shows_last_used(own_database: tuple[str, asyncpg.Pool, str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url, pool, _ = own_database
    async with pool.acquire() as conn:
        await conn.execute("UPDATE credentials SET last_used = '2024-05-06 07:08:00+00', last_used_from = 'box-7'")
        key, secret = generate_key_pair()
        await add_credentials(conn, "__admin__", key, secret)
    assert await run_credentials(url, argparse.Namespace(action="list")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("last used 2024-05-06 07:08 from box-7" in line for line in lines)
    assert any(key in line and "never used" in line for line in lines)


async def test_a_key_pair_the_credentials_command_creates_is_shown_not_thrown_away(
        own_database: tuple[str, asyncpg.Pool, str], capsys: pytest.CaptureFixture[str]) -> None:
    url, pool, _ = own_database
    await pool.execute("UPDATE credentials SET revoked = now() WHERE revoked IS NULL")
    assert await run_credentials(url, argparse.Namespace(action="list")) == 0
    printed = capsys.readouterr().out
    created = await pool.fetchval("SELECT access_key FROM credentials WHERE revoked IS NULL")
    assert created is not None and f"access key: {created}" in printed and "secret key: " in printed
