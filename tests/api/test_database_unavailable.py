"""When PostgreSQL cannot be reached, every call answers a retryable 503 envelope at once (never a 500, never a
hang), and the same server answers normally once the database is back."""

from __future__ import annotations

import socket

import asyncpg
import httpx

from taskstream.api.app import create_app
from taskstream.api.context import AppContext
from taskstream.api.limits import Limits
from tests.conftest import Tenant


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens here once the socket is closed


async def test_an_unreachable_database_answers_503_and_the_server_recovers(ctx: AppContext, tenant: Tenant) -> None:
    unreachable = await asyncpg.create_pool(f"postgresql://nobody@127.0.0.1:{closed_port()}/none", min_size=0,
                                            max_size=2, timeout=5)
    app = create_app(None, Limits())
    app.state.ctx = AppContext(pool=unreachable, contract=ctx.contract, auth=ctx.auth.__class__(
        unreachable, ctx.auth.token_secret))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        for endpoint in ("tasks.get_all", "tasks.create"):
            response = await client.post(f"/{endpoint}", json={"name": "x", "type": "training"},
                                         headers=tenant.auth_header)
            meta = response.json()["meta"]
            assert (response.status_code, meta["result_code"]) == (503, 503), meta
            assert response.headers["retry-after"] == "1" and not meta["error_stack"]
        app.state.ctx = ctx  # the database is back
        response = await client.post("/tasks.get_all", json={"user": [tenant.user]}, headers=tenant.auth_header)
        assert response.status_code == 200
    await unreachable.close()


async def test_health_probes(http: httpx.AsyncClient, ctx: AppContext) -> None:
    assert (await http.get("/health/live")).json() == {"status": "live"}
    assert (await http.get("/health/ready")).json() == {"status": "ready"}


async def test_not_ready_without_the_database(ctx: AppContext) -> None:
    unreachable = await asyncpg.create_pool(f"postgresql://nobody@127.0.0.1:{closed_port()}/none", min_size=0,
                                            max_size=1, timeout=5)
    app = create_app(None, Limits())
    app.state.ctx = AppContext(pool=unreachable, contract=ctx.contract, auth=ctx.auth)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://taskstream") as client:
        assert (await client.get("/health/live")).status_code == 200
        response = await client.get("/health/ready")
        assert (response.status_code, response.json()["status"]) == (503, "database unavailable")
    await unreachable.close()


async def test_not_ready_with_migrations_pending(raw_log_pool: asyncpg.Pool, ctx: AppContext) -> None:
    async with raw_log_pool.acquire() as conn:
        await conn.execute("DELETE FROM schema_migrations WHERE name = '008_listing.sql'")
    app = create_app(None, Limits())
    app.state.ctx = AppContext(pool=raw_log_pool, contract=ctx.contract, auth=ctx.auth)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/health/ready")
        assert (response.status_code, response.json()["pending"]) == (503, ["008_listing.sql"])
    finally:
        async with raw_log_pool.acquire() as conn:
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ('008_listing.sql')")
